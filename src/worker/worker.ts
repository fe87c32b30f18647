/**
 * The worker: consumes task queues with a bounded prefetch window, runs handlers with bounded
 * concurrency, acks as Celery does (on start, or after the run with acksLate), and never drops a
 * message silently.
 */
import { constants as osConstants, hostname as osHostname } from "node:os";
import type { Celery } from "../app";
import type { ResultBackend, ResultRoute } from "../backend/types";
import type { Task } from "../client/task";
import { Logger } from "../logging";
import type { LogLevel } from "../logging";
import { buildResultMeta } from "../protocol/result-meta";
import { notRegistered } from "../protocol/exceptions";
import type { ExceptionInfo } from "../protocol/result-meta";
import { logText, pyRepr, pyStrRepr } from "../protocol/repr";
import { taskLabel } from "./task-label";
import { matchingStamps, RevokedStamps, terminatedRepr } from "./revoked-stamps";
import type { WireValue } from "../protocol/message";
import type { Consumer, Delivery } from "../transport/types";
import { WorkerSignals } from "./events";
import type { WorkerEventListener, WorkerEventName } from "./events";
import { ConcurrencyGate } from "./concurrency-gate";
import { EventLoopPool } from "./pools/eventloop";
import { ThreadPool } from "./pools/threads";
import type { ExecutionPool } from "./pools/types";
import { parseRate, TokenBucket } from "./rate";
import { createRequest } from "./request";
import type { Request } from "./request";
import { LimitedSet, loadStateDb, saveStateDb } from "./state";
import { setLongTimeout } from "./long-timer";
import { guardProcess } from "./crash-guard";
import type { LongTimer } from "./long-timer";
import { classify, decodeLimitsOf, etaDelay, isExpired } from "./strategy";
import { Tracer } from "./tracer";
import { startWorkerControl } from "./control";
import type { WorkerControlHandle } from "./control";
import type { TraceOutcome } from "./tracer";
import { connectWorker, logConnectionStates } from "./broker-connection";

/** Options of `app.worker(...)` / `celeriac worker`. */
export interface WorkerOptions {
  /** Queues to consume (default: the app's taskDefaultQueue). */
  queues?: string[];
  /** Handlers running at once (default: workerConcurrency). */
  concurrency?: number;
  /** Node name `name@host` (default `celery@<hostname>`). */
  hostname?: string;
  /** Unacked messages held = prefetchMultiplier × concurrency (default: workerPrefetchMultiplier). */
  prefetchMultiplier?: number;
  /** Log level (default INFO). */
  logLevel?: LogLevel;
  /** A logger to use instead of stderr. */
  logger?: Logger;
  /**
   * Where handlers run: "eventloop" (default; async I/O tasks) or "threads" (node:worker_threads,
   * so hard time limits and terminate can stop CPU-bound code; needs `appModule`).
   */
  pool?: "eventloop" | "threads";
  /** Module path exporting the app (the CLI's `-A`), loaded by every pool thread. */
  appModule?: string;
  /** Threads pool: replace a thread after this many tasks (Celery worker_max_tasks_per_child). */
  maxTasksPerChild?: number | null;
  /** Threads pool: replace a thread whose heap passed this many KiB (Celery worker_max_memory_per_child). */
  maxMemoryPerChild?: number | null;
  /** A JSON file keeping revoked ids across restarts (Celery `--statedb`): loaded at start, saved at stop. */
  statedb?: string;
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
  /** Signal name reported for terminate (default SIGTERM). */
  signal?: string;
}

/** Options of `worker.stop`. */
export interface StopOptions {
  /**
   * Cold shutdown: do not wait for running tasks. Their messages go back to the queue when
   * acksLate (Redis: in front), nothing is stored for them; threads are terminated.
   */
  cold?: boolean;
}

/** Counts a worker keeps. */
export interface WorkerStats {
  /** Tasks run to completion (any outcome), by name. */
  total: Record<string, number>;
  processed: number;
}

/** A Celery-compatible worker. */
export class Worker {
  readonly hostname: string;
  readonly queues: string[];
  readonly concurrency: number;
  readonly prefetch: number;
  readonly logger: Logger;
  readonly stats: WorkerStats = { total: {}, processed: 0 };
  private consumer: Consumer | null = null;
  private backend: ResultBackend | null = null;
  private tracer: Tracer | null = null;
  private readonly pool: ConcurrencyGate<Request>;
  /** Delivered, not yet settled, not ETA-held: the prefetch window. */
  private unsettled = 0;
  private readonly scheduled = new Map<Request, LongTimer>();
  private readonly active = new Set<Request>();
  private stopping: Promise<void> | null = null;
  private cold = false;
  private transportName: string | null = null;
  /** Where handlers run. */
  readonly executor: ExecutionPool;
  /** Ids revoked on this worker (Celery's LimitedSet: 50 000 ids, 3 h). */
  readonly revoked = new LimitedSet();
  /** Stamp values revoked on this worker (Celery's `revoked_stamps`). */
  readonly revokedStamps = new RevokedStamps();
  /** This worker's signals; the app's `signals` get the same events. */
  readonly signals = new WorkerSignals();
  /** Rate limits set at run time (name → tasks/s; 0 = none), over the task options. */
  private readonly rateOverrides = new Map<string, number>();
  private readonly buckets = new Map<string, { bucket: TokenBucket; pending: Request[]; timer: NodeJS.Timeout | null }>();
  private readonly statedb: string | null;
  /** Remote control (pidbox) and events, while started. */
  private control: WorkerControlHandle | null = null;
  private readonly containStrayErrors: boolean;
  /** Stops the process-level crash guard (set while started). */
  private unguard: (() => void) | null = null;
  /** Stops logging the broker/backend connection state. */
  private unwatchConnections: (() => void) | null = null;

  constructor(private readonly app: Celery, options: WorkerOptions = {}) {
    this.hostname = options.hostname ?? `celery@${osHostname()}`;
    this.queues = options.queues?.length ? options.queues : [app.conf.taskDefaultQueue];
    this.concurrency = options.concurrency ?? app.conf.workerConcurrency;
    this.prefetch = Math.max(1, (options.prefetchMultiplier ?? app.conf.workerPrefetchMultiplier) * this.concurrency);
    this.logger = options.logger ?? new Logger(options.logLevel ?? "INFO");
    this.signals.logger = this.logger;
    this.statedb = options.statedb ?? null;
    this.containStrayErrors = options.containStrayErrors ?? true;
    this.pool = new ConcurrencyGate<Request>(this.concurrency, (r) => this.execute(r), () => this.consumer?.poke());
    if ((options.pool ?? "eventloop") === "threads") {
      if (!options.appModule) throw new Error('pool "threads" needs appModule: the path of the module exporting the app (the CLI passes -A)');
      this.executor = new ThreadPool({
        appModule: options.appModule,
        size: this.concurrency,
        maxTasksPerChild: options.maxTasksPerChild,
        maxMemoryPerChild: options.maxMemoryPerChild,
        logger: this.logger,
      });
    } else if (options.pool === undefined || options.pool === "eventloop") {
      this.executor = new EventLoopPool();
    } else {
      throw new Error(`unknown pool ${JSON.stringify(options.pool)} (use "eventloop" or "threads")`);
    }
  }

  /** Listen to one of this worker's signals (taskPrerun, taskSuccess, workerReady, ...). */
  on<K extends WorkerEventName>(event: K, listener: WorkerEventListener<K>): () => void {
    return this.signals.on(event, listener);
  }

  private emit<K extends WorkerEventName>(event: K, payload: Parameters<WorkerEventListener<K>>[0]): void {
    this.signals.emit(event, payload, this.logger);
    appSignals(this.app)?.emit(event, payload, this.logger);
  }

  /** Requests running now. */
  get activeRequests(): readonly Request[] {
    return [...this.active];
  }

  /** Requests received and waiting for a free slot. */
  get reservedRequests(): readonly Request[] {
    return this.pool.queued;
  }

  /** Requests waiting for their ETA. */
  get scheduledRequests(): readonly Request[] {
    return [...this.scheduled.keys()];
  }

  /** Requests waiting for their task's rate limit. */
  get rateLimitedRequests(): readonly Request[] {
    return [...this.buckets.values()].flatMap((b) => b.pending);
  }

  /**
   * Revoke task ids (Celery `revoke`): they are skipped when received or about to run (REVOKED
   * "revoked", message acked); with `terminate`, a running one is stopped now (REVOKED
   * "terminated"; the threads pool terminates its thread, the event loop aborts ctx.signal and
   * stops waiting for it).
   */
  revoke(ids: string | string[], options: RevokeOptions = {}): void {
    const list = typeof ids === "string" ? [ids] : ids;
    for (const id of list) this.revoked.add(id);
    this.logger.info(`Tasks flagged as revoked: ${list.join(", ")}`);
    this.discardRevokedScheduled();
    if (!options.terminate) return;
    const signal = normalizeSignal(options.signal);
    for (const request of this.active) {
      if (list.includes(request.task.id)) request.terminate?.(signal);
    }
  }

  /**
   * Celery ≥ 5.3 `revoke_by_stamped_headers`: tasks whose stamps carry one of these values are
   * discarded as REVOKED; with `terminate`, running ones are stopped now. Returns Celery's reply text.
   */
  revokeByStampedHeaders(headers: { [header: string]: WireValue }, options: RevokeOptions = {}): string {
    this.revokedStamps.add(headers);
    this.discardRevokedScheduled();
    const shown = pyRepr(headers);
    if (!options.terminate) return `headers ${shown} flagged as revoked, but not terminated`;
    const signal = normalizeSignal(options.signal);
    const terminated = new Map<string, WireValue[]>();
    for (const request of this.active) {
      const hits = matchingStamps(request.task, headers);
      if (!hits.size) continue;
      for (const [k, vs] of hits) terminated.set(k, [...(terminated.get(k) ?? []), ...vs]);
      request.terminate?.(signal);
    }
    return terminated.size ? `headers ${terminatedRepr(terminated)} revoked` : `headers ${shown} were not terminated`;
  }

  /**
   * ETA-held requests that are now revoked are discarded at once (REVOKED stored, message acked)
   * instead of holding their message until the ETA, which may be weeks away. Celery keeps them in
   * its timer and discards them when the ETA comes; the stored outcome is the same, only sooner.
   */
  private discardRevokedScheduled(): void {
    for (const [request, timer] of this.scheduled) {
      if (!this.revoked.has(request.task.id) && !this.revokedStamps.match(request.task)) continue;
      timer.clear();
      this.release(request);
    }
  }

  /** Change a task's rate limit at run time (Celery `rate_limit` control command); null/0 removes it. */
  setRateLimit(name: string, rate: string | number | null): void {
    this.rateOverrides.set(name, parseRate(rate));
    const entry = this.buckets.get(name);
    this.buckets.delete(name);
    if (entry) {
      if (entry.timer) clearTimeout(entry.timer);
      for (const request of entry.pending) this.admit(request);
    }
  }

  private rateOf(name: string): number {
    const override = this.rateOverrides.get(name);
    if (override !== undefined) return override;
    const task = this.app.tasks.get(name);
    return parseRate(task?.options.rateLimit ?? this.app.conf.taskDefaultRateLimit ?? null);
  }

  /** Hand a due request to the pool, through its task's token bucket when rate limited. */
  private admit(request: Request): void {
    const name = request.task.task;
    let entry = this.buckets.get(name);
    if (!entry) {
      const rate = this.rateOf(name);
      if (!rate) {
        this.pool.submit(request);
        return;
      }
      entry = { bucket: new TokenBucket(rate, 1), pending: [], timer: null };
      this.buckets.set(name, entry);
    }
    entry.pending.push(request);
    this.drainBucket(name);
  }

  private drainBucket(name: string): void {
    const entry = this.buckets.get(name);
    if (!entry) return;
    entry.timer = null;
    while (entry.pending.length) {
      if (!entry.bucket.canConsume(1)) {
        const wait = entry.bucket.expectedTime(1);
        if (!entry.timer) entry.timer = setTimeout(() => this.drainBucket(name), Math.max(1, Math.ceil(wait * 1000)));
        return;
      }
      this.pool.submit(entry.pending.shift() as Request);
    }
  }

  /** Connect, declare the queues and start consuming. */
  async start(): Promise<void> {
    if (this.containStrayErrors) this.unguard = guardProcess({ logger: this.logger, onUnsafe: () => this.onUnsafe() });
    try {
      await this.startConsuming();
    } catch (err) {
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
    const { transport, backend } = await connectWorker(this.app, this.logger, () => this.stopping !== null);
    this.unwatchConnections = logConnectionStates(transport, backend, this.logger);
    this.transportName = transport.name;
    this.backend = backend;
    this.tracer = new Tracer(this.app, this.backend, this.logger, this.hostname, [this.signals, ...(appSignals(this.app) ? [appSignals(this.app) as WorkerSignals] : [])]);
    for (const queue of this.queues) await transport.declareQueue({ name: queue });
    this.consumer = await transport.consume({
      queues: this.queues,
      prefetch: this.prefetch,
      hasCapacity: () => this.unsettled < this.prefetch,
      capacity: () => Math.max(0, this.prefetch - this.unsettled),
      onDelivery: (d) => this.onDelivery(d),
      onTransportError: (err) => this.logger.error(`Broker message could not be read: ${err.message}`),
    });
    this.logger.info(
      `${this.hostname} ready. Queues: ${this.queues.join(", ")}; concurrency ${this.concurrency} (${this.executor.kind}); tasks: ${[...this.app.tasks.keys()].join(", ")}`,
    );
    this.control = await startWorkerControl(this.app, this, transport, this.logger);
    this.emit("workerReady", { hostname: this.hostname });
  }

  /** The crash guard found the process unsafe: warm shutdown (what is held goes back), then exit 1. */
  private onUnsafe(): void {
    const exit = (): never => process.exit(1);
    void this.stop().then(exit, exit);
  }

  private async settle(request: Request, how: "ack" | "requeue" | "release" | "drop"): Promise<void> {
    if (request.acknowledged) return;
    request.acknowledged = true;
    this.unsettled--;
    try {
      if (how === "ack") await request.delivery.ack();
      else if (how === "release" && request.delivery.release) await request.delivery.release();
      else await request.delivery.reject(how !== "drop");
    } catch (err) {
      this.logger.error(`Could not ${how} message of task ${taskLabel(request.task)}: ${(err as Error).message}`);
    }
    this.consumer?.poke();
  }

  private async settleDelivery(delivery: Delivery, requeue: boolean): Promise<void> {
    this.unsettled--;
    try {
      await delivery.reject(requeue);
    } catch (err) {
      this.logger.error(`Could not reject message from queue ${delivery.queue}: ${(err as Error).message}`);
    }
    this.consumer?.poke();
  }

  private onDelivery(delivery: Delivery): void {
    this.unsettled++;
    const verdict = classify(delivery, this.app.conf.acceptContent, (name) => this.app.tasks.has(name), decodeLimitsOf(this.app.conf));
    if (verdict.kind === "invalid") {
      this.logger.error(verdict.reason);
      if (verdict.failure) void this.storeFailure(verdict.failure.id, verdict.failure.exc, null, null, replyRoute(delivery, verdict.failure.id));
      void this.settleDelivery(delivery, false);
      return;
    }
    if (verdict.kind === "unregistered") {
      this.logger.error(
        `Received unregistered task of type '${logText(verdict.name)}'. The message has been ignored and discarded. (id ${logText(verdict.id)}, queue ${delivery.queue})`,
      );
      // As Celery's on_unknown_task: the FAILURE goes to the message's reply_to / correlation_id (rpc://).
      void this.storeFailure(verdict.id, notRegistered(verdict.name), verdict.task?.group ?? null, verdict.task?.parentId ?? null, replyRoute(delivery, verdict.id));
      void this.settleDelivery(delivery, false);
      // Celery's on_unknown_task: task-failed with only uuid and exception (no traceback).
      this.control?.taskEvent("task-failed", { uuid: verdict.id, exception: `NotRegistered(${pyStrRepr(verdict.name)})` });
      return;
    }
    const request = createRequest(verdict.task, delivery, this.hostname);
    if (this.stopping) {
      // Fetched while stopping: give it back untouched.
      void this.settle(request, "release");
      return;
    }
    if (this.logger.enabled("INFO")) this.logger.info(`Task ${taskLabel(request.task)} received`);
    this.emit("taskReceived", { taskId: request.task.id, task: request.task.task, request: request.info });
    if (this.isRevoked(request)) {
      void this.discardRevoked(request);
      return;
    }
    const delay = etaDelay(request.task);
    if (delay > 0) {
      this.warnLongEta(request, delay);
      // ETA-held messages stay unacked but do not count against the prefetch window (as Celery raises QoS).
      this.unsettled--;
      this.scheduled.set(request, setLongTimeout(() => this.release(request), delay));
      this.syncBrokerPrefetch();
      this.consumer?.poke();
      return;
    }
    this.admit(request);
  }

  /** Redis keeps an ETA task unacked while it waits: past the visibility timeout it is delivered again. */
  private warnLongEta(request: Request, delayMs: number): void {
    if (this.transportName !== "redis") return;
    const visibility = this.app.conf.brokerTransportOptions.visibilityTimeout ?? 3600;
    if (delayMs / 1000 <= visibility) return;
    this.logger.warn(
      `Task ${taskLabel(request.task)} has an ETA ${Math.round(delayMs / 1000)}s away, longer than the broker's visibility_timeout (${visibility}s): ` +
        `Redis will deliver it again to another worker after the visibility timeout (duplicate execution). Raise broker_transport_options visibility_timeout.`,
    );
  }

  /** AMQP counts held ETA messages against basic.qos: raise it by one per held message, as Celery does. */
  private syncBrokerPrefetch(): void {
    this.consumer?.setPrefetch?.(this.prefetch + this.scheduled.size);
  }

  private release(request: Request): void {
    this.scheduled.delete(request);
    this.syncBrokerPrefetch();
    this.unsettled++;
    if (this.isRevoked(request)) {
      void this.discardRevoked(request);
      return;
    }
    this.admit(request);
  }

  /** Celery `Request.revoked()`: expired ids join the revoked set; true when the id is revoked. */
  private isRevoked(request: Request): boolean {
    if (isExpired(request.task)) this.revoked.add(request.task.id);
    return this.revoked.has(request.task.id) || this.revokedStamps.match(request.task) !== null;
  }

  private async discardRevoked(request: Request): Promise<void> {
    const t = request.task;
    // Expiry is permanent once passed, so it is re-derived here (checked first, as Celery does).
    // Celery logs expired and revoked tasks alike; only a stamp match names its header.
    const expired = isExpired(t);
    const stamp = expired || this.revoked.has(t.id) ? null : this.revokedStamps.match(t);
    const by = stamp ? ` (revoked by header: {${pyRepr(stamp.header)}: ${pyRepr(stamp.value)}})` : "";
    this.logger.info(`Discarding revoked task: ${taskLabel(t)}${by}`);
    await this.tracer?.revoked(this.app.tasks.get(t.task), request, expired ? "expired" : "revoked");
    await this.settle(request, "ack");
  }

  /** FAILURE for a message that never ran (NotRegistered, refused over the limits). */
  private async storeFailure(id: string, exc: ExceptionInfo, group: string | null, parentId: string | null, route: ResultRoute): Promise<void> {
    try {
      const meta = buildResultMeta({
        taskId: id,
        status: "FAILURE",
        result: exc as unknown as WireValue,
        traceback: null,
        groupId: group ?? undefined,
        parentId: parentId ?? undefined,
      });
      await this.backend?.store(id, meta, route);
    } catch (err) {
      this.logger.error(`Failed to store ${exc.exc_type} for task ${logText(id)}: ${(err as Error).message}`);
    }
  }

  private async execute(request: Request): Promise<void> {
    const task = this.app.tasks.get(request.task.task) as Task;
    const tracer = this.tracer as Tracer;
    if (this.cold) {
      await this.settle(request, "release");
      return;
    }
    if (this.isRevoked(request)) {
      await this.discardRevoked(request);
      return;
    }
    const acksLate = task.options.acksLate ?? this.app.conf.taskAcksLate;
    // The ack is not awaited: commands on the broker connection stay in order, and settle() logs failures.
    if (!acksLate) void this.settle(request, "ack");
    request.timeStart = Date.now();
    this.active.add(request);
    let outcome: TraceOutcome = "FAILURE";
    try {
      outcome = await tracer.run(task, request, this.executor);
    } finally {
      this.active.delete(request);
      if (outcome !== "ABANDONED") {
        this.stats.processed++;
        this.stats.total[request.task.task] = (this.stats.total[request.task.task] ?? 0) + 1;
      }
      if (acksLate) await this.settleLate(request, this.lateSettlement(task, outcome));
    }
  }

  /** Settle an acksLate message; a reject (requeued or not) sends task-rejected, as Celery's `Request.reject`. */
  private async settleLate(request: Request, how: "ack" | "requeue" | "release" | "drop"): Promise<void> {
    const rejects = (how === "requeue" || how === "drop") && !request.acknowledged;
    await this.settle(request, how);
    if (rejects) this.control?.taskEvent("task-rejected", { uuid: request.task.id, requeue: how === "requeue" });
  }

  /**
   * How an acksLate message is settled after the run (Celery Request.on_success/on_failure/
   * on_timeout): acked, unless it failed with acksOnFailureOrTimeout=false (rejected, not
   * requeued), its thread died with rejectOnWorkerLost (requeued), or a cold shutdown abandoned it
   * (given back).
   */
  private lateSettlement(task: Task, outcome: TraceOutcome): "ack" | "requeue" | "release" | "drop" {
    switch (outcome) {
      case "REQUEUE":
        return "requeue";
      case "ABANDONED":
        return "release";
      case "FAILURE":
      case "TIMEOUT":
      case "LOST":
        return task.options.acksOnFailureOrTimeout ?? this.app.conf.taskAcksOnFailureOrTimeout ? "ack" : "drop";
      default:
        return "ack";
    }
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
      for (const request of this.active) request.abandon?.();
    }
    if (!this.stopping) this.stopping = this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.unwatchConnections?.();
    await this.control?.stop().catch((err: Error) => this.logger.error(`Could not stop remote control: ${err.message}`));
    await this.consumer?.cancel();
    const giveBack: Promise<void>[] = [];
    for (const [request, timer] of this.scheduled) {
      timer.clear();
      this.unsettled++;
      giveBack.push(this.settle(request, "release"));
    }
    this.scheduled.clear();
    for (const entry of this.buckets.values()) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.timer = null;
      for (const request of entry.pending.splice(0)) giveBack.push(this.settle(request, "release"));
    }
    for (const request of this.pool.takeQueued()) giveBack.push(this.settle(request, "release"));
    await Promise.all(giveBack);
    if (this.cold) for (const request of this.active) request.abandon?.();
    await this.pool.onIdle();
    await this.executor.close();
    if (this.statedb) {
      try {
        await saveStateDb(this.statedb, this.revoked);
      } catch (err) {
        this.logger.error(`Could not save statedb ${this.statedb}: ${(err as Error).message}`);
      }
    }
    this.emit("workerShutdown", { hostname: this.hostname, cold: this.cold });
    this.unguard?.();
    this.unguard = null;
    this.logger.info(`${this.hostname} stopped.`);
  }
}

/** Signal names as Celery accepts them: "TERM", "SIGTERM", 15 → "SIGTERM". */
function normalizeSignal(signal: string | number | undefined): string {
  if (signal === undefined || signal === null || signal === "") return "SIGTERM";
  if (typeof signal === "number") {
    const name = Object.entries(osConstants.signals).find(([, n]) => n === signal)?.[0];
    return name ?? String(signal);
  }
  const upper = signal.toUpperCase();
  return upper.startsWith("SIG") ? upper : `SIG${upper}`;
}

/** Where a FAILURE for a delivery goes on rpc://: its reply_to and correlation_id. */
function replyRoute(delivery: Delivery, id: string): ResultRoute {
  const props = delivery.message.properties;
  return { replyTo: typeof props.reply_to === "string" ? props.reply_to : "", correlationId: typeof props.correlation_id === "string" ? props.correlation_id : id };
}

/** The app's signals, when the app has them (`app.signals`). */
function appSignals(app: Celery): WorkerSignals | null {
  const s = (app as unknown as { signals?: unknown }).signals;
  return s instanceof WorkerSignals ? s : null;
}
