/**
 * Retrying a first connection as Celery's worker does (`Consumer.ensure_connected` over kombu's
 * `Connection.ensure_connection`): waits of 2, 4, 6, … seconds, at most 30
 * (interval_start=2, interval_step=2, interval_max=30), up to `maxRetries` retries
 * (broker_connection_max_retries, 100; null: forever). Refused credentials are not retried.
 */
import { ConnectionFailure, connectionFailure, isErrorLike } from "./errors";

/** How a first connection is retried. */
export interface RetryPolicy {
  /** Retry at all (broker_connection_retry_on_startup). */
  retry: boolean;
  /** Retries before giving up (broker_connection_max_retries); null: forever. */
  maxRetries: number | null;
  /** First wait in seconds (kombu interval_start, 2). */
  intervalStart?: number;
  /** Added to the wait after each retry (kombu interval_step, 2). */
  intervalStep?: number;
  /** Longest wait (kombu interval_max, 30). */
  intervalMax?: number;
}

/** One failed attempt about to be retried. */
export interface RetryStep {
  failure: ConnectionFailure;
  /** 1-based retry number. */
  retry: number;
  /** Seconds until the retry. */
  wait: number;
  /** Celery's CONNECTION_RETRY_STEP: `Trying again in 2.00 seconds... (1/100)`. */
  text: string;
}

/** Connection retries exhausted or refused: names the masked URL and the reason. */
export class ConnectionGiveUp extends ConnectionFailure {
  constructor(failure: ConnectionFailure, detail: string) {
    super(failure.url, failure.reason, true, failure, detail);
    this.name = "ConnectionGiveUp";
  }
}

/** Celery's `humanize_seconds(n, 'in', ' ')`: `in 2.00 seconds`, `in 1.00 second`, `now`. */
export function humanizeSeconds(seconds: number, prefix = "in"): string {
  if (seconds <= 0) return "now";
  const [unit, size] = seconds >= 60 ? ["minute", 60] : ["second", 1];
  const n = seconds / size;
  return `${prefix} ${n.toFixed(2)} ${n === 1 ? unit : `${unit}s`}`;
}

/** kombu's retry_over_time waits: start, start+step, … capped at max, then max forever. */
export function* retryIntervals(start = 2, step = 2, max = 30): Generator<number, never> {
  for (let v = start; ; v = step > 0 ? Math.min(v + step, max) : v) yield Math.min(v, max);
}

/**
 * Run `attempt` until it succeeds, retrying ConnectionFailures per `policy`; `onRetry` is told
 * each retry before its wait. Gives up with ConnectionGiveUp when the failure is fatal, retrying
 * is off, the retries are exhausted, or `stopped()` turns true while waiting. Other errors
 * (a bad URL, a bug) are thrown as they are.
 */
export async function ensureConnected<T>(
  url: string,
  attempt: () => Promise<T>,
  policy: RetryPolicy,
  onRetry: (step: RetryStep) => void,
  stopped: () => boolean = () => false,
): Promise<T> {
  const waits = retryIntervals(policy.intervalStart, policy.intervalStep, policy.intervalMax);
  for (let retries = 0; ; retries++) {
    let failure: ConnectionFailure;
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof ConnectionFailure) && !isSocketError(err)) throw err;
      failure = connectionFailure(url, err);
    }
    if (failure.fatal) throw new ConnectionGiveUp(failure, "");
    if (!policy.retry) throw new ConnectionGiveUp(failure, " (retrying on startup is disabled: broker_connection_retry_on_startup=False)");
    if (policy.maxRetries !== null && retries >= policy.maxRetries) {
      throw new ConnectionGiveUp(failure, ` (gave up after ${retries} ${retries === 1 ? "retry" : "retries"}: broker_connection_max_retries=${policy.maxRetries})`);
    }
    const wait = waits.next().value;
    const max = policy.maxRetries === null ? "Inf" : String(policy.maxRetries);
    onRetry({ failure, retry: retries + 1, wait, text: `Trying again ${humanizeSeconds(wait)}... (${retries + 1}/${max})` });
    // Slept in steps of at most 1 s, as kombu does, so a stop request ends the wait early.
    const until = Date.now() + wait * 1000;
    while (Date.now() < until) {
      if (stopped()) throw new ConnectionGiveUp(failure, " (stopped while retrying)");
      await new Promise((r) => setTimeout(r, Math.min(1000, until - Date.now())));
    }
    if (stopped()) throw new ConnectionGiveUp(failure, " (stopped while retrying)");
  }
}

/** A Node socket error (ECONNREFUSED, ENOTFOUND, ...) a client let through unwrapped. */
function isSocketError(err: unknown): boolean {
  const code = isErrorLike(err) ? err.code : undefined;
  return typeof code === "string" && /^E[A-Z_]+$/.test(code);
}
