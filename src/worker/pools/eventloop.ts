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
    logger: {
      debug: (m) => hooks.log("DEBUG", m),
      info: (m) => hooks.log("INFO", m),
      warning: (m) => hooks.log("WARNING", m),
      warn: (m) => hooks.log("WARNING", m),
      error: (m) => hooks.log("ERROR", m),
      critical: (m) => hooks.log("CRITICAL", m),
    },
  };
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === "object" || typeof v === "function") && v !== null && typeof (v as PromiseLike<unknown>).then === "function";
}

/** A handler's error; an AbortError after the soft limit is the soft limit surfacing through fetch/timers. */
function thrown(error: unknown, abort: AbortController | null): HandlerOutcome {
  const signal = abort?.signal;
  if (signal?.aborted && isAbortError(error) && signal.reason instanceof SoftTimeLimitExceeded) return { kind: "throw", error: signal.reason };
  return { kind: "throw", error };
}

/** A run that ended while `start` ran (a synchronous handler): nothing left to limit or stop. */
class Ended implements Execution {
  private settled: Promise<HandlerOutcome> | null = null;
  constructor(readonly outcome: HandlerOutcome) {}

  get done(): Promise<HandlerOutcome> {
    return (this.settled ??= Promise.resolve(this.outcome));
  }

  softLimit(): void {}

  kill(): void {}
}

function ended(outcome: HandlerOutcome): Execution {
  return new Ended(outcome);
}

export class EventLoopPool implements ExecutionPool {
  readonly kind = "eventloop" as const;

  start(task: RegisteredTask, request: Request, args: unknown[], hooks: JobHooks): Execution {
    const bound = !!task.options.bind;
    // Only a bound handler sees a signal (ctx.signal): an unbound one needs no AbortController.
    const abort = bound ? new AbortController() : null;
    let finish: ((o: HandlerOutcome) => void) | null = null;
    let value: unknown;
    try {
      value = (task.handler as (...a: unknown[]) => unknown)(...(abort ? [taskContext(request, abort.signal, hooks), ...args] : args));
    } catch (error) {
      return ended(thrown(error, abort));
    }
    if (!isThenable(value)) return ended({ kind: "return", value });
    const result = value;
    const done = new Promise<HandlerOutcome>((resolve) => {
      finish = (o) => {
        finish = null;
        resolve(o);
      };
      try {
        result.then(
          (v) => finish?.({ kind: "return", value: v }),
          (error: unknown) => finish?.(thrown(error, abort)),
        );
      } catch (error) {
        finish?.(thrown(error, abort)); // a thenable whose then() throws
      }
    });
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
