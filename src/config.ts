/**
 * Settings with Celery's names in camelCase and Celery's defaults, in one table.
 * `task_serializer` → `taskSerializer`, `broker_transport_options` → `brokerTransportOptions`, ...
 * The other names a setting is known by are in settings-names.ts; resolving them, the
 * environment and config objects is settings.ts.
 */
import type { SerializerName } from "./protocol/serializers";
import type { RedisTransportOptions } from "./transport/redis/options";
import type { BeatSchedule } from "./beat/entry";
import type { AmqpTransportOptions } from "./transport/amqp/options";
import type { BrokerUseSsl, RedisSslSettings } from "./connectivity/tls-settings";
import type { TaskAnnotations } from "./task-annotations";
import type { DjangoDatabaseSettings } from "./backend/django-db/settings";
import type { SentinelTransportOptions } from "./connectivity/sentinel";
import type { FailoverStrategy } from "./connectivity/failover";

/** A route: where a task's messages go. */
export interface Route {
  queue?: string;
  exchange?: string;
  routingKey?: string;
  priority?: number;
}

/** `taskRoutes`: a map of task name or glob (`tasks.*`) to a route, or a list of [name|glob|RegExp, route] pairs / router functions. */
export type TaskRoutes =
  | { [nameOrGlob: string]: Route }
  | Array<[string | RegExp, Route] | ((taskName: string) => Route | null | undefined)>;

/**
 * `broker_transport_options` of the AMQP transport (kombu's names in camelCase):
 * `confirmPublish` (confirm_publish; celeriac default true), plus celeriac's `publishTimeout`,
 * retry intervals, `prefetchCount`, `globalQos`, `tls`, `onWarning` (see transport/amqp/options.ts).
 */
export type AmqpBrokerTransportOptions = Pick<
  AmqpTransportOptions,
  "confirmPublish" | "publishTimeout" | "retryIntervalStart" | "retryIntervalStep" | "retryIntervalMax" | "prefetchCount" | "globalQos" | "tls" | "onWarning"
>;

/** `broker_transport_options`: the Redis and AMQP transports' options (kombu's names in camelCase). */
export type BrokerTransportOptions = RedisTransportOptions & AmqpBrokerTransportOptions;

/** Every setting celeriac understands. Celery's name is in each comment. */
export interface CeleryConfig {
  /** broker_url: the broker's URL (redis://, rediss://, sentinel://, amqp://, amqps://, memory://); `CELERY_BROKER_URL` in the environment wins. */
  broker: string;
  /** result_backend: the result backend's URL (redis://, rpc://, django-db, cache+memory://; null: no results); `CELERY_RESULT_BACKEND` in the environment wins. */
  backend: string | null;
  /** task_serializer: the serializer of task messages sent: "json" (default), "msgpack", "yaml", or "auth" (signed; `app.setupSecurity()`). Pickle is refused. */
  taskSerializer: SerializerName;
  /** result_serializer: the serializer results are stored with (default "json"; "auth" signs them). */
  resultSerializer: SerializerName;
  /** accept_content: the serializers a worker accepts task messages in, by name or MIME type (default ["json"]). */
  acceptContent: string[];
  /** security_key: path of the PEM private key that signs (`auth` serializer; `app.setupSecurity()`). */
  securityKey: string | null;
  /** security_key_password: the password of an encrypted `securityKey`. */
  securityKeyPassword: string | Buffer | null;
  /** security_certificate: path of the PEM certificate of `securityKey` (its issuer and serial name the signer). */
  securityCertificate: string | null;
  /** security_cert_store: glob of the PEM certificates of trusted signers (`/etc/certs/*.pem`; a directory means every file in it). */
  securityCertStore: string | null;
  /** security_digest: the digest signatures use (default "sha256"). */
  securityDigest: string;
  /**
   * celeriac-only: the layout signed bodies are written in, "5.3" (default: Celery 5.3 and newer)
   * or "5.2" (Celery 5.2 and older, which cannot read the other). Both are always read.
   */
  securityLayout: "5.2" | "5.3";
  /** task_compression: compress task bodies ("zlib" or "gzip", "bzip2", "lzma", "brotli", "zstd"; null: none). */
  taskCompression: string | null;
  /** task_default_queue: the queue tasks go to without a route, and the one a worker consumes without `-Q` (default "celery"). */
  taskDefaultQueue: string;
  /** task_default_exchange: accepted for Celery's config files and not read: a route without an exchange publishes to the queue's name, as Celery's default does. */
  taskDefaultExchange: string | null;
  /** task_default_routing_key: accepted for Celery's config files and not read: a route without a routing key uses the queue's name, as Celery's default does. */
  taskDefaultRoutingKey: string | null;
  /** task_default_priority: the priority of tasks sent without one (null: none). */
  taskDefaultPriority: number | null;
  /** task_routes: which queue (exchange, routing key, priority) each task goes to, by name, glob or router function. */
  taskRoutes: TaskRoutes;
  /** result_expires: seconds stored results are kept (Redis backend key expiry, rpc:// reply queue expiry; default one day; null: never). */
  resultExpires: number | null;
  /** result_extended: stored results also carry the task's name, args, kwargs, worker, retries and queue. */
  resultExtended: boolean;
  /** task_inherit_parent_priority: a task sent from a running task gets its priority (unless given). */
  taskInheritParentPriority: boolean;
  /** result_chord_retry_interval: seconds between `celery.chord_unlock` polls (default 1). */
  resultChordRetryInterval: number;
  /** task_track_started: the worker stores STARTED when a task begins. */
  taskTrackStarted: boolean;
  /** task_acks_late: ack a task message after the task ran instead of before (a crash redelivers it). */
  taskAcksLate: boolean;
  /** task_ignore_result: do not store task results (a task's `ignoreResult` option wins). */
  taskIgnoreResult: boolean;
  /** task_store_errors_even_if_ignored: store failures of tasks whose results are ignored. */
  taskStoreErrorsEvenIfIgnored: boolean;
  /**
   * task_always_eager: `delay`/`applyAsync` and canvas `applyAsync` run the task in this process
   * at once (`task.apply`) and resolve with an `EagerResult`; nothing is sent (tests, debugging).
   * `app.sendTask` by name still sends, as in Celery.
   */
  taskAlwaysEager: boolean;
  /** task_eager_propagates: an eager run (`task.apply`, always-eager `delay`) throws the task's error instead of returning a FAILURE result. */
  taskEagerPropagates: boolean;
  /** task_store_eager_result: eager runs store their states and result in the result backend too. */
  taskStoreEagerResult: boolean;
  /** task_acks_on_failure_or_timeout: with acksLate, ack failed/timed-out messages (false: reject without requeue). */
  taskAcksOnFailureOrTimeout: boolean;
  /** task_reject_on_worker_lost: with acksLate, requeue when the pool thread running the task dies. */
  taskRejectOnWorkerLost: boolean;
  /**
   * task_annotations: per-task overrides of task options, by task name or "*" (a mapping, an
   * object with `annotate(task)` / `annotateAny()`, or a list of them), under Celery's attribute
   * names or camelCase: `{ "tasks.add": { rate_limit: "10/s" }, "*": { acks_late: true } }`.
   * Applied as Celery applies them (src/task-annotations.ts).
   */
  taskAnnotations: TaskAnnotations | null;
  /** task_default_rate_limit: "10/s", "100/m", "1000/h" or tasks per second (null: none). */
  taskDefaultRateLimit: string | number | null;
  /** worker_send_task_events: the worker sends task-* events (`-E`). */
  workerSendTaskEvents: boolean;
  /** worker_enable_remote_control: the worker answers pidbox (inspect/control) commands. */
  workerEnableRemoteControl: boolean;
  /** task_send_sent_event: the client sends task-sent events. */
  taskSendSentEvent: boolean;
  /** event_serializer: the serializer of task and worker events (default "json"). */
  eventSerializer: SerializerName;
  /** task_time_limit: seconds before a running task is stopped (TimeLimitExceeded; null: none). */
  taskTimeLimit: number | null;
  /** task_soft_time_limit: seconds before a running task gets SoftTimeLimitExceeded (null: none). */
  taskSoftTimeLimit: number | null;
  /** worker_prefetch_multiplier: messages reserved per concurrency slot (the prefetch window is concurrency × this; default 4). */
  workerPrefetchMultiplier: number;
  /** worker_concurrency: tasks run at once (default 16; the prefork pool starts one child per CPU unless this is set). */
  workerConcurrency: number;
  /**
   * worker_pool_restarts: the pool_restart control command replaces the pool's children, which
   * load the app module anew (threads and prefork pools; idle children at once, busy ones after
   * their task). Off by default, as in Celery.
   */
  workerPoolRestarts: boolean;
  /**
   * worker_redirect_stdouts: what a pool child prints (console.log / console.error,
   * process.stdout / process.stderr writes, in a prefork child or a pool thread) goes to the
   * worker's log at `workerRedirectStdoutsLevel`, one line per write, named after the child
   * (`[...: WARNING/ForkPoolWorker-1] hello`), with secrets masked. Default true, as in Celery.
   * The worker's own process is left alone (an event loop worker's tasks print to its console).
   */
  workerRedirectStdouts: boolean;
  /** worker_redirect_stdouts_level: the level of those lines, a level name in any case ("DEBUG" to "CRITICAL"; default "WARNING"). */
  workerRedirectStdoutsLevel: string;
  /**
   * celeriac-only: the largest task message body a worker accepts, in
   * bytes, both as received and after decompression (inflating stops there; Celery has no such limit). Default 16 MiB,
   * RabbitMQ 4's default max_message_size. A message over it is rejected, not requeued, and
   * FAILURE (celery.exceptions.InvalidTaskError) is stored for its id. null: no limit.
   */
  workerMaxMessageSize: number | null;
  /**
   * celeriac-only: the deepest nesting of lists/maps a worker decodes in a body. Default 1000,
   * Python's default recursion limit (deeper data makes Python's json/yaml raise anyway).
   * Rejected like an oversized message. null: no limit.
   */
  workerMaxNestingDepth: number | null;
  /** broker_transport_options: options of the Redis or AMQP transport (kombu's names in camelCase). */
  brokerTransportOptions: BrokerTransportOptions;
  /**
   * broker_use_ssl: TLS of the broker link (remote control, events and rpc:// results ride it).
   * true, or for Redis redis-py's keys (`ssl_cert_reqs`, `ssl_ca_certs`, `ssl_certfile`,
   * `ssl_keyfile`, `ssl_check_hostname`), for RabbitMQ py-amqp's (`cert_reqs`, `ca_certs`,
   * `certfile`, `keyfile`, `server_hostname`). See connectivity/tls-settings.ts. Default false.
   */
  brokerUseSsl: BrokerUseSsl;
  /** redis_backend_use_ssl: TLS of the Redis result backend, redis-py's keys as brokerUseSsl's (null: from the URL alone). */
  redisBackendUseSsl: RedisSslSettings | null;
  /**
   * broker_failover_strategy: with a `;`-separated broker_url (`amqp://h1;amqp://h2`), which URL is
   * tried after a failure: "round-robin" (default: the list in order) or "shuffle" (AMQP).
   */
  brokerFailoverStrategy: FailoverStrategy | null;
  /** broker_heartbeat: AMQP heartbeat in seconds (default 120; 0 disables). */
  brokerHeartbeat: number;
  /**
   * broker_connection_retry_on_startup: the worker retries its first broker connection (default
   * true); null: broker_connection_retry decides, as Celery.
   */
  brokerConnectionRetryOnStartup: boolean | null;
  /** broker_connection_retry: reconnect after a lost connection (and retry connecting, AMQP clients; default true). */
  brokerConnectionRetry: boolean;
  /** broker_connection_max_retries: retries before giving up (default 100; null: forever). */
  brokerConnectionMaxRetries: number | null;
  /** broker_connection_timeout: seconds an AMQP connection attempt (TCP, TLS, handshake) may take (default 4). */
  brokerConnectionTimeout: number;
  /** task_queue_max_priority: the `x-max-priority` of declared queues (AMQP; null: none). */
  taskQueueMaxPriority: number | null;
  /**
   * task_default_queue_type (Celery 5.5+): "quorum" declares task queues with
   * x-queue-type=quorum on AMQP, as Celery (priorities refused: quorum queues have none).
   */
  taskDefaultQueueType: "classic" | "quorum";
  /** worker_detect_quorum_queues (Celery 5.5+): global QoS off when a consumed queue is a quorum queue (default true). */
  workerDetectQuorumQueues: boolean;
  /**
   * result_backend_transport_options: `globalKeyprefix` for result keys (Celery 5.3+); for a
   * sentinel:// backend masterName, sentinelKwargs (connectivity/sentinel.ts).
   */
  resultBackendTransportOptions: { globalKeyprefix?: string } & SentinelTransportOptions;
  /**
   * task_protocol: 2 (default) or 1, the legacy message (everything in the body, no task
   * headers), for workers that read only v1. v1 carries no root_id, parent_id, argsrepr or
   * origin; celeriac's and Celery's workers read both.
   */
  taskProtocol: 1 | 2;
  /** celeriac-only: "5.3" sends Celery 5.3+ headers (stamps, stamped_headers, replaced_task_nesting); "5.2" (default) leaves them out. */
  taskProtocolExtras: "5.2" | "5.3";
  /** beat_schedule: the periodic task entries, by name (task, schedule, args, kwargs, options). */
  beatSchedule: BeatSchedule;
  /**
   * celeriac-only: the database of the `django-db` result backend (django-celery-results' tables), as
   * Django's settings give it: a URL (`{ url: "postgres://user:pw@host:5432/db" }`,
   * `mysql://user:pw@host:3306/db`, `sqlite:////path/db.sqlite3`) or the fields of
   * `DATABASES["default"]` (`ENGINE`, `NAME`, `USER`, `PASSWORD`, `HOST`, `PORT`,
   * `OPTIONS.timeout`). PostgreSQL, MySQL/MariaDB or SQLite.
   */
  djangoDatabase: DjangoDatabaseSettings | null;
  /** timezone: IANA zone crontabs are read in (null: UTC when enableUtc, else the system zone). */
  timezone: string | null;
  /** enable_utc: without `timezone`, crontabs are read in UTC (default true) rather than the system's zone. */
  enableUtc: boolean;
  /** beat_max_loop_interval: the longest beat sleeps between checks, in seconds (null: 300, or 5 with the Redis scheduler store). */
  beatMaxLoopInterval: number | null;
  /** beat_schedule_filename: beat's local state file (JSON; Celery's is a shelve file). */
  beatScheduleFilename: string;
  /** beat_cron_starting_deadline: seconds after which a missed crontab run is not caught up (null: no deadline). */
  beatCronStartingDeadline: number | null;
  /** celeriac-only: the Redis URL where beat keeps its state and run-time entries (several beats, one leader; null: a local file). */
  beatSchedulerRedisUrl: string | null;
  /** celeriac-only: the key prefix of the Redis beat store. */
  beatSchedulerKeyPrefix: string;
  /** celeriac-only: the leader lease of the Redis beat store, in seconds. */
  beatSchedulerLeaseTimeout: number;
}

/** Celery's defaults. */
export const DEFAULTS: CeleryConfig = {
  broker: "redis://127.0.0.1:6379/0",
  backend: null,
  taskSerializer: "json",
  resultSerializer: "json",
  acceptContent: ["json"],
  securityKey: null,
  securityKeyPassword: null,
  securityCertificate: null,
  securityCertStore: null,
  securityDigest: "sha256",
  securityLayout: "5.3",
  taskCompression: null,
  taskDefaultQueue: "celery",
  taskDefaultExchange: null,
  taskDefaultRoutingKey: null,
  taskDefaultPriority: null,
  taskRoutes: {},
  resultExpires: 86400,
  resultExtended: false,
  resultChordRetryInterval: 1,
  taskInheritParentPriority: false,
  taskTrackStarted: false,
  taskAcksLate: false,
  taskIgnoreResult: false,
  taskStoreErrorsEvenIfIgnored: false,
  taskAlwaysEager: false,
  taskEagerPropagates: false,
  taskStoreEagerResult: false,
  taskAcksOnFailureOrTimeout: true,
  taskRejectOnWorkerLost: false,
  taskAnnotations: null,
  taskDefaultRateLimit: null,
  workerSendTaskEvents: false,
  workerEnableRemoteControl: true,
  taskSendSentEvent: false,
  eventSerializer: "json",
  taskTimeLimit: null,
  taskSoftTimeLimit: null,
  workerPrefetchMultiplier: 4,
  workerConcurrency: 16,
  workerPoolRestarts: false,
  workerRedirectStdouts: true,
  workerRedirectStdoutsLevel: "WARNING",
  workerMaxMessageSize: 16 * 1024 * 1024,
  workerMaxNestingDepth: 1000,
  brokerTransportOptions: {},
  brokerUseSsl: false,
  redisBackendUseSsl: null,
  brokerFailoverStrategy: null,
  brokerHeartbeat: 120,
  brokerConnectionRetryOnStartup: true,
  brokerConnectionRetry: true,
  brokerConnectionMaxRetries: 100,
  brokerConnectionTimeout: 4,
  taskQueueMaxPriority: null,
  taskDefaultQueueType: "classic",
  workerDetectQuorumQueues: true,
  resultBackendTransportOptions: {},
  taskProtocol: 2,
  taskProtocolExtras: "5.2",
  beatSchedule: {},
  djangoDatabase: null,
  timezone: null,
  enableUtc: true,
  beatMaxLoopInterval: null,
  beatScheduleFilename: "celeriac-beat-schedule.json",
  beatCronStartingDeadline: null,
  beatSchedulerRedisUrl: null,
  beatSchedulerKeyPrefix: "celeriac:beat:",
  beatSchedulerLeaseTimeout: 5,
};
