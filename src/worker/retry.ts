/** Retry requests raised by `ctx.retry()` or autoretryFor, and how the retry message is built (docs/protocol.md §8). */
import type { RetryOptions, TaskOptions } from "../task-types";
import type { ApplyOptions } from "../client/options";
import { autoretryOptions, DEFAULT_RETRY_DELAY, maxRetriesOf } from "../retry-policy";
import type { Request } from "./request";

export { backoffCountdown, DEFAULT_MAX_RETRIES, DEFAULT_RETRY_BACKOFF_MAX, DEFAULT_RETRY_DELAY, errorMatches, maxRetriesOf, RetryRequest, retryText } from "../retry-policy";

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

/** The retry an error thrown by the handler turns into under autoretryFor, or null. */
export function autoretryFor(err: unknown, request: Request, task: TaskOptions): RetryOptions | null {
  return autoretryOptions(err, request.task.retries, task);
}
