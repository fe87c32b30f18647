/**
 * The worker: lifecycle and wiring. It connects, starts its consumer (consumer.ts: prefetch
 * window, ETA holds, rate limits, concurrency gate, settlement through each Request), remote
 * control and events, and stops them in order: warm (wait for running tasks) or cold.
 */
import { availableParallelism, hostname as osHostname } from "node:os";
import { DEFAULTS } from "../config";
import type { AppContext } from "../app-context";
import { Logger, parseLogLevel } from "../logging";
import { pyRepr } from "../protocol/repr";
import { matchingStamps, RevokedStamps, terminatedRepr } from "./revoked-stamps";
import type { WireValue } from "../protocol/message";
import { WorkerSignals } from "../signals";
import type { WorkerEventListener, WorkerEventName } from "../signals";
import { Consumer } from "./consumer";
import type { WorkerStats } from "./consumer";
import { Autoscaler, autoscaleKeepalive, checkAutoscale } from "./autoscaler";
import type { AutoscaleOptions } from "./autoscaler";
import { EventLoopPool } from "./pools/eventloop";
import type * as ThreadsModule from "./pools/threads";
import type * as PreforkModule from "./pools/prefork";
import type { ExecutionPool } from "./pools/types";
import type { SlotPoolOptions } from "./pools/slot-pool";
import { childConf } from "./pools/child-conf";
import type { Request } from "./request";
import { LimitedSet, loadStateDb, saveStateDb } from "./state";
import { guardProcess } from "./crash-guard";
import { Tracer } from "./tracer";
import { startWorkerControl } from "./control";
import type { ControlledWorker, RevokeOptions, StopOptions, WorkerOptions } from "./worker-types";
import { DEFAULT_NODE_NAME } from "./worker-types";
import type { WorkerControlHandle } from "./control";
import { connectWorker, logConnectionStates } from "./broker-connection";
import { signalName } from "./signal-name";
import type { MetricsServer } from "./observability/server";
import type { Transport } from "../transport/types";
import type * as ObservabilityModule from "./observability/server";

export type { WorkerStats };
export type { WorkerOptions, WorkerControlOptions, RevokeOptions, StopOptions } from "./worker-types";

/** A Celery-compatible worker. */
export class Worker implements ControlledWorker {
  /** Node name `name@host`. */
  readonly hostname: string;
  /**
   * Handlers running at once as configured (`consumer.concurrency` is the current gate size); with
   * `autoscale`, the pool's size at start: its min (at least one).
   */
  readonly concurrency: number;
  /** Celery's autoscaler when `autoscale` was given (the `autoscale` control command changes its range), else null. */
  readonly autoscaler: Autoscaler | null = null;
  /** Where this worker logs. */
  readonly logger: Logger;
  /** Tasks run to completion, kept by the consumer. */
  readonly stats: WorkerStats = { total: {}, processed: 0 };
  /** Where handlers run. @internal */
  readonly executor: ExecutionPool;
  /** Ids revoked on this worker (Celery's LimitedSet: 50 000 ids, 3 h). @internal */
  readonly revoked = new LimitedSet();
  /** Stamp values revoked on this worker (Celery's `revoked_stamps`). @internal */
  readonly revokedStamps = new RevokedStamps();
  /** This worker's signals; the app's `signals` get the same events. */
  readonly signals = new WorkerSignals();
  /** The flow of messages: queues, prefetch window, ETA holds, rate limits, running requests. */
  readonly consumer: Consumer;
  private stopping: Promise<void> | null = null;
  private cold = false;
  private readonly statedb: string | null;
  /** Remote control (pidbox) and events, while started. */
  private control: WorkerControlHandle | null = null;
  private readonly containStrayErrors: boolean;
  /** Stops the process-level crash guard (set while started). */
  private unguard: (() => void) | null = null;
  /** Stops logging the broker/backend connection state. */
  private unwatchConnections: (() => void) | null = null;
  /** `/metrics`, `/healthz` and `/readyz`, with `metricsPort` (observability/server.ts). @internal */
  readonly metricsServer: MetricsServer | null = null;
  private unfollowMetrics: (() => void) | null = null;
  private transport: Transport | null = null;

  constructor(private readonly app: AppContext, private readonly options: WorkerOptions = {}) {
    this.hostname = options.hostname ?? `${DEFAULT_NODE_NAME}@${osHostname()}`;
    // prefork: one child per CPU unless worker_concurrency was set (Celery's default is the CPU count).
    const preforkDefault = options.pool === "prefork" && app.conf.workerConcurrency === DEFAULTS.workerConcurrency;
    this.concurrency = options.concurrency ?? (preforkDefault ? availableParallelism() : app.conf.workerConcurrency);
    const autoscale = options.autoscale ? autoscaleRange(options.autoscale, options.pool) : null;
    // Celery starts the pool with min processes whatever -c says.
    if (autoscale) this.concurrency = Math.max(1, autoscale.min);
    this.logger = options.logger ?? new Logger(options.logLevel ?? "INFO", undefined, { sink: app.logger });
    this.signals.logger = this.logger;
    this.statedb = options.statedb ?? null;
    this.containStrayErrors = options.containStrayErrors ?? true;
    this.executor = createExecutor(options, this.concurrency, this.logger, {
      hostname: this.hostname,
      redirectStdouts: app.conf.workerRedirectStdouts,
      redirectStdoutsLevel: parseLogLevel(app.conf.workerRedirectStdoutsLevel),
      // Children load the app module again: they get this process's resolved settings (--config, ...) as they start.
      conf: () => childConf(app.conf),
    });
    const prefetchMultiplier = options.prefetchMultiplier ?? app.conf.workerPrefetchMultiplier;
    this.consumer = new Consumer(app, {
      hostname: this.hostname,
      queues: options.queues?.length ? options.queues : [app.conf.taskDefaultQueue],
      concurrency: this.concurrency,
      prefetchMultiplier,
      logger: this.logger,
      executor: this.executor,
      revoked: this.revoked,
      revokedStamps: this.revokedStamps,
      stats: this.stats,
      onReceived: (request) => {
        this.autoscaler?.taskReceived();
        if (this.signals.listenerCount("taskReceived") || this.app.signals.listenerCount("taskReceived")) {
          this.emit("taskReceived", { taskId: request.task.id, task: request.task.task, request: request.info });
        }
      },
      taskEvent: (type, fields) => {
        if (type === "task-rejected" && this.metricsServer) this.countRejected(fields.uuid);
        this.control?.taskEvent(type, fields);
      },
    });
    if (options.metricsPort !== undefined) this.metricsServer = this.createMetricsServer(options);
    if (autoscale) {
      // Celery's prefetch window with autoscale: max × the multiplier.
      this.consumer.setPrefetch(autoscale.max * prefetchMultiplier);
      this.autoscaler = new Autoscaler(this.consumer, { ...autoscale, prefetchMultiplier, logger: this.logger });
    }
  }

  /** The metrics port's server, its metrics following this worker's signals (loaded only when asked for). */
  private createMetricsServer(options: WorkerOptions): MetricsServer {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded for a metrics port only
    const { MetricsServer: Server } = require("./observability/server") as typeof ObservabilityModule;
    const server = new Server(
      this.hostname,
      {
        active: () => this.consumer.active.length,
        queues: () => this.consumer.queues,
        queueLength: (q) => queueLength(this.transport, q),
        up: () => this.transport !== null && !this.stopping,
      },
      { port: options.metricsPort ?? 0, host: options.metricsHost, maxBlockedSeconds: options.healthMaxBlockedSeconds },
    );
    this.unfollowMetrics = server.metrics.follow(this.signals, this.app.signals);
    return server;
  }

  /** celery_task_rejected_total: the request is still running or reserved when it is rejected. */
  private countRejected(id: unknown): void {
    const r = [...this.consumer.active, ...this.consumer.reserved].find((x) => x.task.id === id);
    if (r) this.metricsServer?.metrics.count("rejected", r.task.task, r.delivery.routingKey);
  }

  /** Queues consumed now (add_consumer / cancel_consumer change them through the consumer). */
  get queues(): readonly string[] {
    return this.consumer.queues;
  }

  /** The prefetch window: unacked messages held = prefetchMultiplier × concurrency. */
  get prefetch(): number {
    return this.consumer.prefetch;
  }

  /** Listen to one of this worker's signals (taskPrerun, taskSuccess, workerReady, ...). */
  on<K extends WorkerEventName>(event: K, listener: WorkerEventListener<K>): () => void {
    return this.signals.on(event, listener);
  }

  private emit<K extends WorkerEventName>(event: K, payload: Parameters<WorkerEventListener<K>>[0]): void {
    this.signals.emit(event, payload, this.logger);
    this.app.signals.emit(event, payload, this.logger);
  }

  /** Requests running now. */
  get activeRequests(): readonly Request[] {
    return this.consumer.active;
  }

  /** Requests received and waiting for a free slot. */
  get reservedRequests(): readonly Request[] {
    return this.consumer.reserved;
  }

  /** Requests waiting for their ETA. */
  get scheduledRequests(): readonly Request[] {
    return this.consumer.scheduled;
  }

  /** Requests waiting for their task's rate limit. */
  get rateLimitedRequests(): readonly Request[] {
    return this.consumer.rateLimited;
  }

  /**
   * Revoke task ids (Celery `revoke`): they are skipped when received or about to run (REVOKED
   * "revoked", message acked); with `terminate`, a running one is stopped now (REVOKED
   * "terminated"; prefork sends `signal` (default SIGTERM) to its child, SIGKILLed if it has not
   * exited after a grace period; the threads pool terminates its thread, the event loop aborts
   * ctx.signal and stops waiting for it). `signal` "SIGUSR1" (billiard's soft time limit signal)
   * gives the task its soft limit instead, in every pool: REVOKED is stored, then its own outcome.
   * An unknown signal throws after the ids were flagged, as Celery's does.
   */
  revoke(ids: string | string[], options: RevokeOptions = {}): void {
    const list = typeof ids === "string" ? [ids] : ids;
    for (const id of list) this.revoked.add(id);
    this.logger.info(`Tasks flagged as revoked: ${list.join(", ")}`);
    this.consumer.discardRevokedHolds();
    if (!options.terminate) return;
    const signal = signalName(options.signal);
    for (const request of this.consumer.active) {
      if (list.includes(request.task.id)) request.terminate(signal);
    }
  }

  /**
   * Celery ≥ 5.3 `revoke_by_stamped_headers`: tasks whose stamps carry one of these values are
   * discarded as REVOKED; with `terminate`, running ones are stopped now. Returns Celery's reply text.
   */
  revokeByStampedHeaders(headers: { [header: string]: WireValue }, options: RevokeOptions = {}): string {
    // Celery reads the signal first: an unknown one flags nothing.
    const signal = signalName(options.signal);
    this.revokedStamps.add(headers);
    this.consumer.discardRevokedHolds();
    const shown = pyRepr(headers);
    if (!options.terminate) return `headers ${shown} flagged as revoked, but not terminated`;
    const terminated = new Map<string, WireValue[]>();
    for (const request of this.consumer.active) {
      const hits = matchingStamps(request.task, headers);
      if (!hits.size) continue;
      for (const [k, vs] of hits) terminated.set(k, [...(terminated.get(k) ?? []), ...vs]);
      request.terminate(signal);
    }
    return terminated.size ? `headers ${terminatedRepr(terminated)} revoked` : `headers ${shown} were not terminated`;
  }

  /** Change a task's rate limit at run time (Celery `rate_limit` control command); null/0 removes it. */
  setRateLimit(name: string, rate: string | number | null): void {
    this.consumer.setRateLimit(name, rate);
  }

  /**
   * Start the pool (prefork forks its children now, not when the worker is constructed), connect,
   * declare the queues and start consuming. When this fails, the pool is closed again.
   */
  async start(): Promise<void> {
    if (this.containStrayErrors) this.unguard = guardProcess({ logger: this.logger, onUnsafe: () => this.onUnsafe() });
    try {
      await this.startConsuming();
    } catch (err) {
      await this.metricsServer?.stop();
      await this.executor.close();
      this.unguard?.();
      this.unguard = null;
      throw err;
    }
  }

  private async startConsuming(): Promise<void> {
    if (this.statedb) {
      await loadStateDb(this.statedb, this.revoked);
      this.logger.info(`Loaded ${this.revoked.size} revoked ids from statedb ${this.statedb}`);
    }
    await this.metricsServer?.start();
    if (this.metricsServer) this.logger.info(`Serving /metrics, /healthz and /readyz on port ${this.metricsServer.port}`);
    // Celery's order: the pool starts before the consumer connects.
    await this.executor.open();
    const { transport, backend } = await connectWorker(this.app, this.logger, () => this.stopping !== null);
    this.transport = transport;
    this.unwatchConnections = logConnectionStates(transport, backend, this.logger);
    this.metricsServer?.watch(transport, backend);
    const tracer = new Tracer(this.app, backend, this.logger, this.hostname, [this.signals, this.app.signals]);
    await this.consumer.start({ transport, backend, tracer });
    // Not when stop() came while connecting: the pool is closing.
    if (!this.stopping) this.autoscaler?.start();
    // Celery's line after its banner (the CLI prints the banner: cli/banner.ts).
    this.logger.info(`${this.hostname} ready.`);
    this.control = await startWorkerControl(this.app, this, transport, this.logger, this.options);
    this.emit("workerReady", { hostname: this.hostname });
    if (!this.stopping) this.metricsServer?.setConsuming(true);
  }

  /** The crash guard found the process unsafe: warm shutdown (what is held goes back), then exit 1. */
  private onUnsafe(): void {
    const exit = (): never => process.exit(1);
    void this.stop().then(exit, exit);
  }

  /**
   * Warm shutdown: stop consuming, give back what has not started (ETA-held, rate-limited and
   * reserved messages go back to the front of their queue, as kombu's restore does), wait for
   * running tasks to finish and settle. Cold (`{ cold: true }`, also while a warm shutdown
   * waits): stop waiting for running tasks; acksLate messages are given back, threads terminated.
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (options.cold && !this.cold) {
      this.cold = true;
      this.consumer.abandon();
    }
    if (!this.stopping) {
      this.consumer.close();
      this.stopping = this.shutdown();
    }
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.metricsServer?.setConsuming(false);
    this.autoscaler?.stop();
    this.unwatchConnections?.();
    await this.control?.stop().catch((err: Error) => this.logger.error(`Could not stop remote control: ${err.message}`));
    await this.consumer.stop();
    await this.executor.close();
    if (this.statedb) {
      try {
        await saveStateDb(this.statedb, this.revoked);
      } catch (err) {
        this.logger.error(`Could not save statedb ${this.statedb}: ${(err as Error).message}`);
      }
    }
    this.emit("workerShutdown", { hostname: this.hostname, cold: this.cold });
    this.unfollowMetrics?.();
    await this.metricsServer?.stop();
    this.unguard?.();
    this.unguard = null;
    this.logger.info(`${this.hostname} stopped.`);
  }
}

/** Messages waiting in `queue` (null when unknown: not connected, a transport without queueLength, a broker that does not answer in 2 s). */
async function queueLength(transport: Transport | null, queue: string): Promise<number | null> {
  if (!transport?.queueLength) return null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 2000)));
  try {
    return await Promise.race([transport.queueLength(queue).catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The checked autoscale range and keepalive (checked before any child starts); the threads pool cannot change its size. */
function autoscaleRange({ max, min = 0, keepalive }: AutoscaleOptions, pool: WorkerOptions["pool"]): { max: number; min: number; keepalive: number } {
  const seconds = keepalive ?? autoscaleKeepalive();
  checkAutoscale(max, min, seconds);
  if (pool === "threads") throw new Error("autoscale needs a pool that can change its size (prefork or eventloop): the threads pool has a fixed number of threads");
  return { max, min, keepalive: seconds };
}

/** The execution pool the options ask for (`children`: what the threads and prefork pools tell their children). */
function createExecutor(
  options: WorkerOptions,
  size: number,
  logger: Logger,
  children: Pick<SlotPoolOptions, "hostname" | "redirectStdouts" | "redirectStdoutsLevel" | "conf">,
): ExecutionPool {
  const pool = options.pool ?? "eventloop";
  if (pool === "eventloop") return new EventLoopPool();
  if (pool !== "threads" && pool !== "prefork") throw new Error(`unknown pool ${JSON.stringify(pool)} (use "eventloop", "threads" or "prefork")`);
  if (!options.appModule) throw new Error(`pool "${pool}" needs appModule: the path of the module exporting the app (the CLI passes -A)`);
  const slotOptions = {
    appModule: options.appModule,
    size,
    maxTasksPerChild: options.maxTasksPerChild,
    maxMemoryPerChild: options.maxMemoryPerChild,
    logger,
    ...children,
  };
  // Loaded for the pool in use only: an event-loop worker never needs the child-process or thread code.
  /* eslint-disable @typescript-eslint/no-require-imports -- synchronous loads on first use, which `import` cannot express */
  if (pool === "threads") return new (require("./pools/threads") as typeof ThreadsModule).ThreadPool(slotOptions);
  return new (require("./pools/prefork") as typeof PreforkModule).PreforkPool(slotOptions);
  /* eslint-enable @typescript-eslint/no-require-imports */
}
