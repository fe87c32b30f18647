/**
 * Celery's retry policy, shared by the worker's tracer and eager runs (`task.apply`): the
 * `Retry` request `ctx.retry()` throws, its text, max_retries, autoretry_for matching and the
 * exponential backoff. Pure: no I/O.
 */
import type { ErrorMatcher, RetryOptions, TaskOptions } from "./task-types";
import { errorToExceptionInfo, excRepr } from "./protocol/exceptions";
import { isoformatUtc } from "./protocol/isotime";

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

/**
 * The retry an error thrown by the handler of a run with `retries` retries so far turns into
 * under autoretryFor, or null (a Retry request itself is never retried again).
 */
export function autoretryOptions(err: unknown, retries: number, task: TaskOptions): RetryOptions | null {
  if (err instanceof RetryRequest || !errorMatches(err, task.autoretryFor) || errorMatches(err, task.dontAutoretryFor)) return null;
  const options: RetryOptions = { ...task.retryKwargs, exc: err };
  const backoff = task.retryBackoff;
  if (backoff) {
    const factor = backoff === true ? 1 : Math.max(1, Math.trunc(backoff));
    options.countdown = backoffCountdown(factor, retries, Math.trunc(task.retryBackoffMax ?? DEFAULT_RETRY_BACKOFF_MAX), task.retryJitter ?? true);
  }
  return options;
}
