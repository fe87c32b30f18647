/** The default pool: handlers run on the worker's own event loop (async I/O tasks). */
import type { RegisteredTask, TaskContext } from "../../task-types";
import { isAbortError, SoftTimeLimitExceeded } from "../errors";
import { RetryRequest } from "../retry";
import type { Request } from "../request";
import type { Execution, ExecutionPool, HandlerOutcome, JobHooks, PoolInfo } from "./types";

/** Build the TaskContext a bound handler gets. */
export function taskContext(request: Request, signal: AbortSignal, hooks: JobHooks): TaskContext {
  return {
    request: request.info,
    signal,
    retry: (options = {}) => {
      throw new RetryRequest(options);
    },
    updateState: (state, meta = null) => hooks.updateState(state, meta),
  };
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === "object" || typeof v === "function") && v !== null && typeof (v as PromiseLike<unknown>).then === "function";
}

export class EventLoopPool implements ExecutionPool {
  readonly kind = "eventloop" as const;

  start(task: RegisteredTask, request: Request, args: unknown[], hooks: JobHooks): Execution {
    const bound = !!task.options.bind;
    // Only a bound handler sees a signal (ctx.signal): an unbound one needs no AbortController.
    const abort = bound ? new AbortController() : null;
    // An AbortError after the soft limit is the soft limit surfacing through fetch/timers.
    const thrown = (error: unknown): HandlerOutcome =>
      abort?.signal.aborted && isAbortError(error) && abort.signal.reason instanceof SoftTimeLimitExceeded
        ? { kind: "throw", error: abort.signal.reason }
        : { kind: "throw", error };
    let finish: ((o: HandlerOutcome) => void) | null = null;
    let done: Promise<HandlerOutcome>;
    try {
      const value = (task.handler as (...a: unknown[]) => unknown)(...(abort ? [taskContext(request, abort.signal, hooks), ...args] : args));
      if (isThenable(value)) {
        done = new Promise<HandlerOutcome>((resolve) => {
          finish = (o) => {
            finish = null;
            resolve(o);
          };
          try {
            value.then(
              (v) => finish?.({ kind: "return", value: v }),
              (error: unknown) => finish?.(thrown(error)),
            );
          } catch (error) {
            finish?.(thrown(error)); // a thenable whose then() throws
          }
        });
      } else {
        done = Promise.resolve({ kind: "return", value });
      }
    } catch (error) {
      done = Promise.resolve(thrown(error));
    }
    return {
      done,
      softLimit: () => {
        const err = new SoftTimeLimitExceeded();
        abort?.abort(err);
        if (!bound) finish?.({ kind: "throw", error: err });
      },
      kill: () => {
        if (abort && !abort.signal.aborted) abort.abort(new Error("terminated"));
      },
    };
  }

  async close(): Promise<void> {
    // nothing to stop
  }

  info(): PoolInfo {
    return { implementation: "celeriac:eventloop", processes: [process.pid], maxTasksPerChild: null };
  }

  /** Nothing to start or stop: the consumer's gate decides how many run. */
  resize(): boolean {
    return true;
  }

  /** Handlers run in this process: nothing to restart. */
  restart(): boolean {
    return false;
  }
}
