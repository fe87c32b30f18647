/** Execution pools: where handlers run (the event loop, or worker threads that can be killed). */
import type { RegisteredTask } from "../../task-types";
import type { WireValue } from "../../protocol/message";
import type { Request } from "../request";

/** How a handler run ended, as seen by the pool. */
export type HandlerOutcome =
  | { kind: "return"; value: unknown }
  | { kind: "throw"; error: unknown }
  /** The thread running it died (WorkerLostError). */
  | { kind: "lost"; error: Error };

/** What a running handler may ask of the worker. */
export interface JobHooks {
  updateState(state: string, meta: WireValue): Promise<void>;
}

/** One handler run. */
export interface Execution {
  /** Settles once with the handler's outcome (never rejects). */
  readonly done: Promise<HandlerOutcome>;
  /**
   * Soft time limit: abort ctx.signal with SoftTimeLimitExceeded. A plain (unbound) handler on the
   * event loop cannot see the signal, so its run ends at once with that error.
   */
  softLimit(): void;
  /** Stop at once (hard limit, terminate): threads are terminated; the event loop stops waiting. */
  kill(): void;
}

/** Runs handlers. */
export interface ExecutionPool {
  readonly kind: "eventloop" | "threads";
  /** Run the handler of `task` for `request` with positional `args` (already mapped from kwargs). */
  start(task: RegisteredTask, request: Request, args: unknown[], hooks: JobHooks): Execution;
  /** Stop every thread (running jobs are abandoned). */
  close(): Promise<void>;
}
