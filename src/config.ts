/**
 * Settings with Celery's names in camelCase and Celery's defaults, in one table.
 * `task_serializer` → `taskSerializer`, `broker_transport_options` → `brokerTransportOptions`, ...
 */
import type { SerializerName } from "./protocol/serializers";
import type { RedisTransportOptions } from "./transport/redis/options";

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

/** `broker_transport_options`: the Redis transport's options (kombu's names in camelCase). */
export type BrokerTransportOptions = RedisTransportOptions;

/** Every setting celeriac understands. Celery's name is in each comment. */
export interface CeleryConfig {
  /** broker_url (env CELERY_BROKER_URL). */
  broker: string;
  /** result_backend (env CELERY_RESULT_BACKEND); null disables results. */
  backend: string | null;
  /** task_serializer */
  taskSerializer: SerializerName;
  /** result_serializer */
  resultSerializer: SerializerName;
  /** accept_content: names or MIME types. */
  acceptContent: string[];
  /** task_compression */
  taskCompression: string | null;
  /** task_default_queue */
  taskDefaultQueue: string;
  /** task_default_exchange (defaults to the queue name) */
  taskDefaultExchange: string | null;
  /** task_default_routing_key (defaults to the queue name) */
  taskDefaultRoutingKey: string | null;
  /** task_default_priority */
  taskDefaultPriority: number | null;
  /** task_routes */
  taskRoutes: TaskRoutes;
  /** result_expires in seconds (null: never) */
  resultExpires: number | null;
  /** result_extended */
  resultExtended: boolean;
  /** task_track_started */
  taskTrackStarted: boolean;
  /** task_acks_late */
  taskAcksLate: boolean;
  /** task_ignore_result */
  taskIgnoreResult: boolean;
  /** task_store_errors_even_if_ignored */
  taskStoreErrorsEvenIfIgnored: boolean;
  /** task_time_limit (s) */
  taskTimeLimit: number | null;
  /** task_soft_time_limit (s) */
  taskSoftTimeLimit: number | null;
  /** worker_prefetch_multiplier */
  workerPrefetchMultiplier: number;
  /** worker_concurrency */
  workerConcurrency: number;
  /** broker_transport_options */
  brokerTransportOptions: BrokerTransportOptions;
  /** result_backend_transport_options (Celery 5.3+: globalKeyprefix for result keys) */
  resultBackendTransportOptions: { globalKeyprefix?: string };
  /** Emit Celery 5.3+ headers (stamps, stamped_headers, replaced_task_nesting). */
  taskProtocolExtras: "5.2" | "5.3";
}

/** Celery's defaults. */
export const DEFAULTS: CeleryConfig = {
  broker: "redis://127.0.0.1:6379/0",
  backend: null,
  taskSerializer: "json",
  resultSerializer: "json",
  acceptContent: ["json"],
  taskCompression: null,
  taskDefaultQueue: "celery",
  taskDefaultExchange: null,
  taskDefaultRoutingKey: null,
  taskDefaultPriority: null,
  taskRoutes: {},
  resultExpires: 86400,
  resultExtended: false,
  taskTrackStarted: false,
  taskAcksLate: false,
  taskIgnoreResult: false,
  taskStoreErrorsEvenIfIgnored: false,
  taskTimeLimit: null,
  taskSoftTimeLimit: null,
  workerPrefetchMultiplier: 4,
  workerConcurrency: 16,
  brokerTransportOptions: {},
  resultBackendTransportOptions: {},
  taskProtocolExtras: "5.2",
};

/** Resolve settings: defaults, then environment (CELERY_BROKER_URL, CELERY_RESULT_BACKEND), then the given ones. */
export function resolveConfig(given: Partial<CeleryConfig>, env: NodeJS.ProcessEnv = process.env): CeleryConfig {
  const fromEnv: Partial<CeleryConfig> = {};
  if (env.CELERY_BROKER_URL) fromEnv.broker = env.CELERY_BROKER_URL;
  if (env.CELERY_RESULT_BACKEND) fromEnv.backend = env.CELERY_RESULT_BACKEND;
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as Partial<CeleryConfig>;
  return { ...DEFAULTS, ...fromEnv, ...defined };
}
