/**
 * The worker: consumes task queues with a bounded prefetch window, runs handlers with bounded
 * concurrency, acks as Celery does (on start, or after the run with acksLate), and never drops a
 * message silently.
 */
import { hostname as osHostname } from "node:os";
import type { Celery } from "../app";
import type { ResultBackend } from "../backend/types";
import type { Task } from "../client/task";
import { Logger } from "../logging";
import type { LogLevel } from "../logging";
import { buildResultMeta } from "../protocol/result-meta";
import { notRegistered, taskRevoked } from "../protocol/exceptions";
import type { WireValue } from "../protocol/message";
import type { Consumer, Delivery } from "../transport/types";
import { Pool } from "./pool";
import { createRequest } from "./request";
import type { Request } from "./request";
import { classify, etaDelay, isExpired } from "./strategy";
import { Tracer } from "./tracer";

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
  private readonly pool: Pool<Request>;
  /** Delivered, not yet settled, not ETA-held: the prefetch window. */
  private unsettled = 0;
  private readonly scheduled = new Map<Request, NodeJS.Timeout>();
  private readonly active = new Set<Request>();
  private stopping: Promise<void> | null = null;

  constructor(private readonly app: Celery, options: WorkerOptions = {}) {
    this.hostname = options.hostname ?? `celery@${osHostname()}`;
    this.queues = options.queues?.length ? options.queues : [app.conf.taskDefaultQueue];
    this.concurrency = options.concurrency ?? app.conf.workerConcurrency;
    this.prefetch = Math.max(1, (options.prefetchMultiplier ?? app.conf.workerPrefetchMultiplier) * this.concurrency);
    this.logger = options.logger ?? new Logger(options.logLevel ?? "INFO");
    this.pool = new Pool<Request>(this.concurrency, (r) => this.execute(r), () => this.consumer?.poke());
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

  /** Connect, declare the queues and start consuming. */
  async start(): Promise<void> {
    const transport = await this.app.connection();
    this.backend = await this.app.backend();
    this.tracer = new Tracer(this.app, this.backend, this.logger, this.hostname);
    for (const queue of this.queues) await transport.declareQueue({ name: queue });
    this.consumer = await transport.consume({
      queues: this.queues,
      hasCapacity: () => this.unsettled < this.prefetch,
      capacity: () => Math.max(0, this.prefetch - this.unsettled),
      onDelivery: (d) => this.onDelivery(d),
      onTransportError: (err) => this.logger.error(`Broker message could not be read: ${err.message}`),
    });
    this.logger.info(`${this.hostname} ready. Queues: ${this.queues.join(", ")}; concurrency ${this.concurrency}; tasks: ${[...this.app.tasks.keys()].join(", ")}`);
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
      this.logger.error(`Could not ${how} message of task ${request.task.name}[${request.task.id}]: ${(err as Error).message}`);
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
    const verdict = classify(delivery, this.app.conf.acceptContent, (name) => this.app.tasks.has(name));
    if (verdict.kind === "invalid") {
      this.logger.error(verdict.reason);
      void this.settleDelivery(delivery, false);
      return;
    }
    if (verdict.kind === "unregistered") {
      this.logger.error(
        `Received unregistered task of type '${verdict.name}'. The message has been ignored and discarded. (id ${verdict.id}, queue ${delivery.queue})`,
      );
      void this.storeNotRegistered(verdict.id, verdict.name, verdict.task?.group ?? null, verdict.task?.parentId ?? null);
      void this.settleDelivery(delivery, false);
      return;
    }
    const request = createRequest(verdict.task, delivery, this.hostname);
    if (this.logger.enabled("INFO")) this.logger.info(`Task ${request.task.name}[${request.task.id}] received`);
    const delay = etaDelay(request.task);
    if (delay > 0) {
      // ETA-held messages stay unacked but do not count against the prefetch window (as Celery raises QoS).
      this.unsettled--;
      this.scheduled.set(request, setTimeout(() => this.release(request), delay));
      this.consumer?.poke();
      return;
    }
    this.pool.submit(request);
  }

  private release(request: Request): void {
    this.scheduled.delete(request);
    this.unsettled++;
    this.pool.submit(request);
  }

  private async storeNotRegistered(id: string, name: string, group: string | null, parentId: string | null): Promise<void> {
    try {
      const meta = buildResultMeta({
        taskId: id,
        status: "FAILURE",
        result: notRegistered(name) as unknown as WireValue,
        traceback: null,
        groupId: group ?? undefined,
        parentId: parentId ?? undefined,
      });
      await this.backend?.store(id, meta);
    } catch (err) {
      this.logger.error(`Failed to store NotRegistered for ${name}[${id}]: ${(err as Error).message}`);
    }
  }

  private async execute(request: Request): Promise<void> {
    const task = this.app.tasks.get(request.task.task) as Task;
    const tracer = this.tracer as Tracer;
    if (isExpired(request.task)) {
      this.logger.info(`Task ${request.task.name}[${request.task.id}] expired. Discarding.`);
      await tracer.storeException(request, "REVOKED", taskRevoked("expired"));
      await this.settle(request, "ack");
      return;
    }
    const acksLate = task.options.acksLate ?? this.app.conf.taskAcksLate;
    // The ack is not awaited: commands on the broker connection stay in order, and settle() logs failures.
    if (!acksLate) void this.settle(request, "ack");
    request.timeStart = Date.now();
    this.active.add(request);
    try {
      await tracer.run(task, request);
    } finally {
      this.active.delete(request);
      this.stats.processed++;
      this.stats.total[request.task.task] = (this.stats.total[request.task.task] ?? 0) + 1;
      if (acksLate) await this.settle(request, "ack");
    }
  }

  /**
   * Warm shutdown: stop consuming, give back what has not started (ETA-held and reserved
   * messages go back to the front of their queue, as kombu's restore does), wait for running
   * tasks to finish and settle.
   */
  stop(): Promise<void> {
    if (!this.stopping) this.stopping = this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    await this.consumer?.cancel();
    const giveBack: Promise<void>[] = [];
    for (const [request, timer] of this.scheduled) {
      clearTimeout(timer);
      this.unsettled++;
      giveBack.push(this.settle(request, "release"));
    }
    this.scheduled.clear();
    for (const request of this.pool.takeQueued()) giveBack.push(this.settle(request, "release"));
    await Promise.all(giveBack);
    await this.pool.onIdle();
    this.logger.info(`${this.hostname} stopped.`);
  }
}
