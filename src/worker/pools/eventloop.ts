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

export class EventLoopPool implements ExecutionPool {
  readonly kind = "eventloop" as const;

  start(task: RegisteredTask, request: Request, args: unknown[], hooks: JobHooks): Execution {
    const abort = new AbortController();
    let finish!: (o: HandlerOutcome) => void;
    let finished = false;
    const done = new Promise<HandlerOutcome>((resolve) => {
      finish = (o) => {
        if (finished) return;
        finished = true;
        resolve(o);
      };
    });
    const bound = !!task.options.bind;
    void (async () => {
      try {
        const callArgs = bound ? [taskContext(request, abort.signal, hooks), ...args] : args;
        const value = await (task.handler as (...a: unknown[]) => unknown)(...callArgs);
        finish({ kind: "return", value });
      } catch (error) {
        // An AbortError after the soft limit is the soft limit surfacing through fetch/timers.
        if (abort.signal.aborted && isAbortError(error) && abort.signal.reason instanceof SoftTimeLimitExceeded) {
          finish({ kind: "throw", error: abort.signal.reason });
        } else finish({ kind: "throw", error });
      }
    })();
    return {
      done,
      softLimit: () => {
        const err = new SoftTimeLimitExceeded();
        abort.abort(err);
        if (!bound) finish({ kind: "throw", error: err });
      },
      kill: () => {
        if (!abort.signal.aborted) abort.abort(new Error("terminated"));
      },
    };
  }

  async open(): Promise<void> {
    // nothing to start
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
