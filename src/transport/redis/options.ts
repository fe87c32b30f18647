/**
 * Options of the Redis transport: kombu's `broker_transport_options` for `redis://`
 * (docs/protocol.md §5.9), in camelCase, with kombu's defaults.
 */
import type { RedisOptions } from "ioredis";
import { redactText } from "../../redact";
import type { SentinelTransportOptions } from "../../connectivity/sentinel";

/** kombu's transport options of `redis://` and `sentinel://` (masterName, sentinelKwargs: connectivity/sentinel.ts). */
export interface RedisTransportOptions extends SentinelTransportOptions {
  /** Seconds a delivered message may stay unacked before it is restored (kombu: 3600). */
  visibilityTimeout?: number;
  /** Prepended (raw) to every key, binding set and pub/sub channel (kombu 5.2+; default ""). */
  globalKeyprefix?: string;
  /** Priority buckets (kombu: [0, 3, 6, 9]). */
  prioritySteps?: number[];
  /** Separator between queue name and bucket / inside binding members (kombu: "\x06\x16"). */
  sep?: string;
  /** true → "/{db}." (default); a string replaces it; false → no prefix. */
  fanoutPrefix?: boolean | string;
  /** Append "/<routing key>" to fanout channels (kombu default true). */
  fanoutPatterns?: boolean;
  /** Order in which queues are polled (kombu default round_robin). */
  queueOrderStrategy?: "round_robin" | "priority" | "sorted";
  /** Blocking wait (BLMOVE, or BRPOP on Redis < 6.2) timeout in seconds when every queue was empty (kombu: 1). */
  pollTimeout?: number;
  /**
   * Seconds between two runs of restore_visible while a consumer is running.
   * Default: min(100, visibilityTimeout / 2) (kombu 5.2 runs it about every 100 s).
   */
  unackedRestoreInterval?: number;
  /** Max entries restored per restore_visible run (kombu `unacked_restore_limit`; default: all). */
  unackedRestoreLimit?: number;
  /** kombu key names (defaults "unacked", "unacked_index", "unacked_mutex"). */
  unackedKey?: string;
  unackedIndexKey?: string;
  unackedMutexKey?: string;
  /** Seconds the restore mutex is held at most (kombu: 300). */
  unackedMutexExpire?: number;
  /** Most messages fetched by one round trip of the fetch script (default 100). */
  fetchBatchSize?: number;
  /**
   * List that receives messages the transport cannot read (bad JSON, no delivery_tag, ...),
   * unchanged, so nothing is lost (kombu would crash-loop on them). Default "celeriac.bad-envelopes".
   */
  badEnvelopeKey?: string;
  /**
   * Sorted set of the consumers' held lists (`<heldKey>.<consumer id>`: where a wake pops the
   * message that ends it, until it is recorded in `unacked`), scored with a deadline (when the
   * consumer last said it was alive plus its visibility timeout). Default "celeriac.held".
   */
  heldKey?: string;
  /** Errors that belong to no consumer (bad fanout message, restore problems). Default: console.warn. */
  onError?: (error: Error, raw: string | Buffer | null) => void;
  /** Extra ioredis options (TLS, password, timeouts, ...). */
  redisOptions?: RedisOptions;
}

/** Options with every default filled in. */
export interface ResolvedRedisTransportOptions {
  visibilityTimeout: number;
  globalKeyprefix: string;
  prioritySteps: number[];
  sep: string;
  fanoutPrefix: string;
  fanoutPatterns: boolean;
  queueOrderStrategy: "round_robin" | "priority" | "sorted";
  pollTimeout: number;
  unackedRestoreInterval: number;
  unackedRestoreLimit: number | null;
  unackedKey: string;
  unackedIndexKey: string;
  unackedMutexKey: string;
  unackedMutexExpire: number;
  fetchBatchSize: number;
  badEnvelopeKey: string;
  heldKey: string;
  onError: (error: Error, raw: string | Buffer | null) => void;
  redisOptions: RedisOptions;
}

export const DEFAULT_PRIORITY_STEPS: readonly number[] = [0, 3, 6, 9];
export const DEFAULT_SEP = "\x06\x16";
export const DEFAULT_BAD_ENVELOPE_KEY = "celeriac.bad-envelopes";

/** The database number of a redis URL (`redis://host:port/3` → 3; `?db=3` also read; the first of a sentinel:// list). */
export function dbFromUrl(url: string): number {
  try {
    const u = new URL(url.split(";")[0].trim());
    const q = u.searchParams.get("db");
    if (q !== null && /^\d+$/.test(q)) return Number(q);
    const m = /^\/(\d+)/.exec(u.pathname);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function defaultOnError(error: Error, raw: string | Buffer | null): void {
  const shown = raw === null ? "" : ` (raw: ${String(raw).slice(0, 200)})`;
  // eslint-disable-next-line no-console -- the documented default when the caller gives no onError
  console.warn(redactText(`celeriac redis transport: ${error.message}${shown}`));
}

export function resolveOptions(url: string, o: RedisTransportOptions = {}): ResolvedRedisTransportOptions {
  const visibilityTimeout = o.visibilityTimeout ?? 3600;
  if (!(visibilityTimeout > 0)) throw new Error(`visibilityTimeout must be > 0 seconds (got ${visibilityTimeout})`);
  const steps = [...(o.prioritySteps ?? DEFAULT_PRIORITY_STEPS)].sort((a, b) => a - b);
  if (steps.length === 0 || steps[0] !== 0) throw new Error(`prioritySteps must start with 0 (got ${JSON.stringify(o.prioritySteps)})`);
  let fanoutPrefix: string;
  if (o.fanoutPrefix === undefined || o.fanoutPrefix === true) fanoutPrefix = `/${dbFromUrl(url)}.`;
  else if (o.fanoutPrefix === false) fanoutPrefix = "";
  else fanoutPrefix = o.fanoutPrefix;
  return {
    visibilityTimeout,
    globalKeyprefix: o.globalKeyprefix ?? "",
    prioritySteps: steps,
    sep: o.sep ?? DEFAULT_SEP,
    fanoutPrefix,
    fanoutPatterns: o.fanoutPatterns ?? true,
    queueOrderStrategy: o.queueOrderStrategy ?? "round_robin",
    pollTimeout: o.pollTimeout ?? 1,
    unackedRestoreInterval: o.unackedRestoreInterval ?? Math.max(0.05, Math.min(100, visibilityTimeout / 2)),
    unackedRestoreLimit: o.unackedRestoreLimit ?? null,
    unackedKey: o.unackedKey ?? "unacked",
    unackedIndexKey: o.unackedIndexKey ?? "unacked_index",
    unackedMutexKey: o.unackedMutexKey ?? "unacked_mutex",
    unackedMutexExpire: o.unackedMutexExpire ?? 300,
    fetchBatchSize: Math.max(1, Math.floor(o.fetchBatchSize ?? 100)),
    badEnvelopeKey: o.badEnvelopeKey ?? DEFAULT_BAD_ENVELOPE_KEY,
    heldKey: o.heldKey ?? "celeriac.held",
    onError: o.onError ?? defaultOnError,
    redisOptions: o.redisOptions ?? {},
  };
}
