/** AsyncResult: a handle on a task's state and result in the result backend. */
import { pyStr } from "../protocol/repr";
import type { ResultBackend } from "../backend/types";
import { exceptionInfoToError } from "../protocol/exceptions";
import type { ResultMeta, TaskState } from "../protocol/result-meta";
import { CELERY_STATES, EXCEPTION_STATES, PROPAGATE_STATES, READY_STATES } from "../protocol/result-meta";
import { isWireObject } from "../protocol/message";
import type { WireValue } from "../protocol/message";

/** Options of `AsyncResult.get`. */
export interface GetOptions {
  /** Milliseconds to wait; undefined or null waits forever. */
  timeout?: number | null;
  /** Throw the task's error for FAILURE/REVOKED (default true). */
  propagate?: boolean;
  /**
   * Called with each state message of the task while `get()` waits (Python's `on_message`): the
   * state stored when waiting starts, then every state as it is stored (PROGRESS and other
   * custom states, STARTED, RETRY, ...), the final one included; pushed by both backends (Redis
   * pub/sub, rpc:// replies), never polled. Not called when the result was already read. An
   * error it throws rejects `get()`.
   */
  onMessage?: (meta: ResultMeta) => void;
}

/** Raised by `get()` when the timeout passes first. */
export class ResultTimeoutError extends Error {
  constructor(taskId: string, timeoutMs: number) {
    super(`The operation timed out waiting for task ${taskId} (${timeoutMs} ms)`);
    this.name = "TimeoutError";
  }
}

/** True for a mapping with an `exc_type` key: a result `get()` turns into an error. */
function hasExcType(value: WireValue): boolean {
  return isWireObject(value) && "exc_type" in value;
}

/**
 * A pending or finished task's result, read from the result backend. `R` is what `get()` gives:
 * for a registered task's calls, the json form of what its handler returns (`Jsonified`: a `Date`
 * arrives as its ISO string).
 */
export class AsyncResult<R = unknown> {
  readonly id: string;
  private readonly backendRef: () => Promise<ResultBackend>;
  private cache: ResultMeta | null = null;

  constructor(id: string, backend: () => Promise<ResultBackend>) {
    this.id = id;
    this.backendRef = backend;
  }

  private backend(): Promise<ResultBackend> {
    return this.backendRef();
  }

  /** Wait for the task to finish and return its result; throws its error when it failed (propagate). */
  async get(options: GetOptions = {}): Promise<R> {
    const timeout = options.timeout ?? null;
    const meta =
      this.cache && READY_STATES.has(this.cache.status)
        ? this.cache
        : options.onMessage
          ? await this.followUntilReady(timeout, options.onMessage)
          : await this.waitMeta(timeout);
    this.cache = meta;
    if (PROPAGATE_STATES.has(meta.status) && options.propagate !== false) {
      throw this.errorFrom(meta);
    }
    return this.valueFrom(meta) as R;
  }

  private async waitMeta(timeout: number | null): Promise<ResultMeta> {
    try {
      return await (await this.backend()).waitForReady(this.id, timeout);
    } catch (err) {
      if (err instanceof Error && err.name === "TimeoutError") throw new ResultTimeoutError(this.id, timeout ?? 0);
      throw err;
    }
  }

  /** Wait for the ready state through `backend.follow`, giving every state to `onMessage`. */
  private async followUntilReady(timeout: number | null, onMessage: (meta: ResultMeta) => void): Promise<ResultMeta> {
    const backend = await this.backend();
    if (!backend.follow) {
      const meta = await this.waitMeta(timeout);
      onMessage(meta);
      return meta;
    }
    const follow = backend.follow.bind(backend);
    return new Promise<ResultMeta>((resolve, reject) => {
      let done = false;
      let stop: (() => void) | null = null;
      let timer: NodeJS.Timeout | null = null;
      const finish = (settle: () => void): void => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        stop?.();
        settle();
      };
      stop = follow(
        this.id,
        (meta) => {
          if (done) return;
          try {
            onMessage(meta);
          } catch (err) {
            finish(() => reject(err));
            return;
          }
          if (READY_STATES.has(meta.status)) finish(() => resolve(meta));
        },
        (err) => finish(() => reject(err)),
      );
      if (done) stop();
      else if (timeout !== null) timer = setTimeout(() => finish(() => reject(new ResultTimeoutError(this.id, timeout))), Math.max(0, timeout));
    });
  }

  /**
   * Call `callback(info, state, meta)` with each PROGRESS or other custom state the task stores
   * (`ctx.updateState("PROGRESS", { done: 3 })`, Python's `update_state`), as it is stored, and
   * with the one stored now; Celery's own states (STARTED, RETRY, SUCCESS, ...) are left out.
   * Pushed by both backends (Redis pub/sub, rpc:// replies; rpc:// only to the client that sent
   * the task). Stops when the task is ready or the returned function is called; `onError` gets
   * subscription errors and the callback's.
   *
   * ```ts
   * const stop = result.onProgress((info) => console.log(info)); // { current: 2, total: 5 }
   * ```
   */
  onProgress(callback: (info: WireValue, state: TaskState, meta: ResultMeta) => void, onError: (err: Error) => void = () => undefined): () => void {
    let stopped = false;
    let stop: (() => void) | null = null;
    const end = (): void => {
      stopped = true;
      stop?.();
    };
    this.backend().then(
      (backend) => {
        if (stopped) return;
        if (!backend.follow) return onError(new Error(`the ${backend.name} backend cannot push task states`));
        stop = backend.follow(
          this.id,
          (meta) => {
            if (stopped) return;
            if (READY_STATES.has(meta.status)) return end();
            if (CELERY_STATES.has(meta.status)) return;
            try {
              callback(meta.result, meta.status, meta);
            } catch (err) {
              onError(err as Error); // a throwing callback never reaches the backend's connection
            }
          },
          onError,
        );
        if (stopped) stop();
      },
      (err: Error) => onError(err),
    );
    return end;
  }

  private errorFrom(meta: ResultMeta): Error {
    const info: WireValue = hasExcType(meta.result)
      ? meta.result
      : { exc_type: "Exception", exc_message: [pyStr(meta.result)], exc_module: "builtins" };
    return exceptionInfoToError(info, meta.traceback);
  }

  private valueFrom(meta: ResultMeta): unknown {
    if (EXCEPTION_STATES.has(meta.status) && hasExcType(meta.result)) return this.errorFrom(meta);
    return meta.result;
  }

  /** The stored meta document, or null while PENDING. */
  async meta(): Promise<ResultMeta | null> {
    if (this.cache && READY_STATES.has(this.cache.status)) return this.cache;
    this.cache = await (await this.backend()).get(this.id);
    return this.cache;
  }

  /** Current state; PENDING when nothing is stored. */
  async state(): Promise<TaskState> {
    return (await this.meta())?.status ?? "PENDING";
  }

  /** True when the task finished (SUCCESS, FAILURE or REVOKED). */
  async ready(): Promise<boolean> {
    return READY_STATES.has(await this.state());
  }

  async successful(): Promise<boolean> {
    return (await this.state()) === "SUCCESS";
  }

  async failed(): Promise<boolean> {
    return (await this.state()) === "FAILURE";
  }

  /** The result (or the error for exception states, or progress meta for custom states) without waiting. */
  async result(): Promise<unknown> {
    const meta = await this.meta();
    return meta ? this.valueFrom(meta) : null;
  }

  /** Python traceback text of a failure, else null. */
  async traceback(): Promise<string | null> {
    return (await this.meta())?.traceback ?? null;
  }

  /** Delete the stored result. */
  async forget(): Promise<void> {
    this.cache = null;
    await (await this.backend()).forget(this.id);
  }

  toString(): string {
    return this.id;
  }
}
