/** Execution pools: where handlers run (the event loop, worker threads or child processes that can be killed). */
import type { LogLevel } from "../../logging";
import type { RegisteredTask } from "../../task-types";
import type { WireValue } from "../../protocol/message";
import type { ResultTuple } from "../../protocol/result-meta";
import type { Request } from "../request";

/** How a handler run ended, as seen by the pool. */
export type HandlerOutcome =
  /** `children`: tasks the handler sent from a child process (the tracer's current task lists those sent here). */
  | { kind: "return"; value: unknown; children?: ResultTuple[] }
  | { kind: "throw"; error: unknown }
  /** The thread or child process running it died (WorkerLostError). */
  | { kind: "lost"; error: Error };

/** What a running handler may ask of the worker. */
export interface JobHooks {
  updateState(state: string, meta: WireValue): Promise<void>;
  /** A line of the task's logger (`ctx.logger`), in Celery's task format. */
  log(level: LogLevel, message: string): void;
  /** The run span's context as message headers (telemetry/spans.ts), when tracing: a child continues it. */
  readonly traceHeaders?: Record<string, string>;
}

/** One handler run. */
export interface Execution {
  /** Settles once with the handler's outcome (never rejects). */
  readonly done: Promise<HandlerOutcome>;
  /**
   * The outcome when the handler ended before `start` returned (a synchronous handler on the event
   * loop): the tracer goes on without waiting for `done`.
   */
  readonly outcome?: HandlerOutcome;
  /** Pid of the process running it (prefork: the child's); this process's when absent. */
  readonly pid?: number;
  /**
   * Soft time limit: abort ctx.signal with SoftTimeLimitExceeded. A plain (unbound) handler on the
   * event loop cannot see the signal, so its run ends at once with that error.
   */
  softLimit(): void;
  /**
   * Stop at once. Without `signal` (hard limit, cold shutdown) threads are terminated and child
   * processes SIGKILLed. With `signal` (revoke terminate) a child process gets that signal and is
   * SIGKILLed when it has not exited after a grace period (prefork.ts); threads can only be
   * terminated. The event loop stops waiting either way.
   */
  kill(signal?: NodeJS.Signals): void;
}

/** What `inspect stats` shows of a pool (Celery's `pool` block). */
export interface PoolInfo {
  /** Celery's `implementation` ("celeriac:prefork"). */
  implementation: string;
  /** Pids of the processes that run tasks (Celery's `processes`). */
  processes: number[];
  /** Celery's `max-tasks-per-child` (null: "N/A"). */
  maxTasksPerChild: number | null;
}

/** Runs handlers. */
export interface ExecutionPool {
  readonly kind: "eventloop" | "threads" | "prefork";
  /**
   * Start what runs handlers, when the worker starts (Celery's pool starts before its consumer):
   * prefork forks its `size` children here, never when it is constructed, so a worker that is only
   * constructed (or stopped before it started) leaves no process behind. Threads are started when
   * a job needs one, and the event loop has nothing to start. Resolves when the pool can take
   * jobs: prefork's children loaded the app module (or one could not: its restarts are logged),
   * at most 10 s, so the worker says "ready" only then. Later calls, and calls after close(),
   * do nothing.
   */
  open(): Promise<void>;
  /** Run the handler of `task` for `request` with positional `args` (already mapped from kwargs). */
  start(task: RegisteredTask, request: Request, args: unknown[], hooks: JobHooks): Execution;
  /** Stop every thread or child process (running jobs are abandoned). */
  close(): Promise<void>;
  /** What `inspect stats` shows of this pool. */
  info(): PoolInfo;
  /**
   * Let `size` jobs run at once (pool_grow / pool_shrink): false when this pool cannot change its
   * size (threads); prefork starts or stops children.
   */
  resize(size: number): boolean;
  /**
   * pool_restart: replace every thread or child (idle ones now, busy ones after their job), so
   * the app module is loaded anew; false when this pool has none to replace (the event loop).
   */
  restart(): boolean;
}
