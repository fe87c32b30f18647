/**
 * A worker's Prometheus metrics, named and labelled as danihodovic/celery-exporter names them (its
 * src/exporter.py), so that its Grafana dashboards and alerts work on a celeriac worker's own
 * `/metrics` unchanged:
 *
 * - `celery_task_{sent,received,started,succeeded,failed,rejected,revoked,retried}_total`
 *   by `name`, `hostname`, `queue_name` (`failed` also by `exception`, the class name). As the
 *   exporter does, every event of a task also makes the other counters of its labels visible at 0
 *   (not `sent`); `sent` counts the tasks this worker publishes (from its handlers, retries).
 * - `celery_task_runtime` histogram (seconds, Celery's runtime of a succeeded task; the Python
 *   client's default buckets), same labels.
 * - `celery_worker_up` and `celery_worker_tasks_active` by `hostname`.
 * - `celery_queue_length` by `queue_name`: the queues this worker consumes, read from the broker
 *   at each scrape.
 * - Node's process metrics (prom-client's default metrics).
 *
 * `hostname` is the part of the node name after `@` (the exporter's `get_hostname`); `queue_name`
 * the routing key the message came with (the queue for Celery's direct routes).
 */
import type { ExceptionInfo } from "../../protocol/result-meta";
import type { RequestInfo } from "../../task-types";
import type { WorkerSignals } from "../../signals";
import type { Labels, PromClient, PromCounter, PromRegistry } from "./prom";

/** prometheus_client's `Histogram.DEFAULT_BUCKETS` (the exporter's default), +Inf implied. */
const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const COUNTERS = {
  sent: "Sent when a task message is published.",
  received: "Sent when the worker receives a task.",
  started: "Sent just before the worker executes the task.",
  succeeded: "Sent if the task executed successfully.",
  failed: "Sent if the execution of the task failed.",
  rejected: "The task was rejected by the worker, possibly to be re-queued or moved to a dead letter queue.",
  revoked: "Sent if the task has been revoked.",
  retried: "Sent if the task failed, but will be retried in the future.",
} as const;

/** A task event the counters follow. */
export type TaskEventKind = keyof typeof COUNTERS;

/** The host part of a Celery node name (`celery@host` → `host`), as the exporter labels workers. */
export function hostLabel(nodename: string): string {
  const at = nodename.indexOf("@");
  return at < 0 ? nodename : nodename.slice(at + 1);
}

/** The exporter's `get_exception_class_name` of a stored exception: its type name. */
function exceptionLabel(info: ExceptionInfo | null): string {
  return info?.exc_type || "UnknownException";
}

/** What the metrics read from the worker at scrape time. */
export interface WorkerGauges {
  /** Tasks running now. */
  active(): number;
  /** The queues consumed now. */
  queues(): readonly string[];
  /** Messages waiting in a queue, or null when it cannot be read now. */
  queueLength(queue: string): Promise<number | null>;
  /** The worker is up (started and not stopped). */
  up(): boolean;
}

/** The registry of one worker's metrics, fed by its signals. */
export class TaskMetrics {
  /** The registry `/metrics` serves (add your own metrics to it). */
  readonly registry: PromRegistry;
  private readonly counters: Record<TaskEventKind, PromCounter>;
  private readonly host: string;
  private readonly runtime: { observe(labels: Labels, value: number): void };

  constructor(prom: PromClient, nodename: string, gauges: WorkerGauges) {
    this.registry = new prom.Registry();
    const registers = [this.registry];
    this.host = hostLabel(nodename);
    const host = this.host;
    const labelNames = ["name", "hostname", "queue_name"];
    const counters = {} as Record<TaskEventKind, PromCounter>;
    for (const [kind, help] of Object.entries(COUNTERS) as Array<[TaskEventKind, string]>) {
      counters[kind] = new prom.Counter({ name: `celery_task_${kind}_total`, help, labelNames: kind === "failed" ? [...labelNames, "exception"] : labelNames, registers });
    }
    this.counters = counters;
    this.runtime = new prom.Histogram({ name: "celery_task_runtime", help: "Histogram of task runtime measurements.", labelNames, registers, buckets: DEFAULT_BUCKETS });
    new prom.Gauge({
      name: "celery_worker_up",
      help: "Indicates if a worker has recently sent a heartbeat.",
      labelNames: ["hostname"],
      registers,
      collect() {
        this.set({ hostname: host }, gauges.up() ? 1 : 0);
      },
    });
    new prom.Gauge({
      name: "celery_worker_tasks_active",
      help: "The number of tasks the worker is currently processing",
      labelNames: ["hostname"],
      registers,
      collect() {
        this.set({ hostname: host }, gauges.active());
      },
    });
    new prom.Gauge({
      name: "celery_queue_length",
      help: "The number of message in broker queue.",
      labelNames: ["queue_name"],
      registers,
      async collect() {
        this.reset();
        const queues = gauges.queues();
        const lengths = await Promise.all(queues.map((q) => gauges.queueLength(q)));
        queues.forEach((q, i) => {
          const n = lengths[i];
          if (n !== null) this.set({ queue_name: q }, n);
        });
      },
    });
    prom.collectDefaultMetrics({ register: this.registry });
  }

  /** Count one task event, and make the other counters of its labels visible (the exporter's `inc(0)`). */
  count(kind: TaskEventKind, name: string, queue: string, exception: ExceptionInfo | null = null): void {
    const labels = { name, hostname: this.host, queue_name: queue };
    if (kind === "sent") {
      this.counters.sent.inc(labels);
      return;
    }
    for (const [k, counter] of Object.entries(this.counters) as Array<[TaskEventKind, PromCounter]>) {
      if (k === "sent") continue;
      const l = k === "failed" ? { ...labels, exception: k === kind ? exceptionLabel(exception) : "" } : labels;
      counter.inc(l, k === kind ? 1 : 0);
    }
  }

  /** A task succeeded in `seconds` (Celery's runtime). */
  observeRuntime(name: string, queue: string, seconds: number): void {
    this.runtime.observe({ name, hostname: this.host, queue_name: queue }, seconds);
  }

  /** Follow the worker's task signals (and the app's publish signal for `sent`); returns the removal. */
  follow(signals: WorkerSignals, appSignals: WorkerSignals): () => void {
    const q = (r: RequestInfo) => r.deliveryInfo.routingKey;
    const offs = [
      signals.on("taskReceived", (e) => this.count("received", e.task, q(e.request))),
      signals.on("taskPrerun", (e) => this.count("started", e.task, q(e.request))),
      signals.on("taskSuccess", (e) => {
        this.count("succeeded", e.task, q(e.request));
        this.observeRuntime(e.task, q(e.request), e.runtime);
      }),
      signals.on("taskFailure", (e) => this.count("failed", e.task, q(e.request), e.excInfo)),
      signals.on("taskRetry", (e) => this.count("retried", e.task, q(e.request))),
      signals.on("taskRevoked", (e) => this.count("revoked", e.task, q(e.request))),
      appSignals.on("afterTaskPublish", (e) => this.count("sent", e.sender, e.routingKey)),
    ];
    return () => offs.forEach((off) => off());
  }
}
