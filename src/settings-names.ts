/**
 * The one table of setting names: celeriac's camelCase key (`CeleryConfig`), Celery's name (its
 * snake_case, `broker_url` and `result_backend` for `broker` and `backend`), the camelCase of
 * Celery's name where it differs (`brokerUrl`, `resultBackend`) and Celery's names before 4.0
 * (`CELERYD_CONCURRENCY`, `BROKER_URL`; celery/app/defaults.py `old`), which Celery still reads
 * from config objects. A setting added to `CeleryConfig` gets its snake_case name by itself.
 */
import { DEFAULTS } from "./config";
import type { CeleryConfig } from "./config";

/** A setting's key in `CeleryConfig`. */
export type SettingKey = keyof CeleryConfig;

/** `fooBarBaz` → `foo_bar_baz`, as a type. */
export type SnakeCase<S extends string> = S extends `${infer H}${infer T}`
  ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${SnakeCase<T>}`
  : S;

/** Celery's name of a setting key, as a type. */
export type CelerySettingName<K extends SettingKey> = K extends "broker" ? "broker_url" : K extends "backend" ? "result_backend" : SnakeCase<K>;

/** Settings under Celery's names (`broker_url`, `task_serializer`, ...), as `new Celery()` and `configFromObject` accept them. */
export type CelerySnakeSettings = { [K in SettingKey as CelerySettingName<K>]?: CeleryConfig[K] };

/** Where Celery's name is not the snake_case of the key. */
const CELERY_NAMES: Partial<Record<SettingKey, string>> = { broker: "broker_url", backend: "result_backend" };

/** Celery's names before 4.0 of the settings celeriac has (from celery/app/defaults.py). */
const OLD_NAMES: Partial<Record<SettingKey, string>> = {
  broker: "BROKER_URL",
  backend: "CELERY_RESULT_BACKEND",
  acceptContent: "CELERY_ACCEPT_CONTENT",
  beatCronStartingDeadline: "CELERYBEAT_CRON_STARTING_DEADLINE",
  beatMaxLoopInterval: "CELERYBEAT_MAX_LOOP_INTERVAL",
  beatSchedule: "CELERYBEAT_SCHEDULE",
  beatScheduleFilename: "CELERYBEAT_SCHEDULE_FILENAME",
  brokerConnectionMaxRetries: "BROKER_CONNECTION_MAX_RETRIES",
  brokerConnectionRetry: "BROKER_CONNECTION_RETRY",
  brokerConnectionRetryOnStartup: "BROKER_CONNECTION_RETRY_ON_STARTUP",
  brokerConnectionTimeout: "BROKER_CONNECTION_TIMEOUT",
  brokerFailoverStrategy: "BROKER_FAILOVER_STRATEGY",
  brokerHeartbeat: "BROKER_HEARTBEAT",
  brokerTransportOptions: "BROKER_TRANSPORT_OPTIONS",
  brokerUseSsl: "BROKER_USE_SSL",
  enableUtc: "ENABLE_UTC",
  eventSerializer: "CELERY_EVENT_SERIALIZER",
  redisBackendUseSsl: "CELERY_REDIS_BACKEND_USE_SSL",
  resultBackendTransportOptions: "CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS",
  resultChordRetryInterval: "CELERY_RESULT_CHORD_RETRY_INTERVAL",
  resultExpires: "CELERY_TASK_RESULT_EXPIRES",
  resultExtended: "CELERY_RESULT_EXTENDED",
  resultSerializer: "CELERY_RESULT_SERIALIZER",
  securityCertificate: "CELERY_SECURITY_CERTIFICATE",
  securityCertStore: "CELERY_SECURITY_CERT_STORE",
  securityDigest: "CELERY_SECURITY_DIGEST",
  securityKey: "CELERY_SECURITY_KEY",
  securityKeyPassword: "CELERY_SECURITY_KEY_PASSWORD",
  taskAcksLate: "CELERY_ACKS_LATE",
  taskAcksOnFailureOrTimeout: "CELERY_ACKS_ON_FAILURE_OR_TIMEOUT",
  taskAlwaysEager: "CELERY_ALWAYS_EAGER",
  taskAnnotations: "CELERY_ANNOTATIONS",
  taskCompression: "CELERY_MESSAGE_COMPRESSION",
  taskDefaultExchange: "CELERY_DEFAULT_EXCHANGE",
  taskDefaultPriority: "CELERY_DEFAULT_PRIORITY",
  taskDefaultQueue: "CELERY_DEFAULT_QUEUE",
  taskDefaultQueueType: "CELERY_DEFAULT_QUEUE_TYPE",
  taskDefaultRateLimit: "CELERY_DEFAULT_RATE_LIMIT",
  taskDefaultRoutingKey: "CELERY_DEFAULT_ROUTING_KEY",
  taskEagerPropagates: "CELERY_EAGER_PROPAGATES_EXCEPTIONS",
  taskIgnoreResult: "CELERY_IGNORE_RESULT",
  taskInheritParentPriority: "CELERY_INHERIT_PARENT_PRIORITY",
  taskProtocol: "CELERY_TASK_PROTOCOL",
  taskQueueMaxPriority: "CELERY_QUEUE_MAX_PRIORITY",
  taskRejectOnWorkerLost: "CELERY_REJECT_ON_WORKER_LOST",
  taskRoutes: "CELERY_ROUTES",
  taskSendSentEvent: "CELERY_SEND_TASK_SENT_EVENT",
  taskSerializer: "CELERY_TASK_SERIALIZER",
  taskSoftTimeLimit: "CELERYD_TASK_SOFT_TIME_LIMIT",
  taskStoreEagerResult: "CELERY_STORE_EAGER_RESULT",
  taskStoreErrorsEvenIfIgnored: "CELERY_STORE_ERRORS_EVEN_IF_IGNORED",
  taskTimeLimit: "CELERYD_TASK_TIME_LIMIT",
  taskTrackStarted: "CELERY_TRACK_STARTED",
  timezone: "CELERY_TIMEZONE",
  workerConcurrency: "CELERYD_CONCURRENCY",
  workerDetectQuorumQueues: "CELERYD_DETECT_QUORUM_QUEUES",
  workerEnableRemoteControl: "CELERY_ENABLE_REMOTE_CONTROL",
  workerPoolRestarts: "CELERYD_POOL_RESTARTS",
  workerPrefetchMultiplier: "CELERYD_PREFETCH_MULTIPLIER",
  workerRedirectStdouts: "CELERY_REDIRECT_STDOUTS",
  workerRedirectStdoutsLevel: "CELERY_REDIRECT_STDOUTS_LEVEL",
  workerSendTaskEvents: "CELERY_SEND_EVENTS",
};

/**
 * The settings Celery does not have (celeriac's own): their snake_case names are accepted as any
 * other's, and Celery ignores them (a shared config file may carry them).
 */
export const CELERIAC_ONLY: ReadonlySet<SettingKey> = new Set<SettingKey>([
  "securityLayout",
  "workerMaxMessageSize",
  "workerMaxNestingDepth",
  "taskProtocolExtras",
  "djangoDatabase",
  "beatSchedulerRedisUrl",
  "beatSchedulerKeyPrefix",
  "beatSchedulerLeaseTimeout",
]);

/** Celery's name before 4.0 of a setting (`workerConcurrency` → `CELERYD_CONCURRENCY`), or undefined. */
export function oldSettingName(key: SettingKey): string | undefined {
  return OLD_NAMES[key];
}

/** `fooBarBaz` → `foo_bar_baz`. */
function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** `foo_bar_baz` → `fooBarBaz`. */
export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Celery's name of a setting: `broker` → `broker_url`, `taskSerializer` → `task_serializer`. */
export function celerySettingName(key: string): string {
  return CELERY_NAMES[key as SettingKey] ?? snakeCase(key);
}

/** Every setting key. */
export function settingKeys(): SettingKey[] {
  return Object.keys(DEFAULTS) as SettingKey[];
}

/** How well a name matches: the key itself, Celery's name and its camelCase, or Celery's old name. */
export type NameKind = "key" | "celery" | "old";

let table: Map<string, { key: SettingKey; kind: NameKind }> | null = null;

/** Every accepted name → its key (built on first use). */
function names(): Map<string, { key: SettingKey; kind: NameKind }> {
  if (table) return table;
  table = new Map();
  for (const key of settingKeys()) {
    const celery = celerySettingName(key);
    table.set(key, { key, kind: "key" });
    table.set(celery, { key, kind: "celery" });
    if (!table.has(camelCase(celery))) table.set(camelCase(celery), { key, kind: "celery" });
    const old = OLD_NAMES[key];
    if (old) table.set(old, { key, kind: "old" });
  }
  return table;
}

/** The key a setting name means (`broker_url`, `brokerUrl`, `BROKER_URL` → `broker`), or undefined. */
export function settingKeyOf(name: string): SettingKey | undefined {
  return names().get(name)?.key;
}

/** The key and kind of a name, or undefined. */
export function lookupSettingName(name: string): { key: SettingKey; kind: NameKind } | undefined {
  return names().get(name);
}

/** The names an unknown one is compared with: every key and Celery name. */
export function knownSettingNames(): string[] {
  return settingKeys().flatMap((key) => [key, celerySettingName(key)]);
}

/** Every name accepted for a key, the key first (for the conf object's alias properties). */
export function settingNamesOf(key: SettingKey): string[] {
  return [...names()].filter(([, v]) => v.key === key).map(([name]) => name);
}
