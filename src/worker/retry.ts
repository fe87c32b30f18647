/** Retry requests raised by `ctx.retry()`, and how the retry message is built (spec §8). */
import type { RetryOptions, TaskOptions } from "../client/task";
import type { ApplyOptions } from "../client/options";
import type { Request } from "./request";

/** Thrown by `ctx.retry()`; the tracer turns it into a RETRY or a FAILURE. */
export class RetryRequest extends Error {
  constructor(readonly options: RetryOptions) {
    super("Retry in " + (options.countdown ?? "default") + "s");
    this.name = "Retry";
  }
}

/** Celery's default retry delay (s) and max retries. */
export const DEFAULT_RETRY_DELAY = 180;
export const DEFAULT_MAX_RETRIES = 3;

/** True when `retries + 1` is past the limit (null = unlimited). */
export function retriesExhausted(request: Request, retry: RetryOptions, task: TaskOptions): boolean {
  const max = retry.maxRetries !== undefined ? retry.maxRetries : task.maxRetries !== undefined ? task.maxRetries : DEFAULT_MAX_RETRIES;
  return max !== null && request.task.retries >= max;
}

/** Options for republishing the same task id with retries+1, as Celery's `Task.retry`. */
export function retryApplyOptions(request: Request, retry: RetryOptions, task: TaskOptions): ApplyOptions {
  const t = request.task;
  const countdown = retry.countdown ?? (retry.eta ? undefined : task.defaultRetryDelay ?? DEFAULT_RETRY_DELAY);
  return {
    taskId: t.id,
    retries: t.retries + 1,
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
