/**
 * The worker's consumer (Celery's `celery/worker/consumer/consumer.py`): takes deliveries from the
 * transport within a bounded prefetch window, judges them (strategy), holds ETA tasks, applies
 * rate limits, passes due requests through the concurrency gate to the tracer, and gives back
 * what has not started when it stops. Its public methods are what the remote-control commands
 * use: add/cancel a queue, grow/shrink, set the prefetch window, rate and time limits per task,
 * and read-only views of the active, reserved and scheduled requests.
 */
import type { AppContext } from "../app-context";
import type { ResultBackend, ResultRoute } from "../backend/types";
import type { RegisteredTask, TaskOptions } from "../task-types";
import type { Logger } from "../logging";
import { notRegistered } from "../protocol/exceptions";
import type { WireValue } from "../protocol/message";
import { logText, pyRepr, pyStrRepr } from "../protocol/repr";
import { buildResultMeta } from "../protocol/result-meta";
import type { ExceptionInfo } from "../protocol/result-meta";
import type { Consumer as TransportConsumer, Delivery, QueueDeclaration, Transport } from "../transport/types";
import { ConcurrencyGate } from "./concurrency-gate";
import { EtaHolds } from "./eta-holds";
import type { ExecutionPool } from "./pools/types";
import { parseRate } from "./rate";
import { RateBuckets } from "./rate-buckets";
import { ackPolicy, Request } from "./request";
import type { RequestHooks, TimeLimits, TraceOutcome } from "./request";
import type { RevokedStamps } from "./revoked-stamps";
import type { LimitedSet } from "./state";
import { classify, decodeLimitsOf, etaDelay, isExpired } from "./strategy";
import { RunningList } from "./running-list";
import type { DecodeLimits } from "../protocol/limits";
import { taskLabel } from "./task-label";
import type { Tracer } from "./tracer";

/** Counts a worker keeps. */
export interface WorkerStats {
  /** Tasks run to completion (any outcome), by name. */
  total: Record<string, number>;
  processed: number;
}

/** Task options a worker overrides at run time (rate_limit and time_limit control commands). */
export type TaskOverrides = Pick<TaskOptions, "rateLimit" | "timeLimit" | "softTimeLimit">;

/** What a consumer is built with. */
export interface ConsumerOptions {
  /** Node name `name@host`. */
  hostname: string;
  /** Queues to consume. */
  queues: readonly string[];
  /** Handlers running at once (a request whose handler is done gives its slot to the next while its outcome is stored). */
  concurrency: number;
  /** The prefetch window is prefetchMultiplier × concurrency (at least 1). */
  prefetchMultiplier: number;
  logger: Logger;
  /** Where handlers run. */
  executor: ExecutionPool;
  /** Revoked ids and stamps of the worker. */
  revoked: LimitedSet;
  revokedStamps: RevokedStamps;
  /** The worker's counts, kept up to date. */
  stats: WorkerStats;
  /** A request was received (the taskReceived signal). */
  onReceived(request: Request): void;
  /** Send a task event the worker raises itself (task-failed, task-rejected) when task events are on. */
  taskEvent(type: string, fields: Record<string, unknown>): void;
}

/** What the consumer runs on once the worker is connected. */
export interface ConsumerConnection {
  transport: Transport;
  backend: ResultBackend;
  tracer: Tracer;
}

/** Celery's consumer: the worker's flow of messages, with a public API for remote control. */
export class Consumer {
  private readonly gate: ConcurrencyGate<Request>;
  private readonly holds: EtaHolds;
  private readonly buckets: RateBuckets;
  private readonly running = new RunningList<Request>();
  private readonly queueNames: string[];
  private readonly overrides = new Map<string, TaskOverrides>();
  private readonly hooks: RequestHooks;
  private readonly logger: Logger;
  private connection: ConsumerConnection | null = null;
  private transportConsumer: TransportConsumer | null = null;
  /** The prefetch window: unacked messages held, ETA-held ones aside. */
  private window: number;
  /** Counted against the window: delivered, not yet settled, not ETA-held; or settled early and its outcome still being stored (see execute). */
  private unsettled = 0;
  private closed = false;
  private cold = false;
  private limits: DecodeLimits | null = null;

  constructor(private readonly app: AppContext, private readonly options: ConsumerOptions) {
    this.logger = options.logger;
    this.queueNames = [...options.queues];
    this.window = Math.max(1, options.prefetchMultiplier * options.concurrency);
    this.gate = new ConcurrencyGate<Request>(options.concurrency, (r, release, settled) => this.execute(r, release, settled), () => this.poke());
    this.holds = new EtaHolds(() => this.syncBrokerPrefetch());
    this.buckets = new RateBuckets((name) => this.rateOf(name), (r) => this.gate.submit(r));
    this.hooks = {
      leaving: () => void this.unsettled--,
      settled: () => this.poke(),
      taskEvent: (type, fields) => options.taskEvent(type, fields),
      logger: this.logger,
    };
  }

  // ---- read-only views

  /** Queues consumed now. */
  get queues(): readonly string[] {
    return this.queueNames;
  }

  /** Requests allowed to run at once (changed by grow/shrink/resize). */
  get concurrency(): number {
    return this.gate.size;
  }

  /** The prefetch window: unacked messages the consumer holds at most, ETA-held ones aside. */
  get prefetch(): number {
    return this.window;
  }

  /** Requests running now. */
  get active(): readonly Request[] {
    return this.running.toArray();
  }

  /** Requests received and waiting for a free slot. */
  get reserved(): readonly Request[] {
    return this.gate.queued;
  }

  /** Requests waiting for their task's rate limit. */
  get rateLimited(): readonly Request[] {
    return this.buckets.pending;
  }

  /** Requests waiting for their ETA. */
  get scheduled(): readonly Request[] {
    return this.holds.requests;
  }

  /** This worker's overrides of a task's options (set by setRateLimit / setTimeLimits); empty when none. */
  taskOverrides(name: string): Readonly<TaskOverrides> {
    return { ...this.overrides.get(name) };
  }

  // ---- control

  /**
   * Consume one more queue (Celery `add_consumer`): declared first (when connected; otherwise at
   * start). Resolves false when the queue is consumed already.
   */
  async addQueue(queue: QueueDeclaration): Promise<boolean> {
    if (this.queueNames.includes(queue.name)) return false;
    await this.connection?.transport.declareQueue(queue);
    this.queueNames.push(queue.name);
    this.transportConsumer?.addQueue(queue.name);
    return true;
  }

  /** Stop consuming a queue (Celery `cancel_consumer`); messages delivered from it already still run. False when not consumed. */
  cancelQueue(queue: string): boolean {
    const i = this.queueNames.indexOf(queue);
    if (i < 0) return false;
    this.queueNames.splice(i, 1);
    this.transportConsumer?.removeQueue(queue);
    return true;
  }

  /**
   * Let `size` requests run at once (at least 1). The threads pool has a fixed number of threads,
   * so there this does nothing and returns false; prefork starts or stops children. The prefetch
   * window is left as it is (`setPrefetch` changes it).
   */
  resize(size: number): boolean {
    const n = Math.max(1, size);
    if (!this.options.executor.resize(n)) return false;
    this.gate.resize(n);
    return true;
  }

  /** Celery `pool_grow`: `n` more requests may run at once (see `resize`). */
  grow(n: number): boolean {
    return this.resize(this.gate.size + n);
  }

  /** Celery `pool_shrink`: `n` fewer requests may run at once, never fewer than 1 (see `resize`). */
  shrink(n: number): boolean {
    return this.resize(this.gate.size - n);
  }

  /** Hold at most `count` unacked messages (at least 1; ETA-held ones aside), as Celery's qos does. */
  setPrefetch(count: number): void {
    this.window = Math.max(1, count);
    this.syncBrokerPrefetch();
    this.poke();
  }

  /**
   * Change a task's rate limit on this worker (Celery `rate_limit`): "10/s", "100/m", "1000/h" or
   * tasks/s; null or 0 removes it. Throws on an invalid rate. Requests waiting for the old rate
   * are admitted again under the new one.
   */
  setRateLimit(name: string, rate: string | number | null): void {
    parseRate(rate);
    this.override(name, { rateLimit: rate });
    this.buckets.reset(name);
  }

  /**
   * Change a task's time limits on this worker (Celery `time_limit`), in seconds; null removes the
   * task's own limit (the app's task_time_limit / task_soft_time_limit still apply). A message's
   * own `timelimit` header still wins. Runs that started already keep their limits.
   */
  setTimeLimits(name: string, soft: number | null, hard: number | null): void {
    this.override(name, { softTimeLimit: soft, timeLimit: hard });
  }

  /**
   * Revoke: ETA-held requests now revoked are discarded at once (REVOKED stored, message acked)
   * instead of holding their message until the ETA, which may be weeks away. Celery keeps them in
   * its timer and discards them when the ETA comes; the stored outcome is the same, only sooner.
   */
  discardRevokedHolds(): void {
    const { revoked, revokedStamps } = this.options;
    this.holds.take(
      (r) => revoked.has(r.task.id) || revokedStamps.match(r.task) !== null,
      (r) => this.due(r),
    );
  }

  // ---- lifecycle

  /** Declare the queues and start consuming on `connection` (the worker's start). @internal */
  async start(connection: ConsumerConnection): Promise<void> {
    this.connection = connection;
    const { transport } = connection;
    for (const queue of this.queueNames) await transport.declareQueue({ name: queue });
    this.transportConsumer = await transport.consume({
      queues: [...this.queueNames],
      prefetch: this.window,
      hasCapacity: () => this.unsettled < this.window,
      capacity: () => Math.max(0, this.window - this.unsettled),
      onDelivery: (d) => this.onDelivery(d),
      onTransportError: (err) => this.logger.error(`Broker message could not be read: ${err.message}`),
    });
  }

  /** From now on every delivery is given back untouched: the worker is stopping. */
  close(): void {
    this.closed = true;
  }

  /**
   * Cold shutdown: stop waiting for running requests (nothing is stored for them; acksLate
   * messages go back) and give back any request about to start.
   */
  abandon(): void {
    this.cold = true;
    for (const request of this.running) request.abandon();
  }

  /**
   * Stop consuming, give back what has not started (ETA-held, rate-limited and reserved messages
   * go back to the front of their queue, as kombu's restore does) and wait for running requests
   * to finish and settle.
   */
  async stop(): Promise<void> {
    this.close();
    await this.transportConsumer?.cancel();
    const giveBack: Promise<void>[] = [];
    for (const request of this.holds.takeAll()) {
      this.unsettled++;
      giveBack.push(request.settle("release"));
    }
    for (const request of this.buckets.takeAll()) giveBack.push(request.settle("release"));
    for (const request of this.gate.takeQueued()) giveBack.push(request.settle("release"));
    await Promise.all(giveBack);
    if (this.cold) for (const request of this.running) request.abandon();
    await this.gate.onIdle();
  }

  // ---- the flow of one message

  private poke(): void {
    this.transportConsumer?.poke();
  }

  private override(name: string, fields: TaskOverrides): void {
    this.overrides.set(name, { ...this.overrides.get(name), ...fields });
  }

  /** A task's rate in tasks/s (0: none): this worker's override, else the task's, else the app's default. */
  private rateOf(name: string): number {
    const override = this.overrides.get(name);
    if (override && "rateLimit" in override) return parseRate(override.rateLimit);
    return parseRate(this.app.tasks.get(name)?.options.rateLimit ?? this.app.conf.taskDefaultRateLimit ?? null);
  }

  /** A task's time limits: this worker's override, else the task's, else the app's settings. */
  private timeLimitsOf(name: string, task: RegisteredTask): TimeLimits {
    const override = this.overrides.get(name);
    const hard = override && "timeLimit" in override ? override.timeLimit : task.options.timeLimit;
    const soft = override && "softTimeLimit" in override ? override.softTimeLimit : task.options.softTimeLimit;
    return {
      hard: hard || this.app.conf.taskTimeLimit || null,
      soft: soft || this.app.conf.taskSoftTimeLimit || null,
    };
  }

  private readonly isRegistered = (name: string): boolean => this.app.tasks.has(name);

  /** The decode limits of the current settings (one object while they stay the same). */
  private decodeLimits(): DecodeLimits {
    const conf = this.app.conf;
    const last = this.limits;
    if (last && last.maxMessageSize === conf.workerMaxMessageSize && last.maxNestingDepth === conf.workerMaxNestingDepth) return last;
    return (this.limits = decodeLimitsOf(conf));
  }

  /** Reject a delivery that never became a request (invalid, unregistered), not requeued. */
  private rejectDelivery(delivery: Delivery): Promise<void> {
    return this.dropDelivery(delivery, "reject");
  }

  /** Settle a delivery that never became a request: reject (not requeued), or ack (a refused signed body, as Celery). */
  private async dropDelivery(delivery: Delivery, how: "ack" | "reject"): Promise<void> {
    this.unsettled--;
    try {
      await (how === "ack" ? delivery.ack() : delivery.reject(false));
    } catch (err) {
      this.logger.error(`Could not ${how} message from queue ${delivery.queue}: ${(err as Error).message}`);
    }
    this.poke();
  }

  private onDelivery(delivery: Delivery): void {
    this.unsettled++;
    const conf = this.app.conf;
    const verdict = classify(delivery, conf.acceptContent, this.isRegistered, this.decodeLimits(), this.app.security);
    if (verdict.kind === "invalid") {
      this.logger.log(verdict.level ?? "ERROR", verdict.reason);
      if (verdict.failure) void this.storeFailure(verdict.failure.id, verdict.failure.exc, null, null, replyRoute(delivery, verdict.failure.id));
      void this.dropDelivery(delivery, verdict.settle ?? "reject");
      return;
    }
    if (verdict.kind === "unregistered") {
      this.logger.error(
        `Received unregistered task of type '${logText(verdict.name)}'. The message has been ignored and discarded. (id ${logText(verdict.id)}, queue ${delivery.queue})`,
      );
      // As Celery's on_unknown_task: the FAILURE goes to the message's reply_to / correlation_id (rpc://).
      void this.storeFailure(verdict.id, notRegistered(verdict.name), verdict.task?.group ?? null, verdict.task?.parentId ?? null, replyRoute(delivery, verdict.id));
      void this.rejectDelivery(delivery);
      // Celery's on_unknown_task: task-failed with only uuid and exception (no traceback).
      this.options.taskEvent("task-failed", { uuid: verdict.id, exception: `NotRegistered(${pyStrRepr(verdict.name)})` });
      return;
    }
    const request = new Request(verdict.task, delivery, this.options.hostname, this.hooks);
    if (this.closed) {
      // Fetched while stopping: give it back untouched.
      void request.settle("release");
      return;
    }
    if (this.logger.enabled("DEBUG")) this.logger.debug(`Received message of task ${taskLabel(request.task)}: ${receivedProperties(delivery)}`);
    if (this.logger.enabled("INFO")) this.logger.info(`Task ${taskLabel(request.task)} received`, { taskId: request.task.id, taskName: request.task.task });
    this.options.onReceived(request);
    if (this.isRevoked(request)) {
      void this.discardRevoked(request);
      return;
    }
    const delay = etaDelay(request.task);
    if (delay > 0) {
      this.warnLongEta(request, delay);
      // ETA-held messages stay unacked but do not count against the prefetch window (as Celery raises QoS).
      this.unsettled--;
      this.holds.hold(request, delay, (r) => this.due(r));
      this.poke();
      return;
    }
    this.buckets.admit(request);
  }

  /** Redis keeps an ETA task unacked while it waits: past the visibility timeout it is delivered again. */
  private warnLongEta(request: Request, delayMs: number): void {
    if (this.connection?.transport.name !== "redis") return;
    const visibility = this.app.conf.brokerTransportOptions.visibilityTimeout ?? 3600;
    if (delayMs / 1000 <= visibility) return;
    this.logger.warn(
      `Task ${taskLabel(request.task)} has an ETA ${Math.round(delayMs / 1000)}s away, longer than the broker's visibility_timeout (${visibility}s): ` +
        `Redis will deliver it again to another worker after the visibility timeout (duplicate execution). Raise broker_transport_options visibility_timeout.`,
    );
  }

  /** AMQP counts held ETA messages against basic.qos: raise it by one per held message, as Celery does. */
  private syncBrokerPrefetch(): void {
    this.transportConsumer?.setPrefetch?.(this.window + this.holds.size);
  }

  /** An ETA-held request left the holds: it counts against the window again and is judged once more. */
  private due(request: Request): void {
    this.unsettled++;
    if (this.isRevoked(request)) {
      void this.discardRevoked(request);
      return;
    }
    this.buckets.admit(request);
  }

  private isRevoked(request: Request): boolean {
    return request.isRevoked(this.options.revoked, this.options.revokedStamps);
  }

  private async discardRevoked(request: Request): Promise<void> {
    const t = request.task;
    // Expiry is permanent once passed, so it is re-derived here (checked first, as Celery does).
    // Celery logs expired and revoked tasks alike; only a stamp match names its header.
    const expired = isExpired(t);
    const stamp = expired || this.options.revoked.has(t.id) ? null : this.options.revokedStamps.match(t);
    const by = stamp ? ` (revoked by header: {${pyRepr(stamp.header)}: ${pyRepr(stamp.value)}})` : "";
    this.logger.info(`Discarding revoked task: ${taskLabel(t)}${by}`);
    await this.connection?.tracer.revoked(this.app.tasks.get(t.task), request, expired ? "expired" : "revoked");
    await request.settle("ack");
  }

  /** FAILURE for a message that never ran (NotRegistered, refused over the limits). */
  private async storeFailure(id: string, exc: ExceptionInfo, group: string | null, parentId: string | null, route: ResultRoute): Promise<void> {
    try {
      const result: WireValue = { ...exc };
      const meta = buildResultMeta({ taskId: id, status: "FAILURE", result, traceback: null, groupId: group ?? undefined, parentId: parentId ?? undefined });
      await this.connection?.backend.store(id, meta, route);
    } catch (err) {
      this.logger.error(`Failed to store ${exc.exc_type} for task ${logText(id)}: ${(err as Error).message}`);
    }
  }

  /**
   * Run a request the gate let through. Its slot goes to the next request once the handler is
   * done (`release`), before the outcome is stored and (acks_late) acked: a prefork or thread child
   * gets its next job at once, and on the event loop the next handler runs while this outcome is
   * on its way to the backend (held slots would bound the stores per backend round trip by -c).
   * From then until it settles the request counts against the prefetch window again (an early ack
   * took it out), so what the worker holds stays bounded by the window. The event loop with -c 1
   * holds the slot until the request settles: one task at a time, signals included (postrun
   * before the next prerun), as a Celery pool process does.
   */
  private execute(request: Request, gateRelease: () => void, settled: () => void): void {
    let outstanding = false;
    const serial = this.options.executor.kind === "eventloop" && this.gate.size === 1;
    const release = (): void => {
      if (serial || outstanding) return;
      outstanding = request.acknowledged;
      if (outstanding) this.unsettled++;
      gateRelease();
    };
    const task = this.app.tasks.get(request.task.task) as RegisteredTask;
    const tracer = (this.connection as ConsumerConnection).tracer;
    if (this.cold) {
      request.settle("release").then(settled, settled);
      return;
    }
    if (this.isRevoked(request)) {
      this.discardRevoked(request).then(settled, settled);
      return;
    }
    const policy = ackPolicy(task.options, this.app.conf);
    request.begin(policy);
    this.running.add(request);
    const done = (): void => {
      if (outstanding) this.unsettled--; // the gate pokes the transport once this settles
      settled();
    };
    // Chained, not awaited in an async function: one promise per run instead of three (with
    // async_hooks on, every promise costs). The trace never rejects; if it did, FAILURE is counted.
    const after = (outcome: TraceOutcome): void => {
      try {
        this.running.delete(request);
        if (outcome !== "ABANDONED") {
          const stats = this.options.stats;
          stats.processed++;
          stats.total[request.task.task] = (stats.total[request.task.task] ?? 0) + 1;
        }
      } finally {
        // settled whatever happened above: the gate never loses a slot
        if (policy.acksLate) request.finish(outcome, policy).then(done, done);
        else done();
      }
    };
    let traced: Promise<TraceOutcome>;
    try {
      traced = tracer.run(task, request, this.options.executor, request.timeLimits(this.timeLimitsOf(request.task.task, task)), release);
    } catch {
      after("FAILURE");
      return;
    }
    traced.then(after, () => after("FAILURE"));
  }
}

/** Where a FAILURE for a delivery goes on rpc://: its reply_to and correlation_id. */
function replyRoute(delivery: Delivery, id: string): ResultRoute {
  const props = delivery.message.properties;
  return { replyTo: typeof props.reply_to === "string" ? props.reply_to : "", correlationId: typeof props.correlation_id === "string" ? props.correlation_id : id };
}

/** The `-l debug` view of a received message: where it came from and its properties (Python's repr). */
function receivedProperties(delivery: Delivery): string {
  const { message } = delivery;
  const props: { [k: string]: WireValue } = {};
  for (const [k, v] of Object.entries(message.properties)) if (v !== undefined && k !== "body_encoding") props[k] = v;
  const fields: { [k: string]: WireValue } = {
    queue: delivery.queue,
    exchange: delivery.exchange,
    routing_key: delivery.routingKey,
    redelivered: delivery.redelivered,
    content_type: message.contentType,
    content_encoding: message.contentEncoding,
    properties: props,
  };
  return pyRepr(fields);
}
