/**
 * What a task is, without the client methods: its options, the request and context a handler
 * sees, and `RegisteredTask` (what the worker runs). A leaf module, so the app context, the
 * worker and the signals can name these types without importing the `Task` class.
 */
import type { WireValue } from "./protocol/message";
import type { TaskState } from "./protocol/result-meta";
import type { SignatureInput } from "./protocol/signature";
import type { ApplyOptions } from "./client/options";

/** The request a bound handler sees as `ctx.request` (Celery's `self.request`). */
export interface RequestInfo {
  id: string;
  task: string;
  name: string;
  args: WireValue[];
  kwargs: { [key: string]: WireValue };
  retries: number;
  rootId: string;
  parentId: string | null;
  groupId: string | null;
  groupIndex: number | null;
  eta: Date | null;
  expires: Date | null;
  hostname: string;
  correlationId: string;
  replyTo: string;
  origin: string | null;
  ignoreResult: boolean;
  timelimit: [number | null, number | null];
  deliveryInfo: { exchange: string; routingKey: string; priority: number | null; redelivered: boolean };
  headers: { [key: string]: WireValue | undefined };
  /** Celery `request.is_eager`: true when the task runs in the caller's process (`task.apply`, `taskAlwaysEager`). */
  isEager?: boolean;
}

/** Options of `ctx.retry`. */
export interface RetryOptions {
  /** Seconds before the retry runs (default: the task's defaultRetryDelay, 180). 0 = at once. */
  countdown?: number;
  eta?: Date;
  /** The error to report (stored with RETRY, and as the FAILURE when retries are exhausted). */
  exc?: unknown;
  /** Override the task's maxRetries (null: unlimited). */
  maxRetries?: number | null;
  args?: WireValue[];
  kwargs?: { [key: string]: WireValue };
  queue?: string;
  priority?: number;
}

/** What a bound handler gets as its first argument. */
export interface TaskContext {
  readonly request: RequestInfo;
  /** Ask for a retry; throws, so `return ctx.retry(...)` or `throw ctx.retry(...)` both work. */
  retry(options?: RetryOptions): never;
  /** Store a state with meta (e.g. `updateState("PROGRESS", { done: 3 })`), visible to Python `AsyncResult.state/.info`. */
  updateState(state: TaskState, meta?: WireValue): Promise<void>;
  /** Aborted when the soft time limit passes or the task is terminated. */
  readonly signal: AbortSignal;
  /**
   * Celery's task logger (`get_task_logger`): lines in the worker's log with Celery's task format,
   * `[...: WARNING/ForkPoolWorker-1] tasks.add[<id>]: message`, at the worker's level; JSON lines
   * carry task_id and task_name.
   */
  readonly logger: TaskLogger;
}

/** The level methods of `ctx.logger` (Python logging's names, and `warn` as pino's and winston's). */
export interface TaskLogger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  critical(message: string): void;
}

/** The context of a bound handler on the event-loop pool: TaskContext plus `replace`. */
export interface BoundTaskContext extends TaskContext {
  /**
   * Replace this task by `sig` (Celery `self.replace`): `sig` runs under the same task id, with
   * this task's callbacks, errbacks, chord, group and remaining chain; this task stores nothing.
   * Throws, so `return ctx.replace(...)` ends the handler.
   */
  replace(sig: SignatureInput): never;
}

/** An error class (matched with `instanceof`) or an exception type name (matched with exc_type or name). */
export type ErrorMatcher = string | (abstract new (...args: never[]) => unknown);

/** Per-task settings (Celery task attributes). */
export interface TaskOptions {
  /**
   * Parameter names: Python kwargs are mapped onto these positions. Given as a literal
   * (`params: ["x", "y"]`), they also type the kwargs of `applyAsync` and `signature`.
   */
  params?: readonly string[];
  /** Pass a TaskContext as the first argument. */
  bind?: boolean;
  acksLate?: boolean;
  ignoreResult?: boolean;
  trackStarted?: boolean;
  /** Celery `max_retries` (default 3; null = unlimited). */
  maxRetries?: number | null;
  /** Celery `default_retry_delay` in seconds (default 180). */
  defaultRetryDelay?: number;
  /**
   * Celery `autoretry_for`: errors that make the task retry by themselves. Each entry is an error
   * class (`instanceof`) or a name compared with the error's exc_type (`"KeyError"`, `"TypeError"`).
   */
  autoretryFor?: ErrorMatcher[];
  /** Celery `dont_autoretry_for` (5.3+): errors never retried automatically, even if they match autoretryFor. */
  dontAutoretryFor?: ErrorMatcher[];
  /** Celery `retry_kwargs`: options of the automatic retry (countdown, maxRetries, queue, ...). */
  retryKwargs?: Omit<RetryOptions, "exc">;
  /** Celery `retry_backoff`: exponential backoff of automatic retries; true = factor 1, a number = the factor (s). */
  retryBackoff?: boolean | number;
  /** Celery `retry_backoff_max` in seconds (default 600). */
  retryBackoffMax?: number;
  /** Celery `retry_jitter` (default true): the backoff countdown is a random integer in [0, countdown]. */
  retryJitter?: boolean;
  /** Celery `time_limit` (s): the run is stopped and stored as FAILURE TimeLimitExceeded. */
  timeLimit?: number | null;
  /** Celery `soft_time_limit` (s): SoftTimeLimitExceeded is raised in the task (ctx.signal aborts). */
  softTimeLimit?: number | null;
  /** Celery `rate_limit`: "10/s", "100/m", "1000/h", or a number of tasks per second (per worker). */
  rateLimit?: string | number | null;
  /** Celery `reject_on_worker_lost` (with acksLate): requeue when the thread running the task dies. */
  rejectOnWorkerLost?: boolean;
  /** Celery `acks_on_failure_or_timeout` (default true): with acksLate, false rejects failed messages without requeue. */
  acksOnFailureOrTimeout?: boolean;
  /** Celery `store_errors_even_if_ignored`. */
  storeErrorsEvenIfIgnored?: boolean;
  /** Celery `Task.resultrepr_maxsize` (default 1024): the result's repr in the "succeeded" log line is cut to about this many characters. */
  resultReprMaxsize?: number;
  /** Default apply options for this task (queue, priority, ...). */
  defaults?: ApplyOptions;
}

/** A handler as stored in the registry. */
export type AnyHandler = (...args: never[]) => unknown;

/** A task as the registry holds it and the worker runs it (the `Task` class implements it). */
export interface RegisteredTask {
  /** The task name messages carry (`celery.map`, `tasks.add`, ...). */
  readonly name: string;
  /** The handler; bound tasks get a TaskContext first. */
  readonly handler: AnyHandler;
  /** The task's settings; control commands change some at run time (rate_limit, time_limit). */
  readonly options: TaskOptions;
}
