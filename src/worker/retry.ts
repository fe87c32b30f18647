/** Retry requests raised by `ctx.retry()` or autoretryFor, and how the retry message is built (docs/protocol.md §8). */
import type { ErrorMatcher, RetryOptions, TaskOptions } from "../task-types";
import type { ApplyOptions } from "../client/options";
import { errorToExceptionInfo, excRepr } from "../protocol/exceptions";
import { isoformatUtc } from "../protocol/isotime";
import type { Request } from "./request";

/** Celery's default retry delay (s), max retries and backoff cap (s). */
export const DEFAULT_RETRY_DELAY = 180;
export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_RETRY_BACKOFF_MAX = 600;

/** Thrown by `ctx.retry()`; the tracer turns it into a RETRY or a FAILURE. */
export class RetryRequest extends Error {
  constructor(readonly options: RetryOptions) {
    super(retryText(options.exc, options.eta ?? options.countdown ?? null));
    this.name = "Retry";
  }
}

/** Python `str(Retry)`: "Retry in 600s: ValueError('x')", "Retry at <eta>", "Retry in 180s". */
export function retryText(exc: unknown, when: Date | number | null): string {
  const at = when === null ? "in Nones" : when instanceof Date ? `at ${isoformatUtc(when).replace("T", " ")}` : `in ${when}s`;
  return exc !== undefined && exc !== null ? `Retry ${at}: ${excRepr(errorToExceptionInfo(exc))}` : `Retry ${at}`;
}

/** The effective max retries of one retry call (null = unlimited). */
export function maxRetriesOf(retry: RetryOptions, task: TaskOptions): number | null {
  return retry.maxRetries !== undefined ? retry.maxRetries : task.maxRetries !== undefined ? task.maxRetries : DEFAULT_MAX_RETRIES;
}

/** True when `retries + 1` is past the limit (Celery: `retries > max_retries`). */
export function retriesExhausted(request: Request, retry: RetryOptions, task: TaskOptions): boolean {
  const max = maxRetriesOf(retry, task);
  return max !== null && request.task.retries + 1 > max;
}

/** The countdown Celery uses: the given one, else none with an eta, else default_retry_delay. */
export function retryCountdown(retry: RetryOptions, task: TaskOptions): number | undefined {
  if (retry.countdown !== undefined && retry.countdown !== null) return retry.countdown;
  return retry.eta ? undefined : task.defaultRetryDelay ?? DEFAULT_RETRY_DELAY;
}

/** Options for republishing the same task id with retries+1, as Celery's `Task.retry`. */
export function retryApplyOptions(request: Request, retry: RetryOptions, task: TaskOptions): ApplyOptions {
  const t = request.task;
  const countdown = retryCountdown(retry, task);
  return {
    taskId: t.id,
    retries: t.retries + 1,
    // countdown 0 means no eta at all (Celery's apply_async ignores a falsy countdown).
    eta: retry.eta ?? (countdown ? new Date(Date.now() + countdown * 1000) : undefined),
    expires: t.expires ?? undefined,
    rootId: t.rootId,
    parentId: t.parentId ?? t.id,
    groupId: t.group ?? undefined,
    groupIndex: t.groupIndex ?? undefined,
    timeLimit: t.timelimit[0] ?? undefined,
    softTimeLimit: t.timelimit[1] ?? undefined,
    shadow: t.name !== t.task ? t.name : undefined,
    replyTo: t.replyTo,
    link: t.embed.callbacks ?? undefined,
    linkError: t.embed.errbacks ?? undefined,
    chain: t.embed.chain,
    chord: t.embed.chord,
    priority: retry.priority ?? t.priority ?? undefined,
    queue: retry.queue ?? request.delivery.routingKey,
    ignoreResult: t.ignoreResult || undefined,
  };
}

/** True when `err` matches one of `matchers` (a class by instanceof, a string by exc_type / name). */
export function errorMatches(err: unknown, matchers: readonly ErrorMatcher[] | undefined): boolean {
  if (!matchers?.length) return false;
  const type = errorToExceptionInfo(err).exc_type;
  const name = err instanceof Error ? err.name : null;
  for (const m of matchers) {
    if (typeof m === "string") {
      // "Exception" / "Error" catch every thrown Error, as Python's `autoretry_for=(Exception,)`.
      if (m === type || m === name || ((m === "Exception" || m === "Error") && err instanceof Error)) return true;
    } else {
      try {
        if (err instanceof m) return true;
      } catch {
        // not a class
      }
      // Errors rebuilt from a pool thread carry their class names.
      const classes = (err as { __classes?: unknown } | null)?.__classes;
      if (Array.isArray(classes) && m.name && classes.includes(m.name)) return true;
    }
  }
  return false;
}

/**
 * Celery's `get_exponential_backoff_interval`: min(maximum, factor × 2^retries), and with full
 * jitter a random integer in [0, countdown].
 */
export function backoffCountdown(factor: number, retries: number, maximum: number, jitter: boolean, random: () => number = Math.random): number {
  const countdown = Math.min(maximum, factor * 2 ** retries);
  return jitter ? Math.floor(random() * (Math.floor(countdown) + 1)) : countdown;
}

/** The retry an error thrown by the handler turns into under autoretryFor, or null. */
export function autoretryFor(err: unknown, request: Request, task: TaskOptions): RetryOptions | null {
  if (err instanceof RetryRequest || !errorMatches(err, task.autoretryFor) || errorMatches(err, task.dontAutoretryFor)) return null;
  const options: RetryOptions = { ...task.retryKwargs, exc: err };
  const backoff = task.retryBackoff;
  if (backoff) {
    const factor = backoff === true ? 1 : Math.max(1, Math.trunc(backoff));
    options.countdown = backoffCountdown(factor, request.task.retries, Math.trunc(task.retryBackoffMax ?? DEFAULT_RETRY_BACKOFF_MAX), task.retryJitter ?? true);
  }
  return options;
}
