/**
 * The worker's public shapes: its options, and what remote control sees of a worker
 * (`ControlledWorker`), so that `control/` depends on this file and not on `worker.ts`.
 */
import type { Logger, LogLevel } from "../logging";
import type { WireValue } from "../protocol/message";
import type { WorkerSignals } from "../signals";
import type { Autoscaler, AutoscaleOptions } from "./autoscaler";
import type { Consumer, WorkerStats } from "./consumer";
import type { ExecutionPool } from "./pools/types";
import type { Request } from "./request";
import type { RevokedStamps } from "./revoked-stamps";
import type { LimitedSet } from "./state";

/**
 * The name part of a worker's default node name (`celeriac@<host>`). Celery's default, `celery`, is
 * the Python worker's: a Node worker beside it on the same host must not answer under its name.
 */
export const DEFAULT_NODE_NAME = "celeriac";

/** The worker options remote control and events read (part of `WorkerOptions`). */
export interface WorkerControlOptions {
  /** Listen on the pidbox and answer inspect/control commands (default: the app's workerEnableRemoteControl, true; the CLI's --without-remote-control). */
  remoteControl?: boolean;
  /** Send task events, task-received to task-succeeded (default: the app's workerSendTaskEvents; the CLI's -E). */
  sendTaskEvents?: boolean;
  /** Send worker-online/heartbeat/offline events (default true, as Celery without --without-heartbeat). */
  heartbeat?: boolean;
  /** Seconds between worker-heartbeat events (default 2; the CLI's --heartbeat-interval). */
  heartbeatInterval?: number;
  /**
   * What a remote `shutdown` control command does, after logging its message (the CLI exits the
   * process); default: `worker.stop()` (warm).
   */
  onRemoteShutdown?: (msg: string) => void;
}

/** Options of `app.worker(...)` / `celeriac worker`. */
export interface WorkerOptions extends WorkerControlOptions {
  /** Queues to consume (default: the app's taskDefaultQueue). */
  queues?: string[];
  /** Handlers running at once (default: workerConcurrency; prefork: the number of CPUs unless workerConcurrency was set). */
  concurrency?: number;
  /**
   * Node name `name@host` (default `celeriac@<hostname>`: not Celery's `celery@<hostname>`, which a
   * Python worker on the same host has, so the two never share a name).
   */
  hostname?: string;
  /** Unacked messages held = prefetchMultiplier × concurrency (default: workerPrefetchMultiplier). */
  prefetchMultiplier?: number;
  /** Log level (default INFO). */
  logLevel?: LogLevel;
  /** A logger to use instead of stderr. */
  logger?: Logger;
  /**
   * Where handlers run:
   * - "eventloop" (the default of `app.worker()`): on this process's event loop; best for async
   *   I/O tasks, but a hard time limit cannot stop synchronous code and a task that crashes the
   *   process takes the worker.
   * - "threads": node:worker_threads, so hard time limits and terminate can stop CPU-bound code.
   * - "prefork" (Celery's default pool, and the default of the `celeriac worker` CLI, which passes
   *   its `-A` module): `concurrency` child processes (default: one per CPU); this process
   *   consumes, acks and stores results and hands each task to an idle child. A hard time limit or
   *   terminate SIGKILLs the child, a child that dies costs only its task (WorkerLostError), and a
   *   new child takes its place.
   * "threads" and "prefork" need `appModule`: each thread or child loads the app itself. That is
   * why `app.worker()` keeps "eventloop" as its default: a worker built in-process has no module
   * path for children to load unless it is given one.
   */
  pool?: "eventloop" | "threads" | "prefork";
  /** Module path exporting the app (the CLI's `-A`), loaded by every pool thread or child process. */
  appModule?: string;
  /** Threads and prefork pools: replace a thread or child after this many tasks (Celery worker_max_tasks_per_child). */
  maxTasksPerChild?: number | null;
  /**
   * Threads and prefork pools: replace a thread whose V8 heap, or a child whose resident memory,
   * passed this many KiB after a task (Celery worker_max_memory_per_child).
   */
  maxMemoryPerChild?: number | null;
  /**
   * Celery's autoscaler (the CLI's `--autoscale MAX,MIN`): the pool starts with `min` processes
   * (at least one; `concurrency` is then ignored, as in Celery), grows up to `max` when more tasks
   * wait or run than it has processes, and shrinks back towards `min` after `keepalive` seconds
   * without a new task (default: the AUTOSCALE_KEEPALIVE environment variable, else 30). The
   * prefetch window is `max` × prefetchMultiplier. Prefork starts and stops children; on the event
   * loop it changes how many tasks run at once; the threads pool cannot resize and refuses it.
   * The `autoscale` control command changes the range; pool_grow / pool_shrink are refused, as in
   * Celery.
   */
  autoscale?: AutoscaleOptions;
  /** A JSON file keeping revoked ids across restarts (Celery `--statedb`): loaded at start, saved at stop. */
  statedb?: string;
  /**
   * Serve `/metrics` (Prometheus, celery-exporter's names), `/healthz` and `/readyz` on this port
   * (0: any free port, see `worker.metricsServer.port`); needs the optional peer dependency
   * prom-client. Started with the worker, stopped after it (`celeriac worker --metrics-port`).
   */
  metricsPort?: number;
  /** The address of the metrics port (default: every interface). */
  metricsHost?: string;
  /** `/healthz` answers 503 once the event loop has been blocked this many seconds (default 10). */
  healthMaxBlockedSeconds?: number;
  /**
   * Catch errors that escape tasks at process level (default true): a task's stray rejection or
   * throwing callback is logged against the task and the worker carries on; an uncaught
   * exception outside any task shuts the worker down warm and exits 1 (see crash-guard.ts).
   */
  containStrayErrors?: boolean;
}

/** Options of `worker.revoke`. */
export interface RevokeOptions {
  /** Also stop the task if it is running now (stored as REVOKED "terminated"). */
  terminate?: boolean;
  /**
   * The signal of terminate (default SIGTERM): a name with or without "SIG" ("KILL", "SIGKILL") or
   * a number (9). Prefork sends it to the task's child; "SIGUSR1" gives the task its soft time
   * limit (billiard's signal for it) in every pool. See `Worker.revoke`.
   */
  signal?: string | number;
}

/** Options of `worker.stop`. */
export interface StopOptions {
  /**
   * Cold shutdown: do not wait for running tasks. Their messages go back to the queue when
   * acksLate (Redis: in front), nothing is stored for them; threads and child processes are stopped.
   */
  cold?: boolean;
}

/** What remote control commands and the event publisher use of a worker. */
export interface ControlledWorker {
  /** Node name `name@host`. */
  readonly hostname: string;
  /** Tasks run to completion. */
  readonly stats: WorkerStats;
  /** Ids revoked on this worker. @internal */
  readonly revoked: LimitedSet;
  /** Stamp values revoked on this worker. @internal */
  readonly revokedStamps: RevokedStamps;
  /** This worker's signals. */
  readonly signals: WorkerSignals;
  /** The flow of messages, with the public API the control commands change it through. */
  readonly consumer: Consumer;
  /** Where handlers run. @internal */
  readonly executor: ExecutionPool;
  /** Handlers running at once as configured; with autoscale, the pool's size at start (Celery's pool `limit`). */
  readonly concurrency: number;
  /** Celery's autoscaler when the worker autoscales, else null. */
  readonly autoscaler: Autoscaler | null;
  /** The queues consumed now. */
  readonly queues: readonly string[];
  /** The prefetch window: unacked messages held. */
  readonly prefetch: number;
  /** Requests running now. */
  readonly activeRequests: readonly Request[];
  /** Requests received and waiting for a free slot. */
  readonly reservedRequests: readonly Request[];
  /** Requests held until their ETA. */
  readonly scheduledRequests: readonly Request[];
  /** Requests waiting for their task's rate limit. */
  readonly rateLimitedRequests: readonly Request[];
  /** Revoke task ids (Celery's `revoke` command). */
  revoke(ids: string | string[], options?: RevokeOptions): void;
  /** Revoke by stamped headers (Celery's `revoke_by_stamped_headers`); returns the reply text. */
  revokeByStampedHeaders(headers: { [header: string]: WireValue }, options?: RevokeOptions): string;
  /** Stop the worker (warm by default). */
  stop(options?: StopOptions): Promise<void>;
}
