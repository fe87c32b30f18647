/**
 * A worker's events (docs/protocol.md §11.3): worker-online at start, worker-heartbeat every `freq` seconds,
 * worker-offline at stop (always, as Celery's heartbeat), and — when task events are enabled
 * (`-E`, `workerSendTaskEvents`, `enable_events`) — task-received/started/succeeded/failed/
 * retried/revoked from the worker's signals.
 */
import { constants as osConstants, loadavg } from "node:os";
import { errorToExceptionInfo, excRepr } from "../protocol/exceptions";
import { isoformatUtc } from "../protocol/isotime";
import { safeRepr } from "../protocol/repr";
import { pyFloat } from "../protocol/serializers/json";
import type { WorkerEventMap, WorkerEventName, WorkerSignals } from "../signals";
import type { EventDispatcher } from "./dispatcher";

export const SOFTWARE_INFO = { sw_ident: "celeriac", sw_ver: "0.1.0", sw_sys: process.platform === "linux" ? "Linux" : process.platform === "darwin" ? "Darwin" : process.platform };

/** The load average rounded UP to 2 decimals (Celery's heartbeat). */
export function roundedLoadavg(values: number[] = loadavg()): number[] {
  return values.slice(0, 3).map((v) => Math.ceil(v * 100 - 1e-9) / 100);
}

export interface WorkerEventSource {
  signals: WorkerSignals;
  activeCount(): number;
  processed(): number;
}

export interface WorkerEventOptions {
  /** Task events on at start. */
  taskEvents: boolean;
  /** Heartbeat interval in seconds (default 2). */
  freq?: number;
}

function signum(signal: string | null): number | string | null {
  if (!signal) return null;
  const n = (osConstants.signals as Record<string, number>)[signal];
  return n ?? signal;
}

function repr(value: unknown, fallback: unknown): string {
  return typeof value === "string" ? value : safeRepr(fallback);
}

export class WorkerEventPublisher {
  taskEventsEnabled: boolean;
  readonly freq: number;
  private timer: NodeJS.Timeout | null = null;
  private offs: Array<() => void> = [];

  constructor(private readonly dispatcher: EventDispatcher, private readonly source: WorkerEventSource, options: WorkerEventOptions) {
    this.taskEventsEnabled = options.taskEvents;
    this.freq = options.freq ?? 2;
  }

  private workerFields(freq: number): Record<string, unknown> {
    return {
      freq: pyFloat(freq),
      active: this.source.activeCount(),
      processed: this.source.processed(),
      loadavg: roundedLoadavg(),
      ...SOFTWARE_INFO,
    };
  }

  /** Send a worker-heartbeat now (the `heartbeat` control command uses freq 5). */
  heartbeat(freq: number = this.freq): void {
    void this.dispatcher.send("worker-heartbeat", this.workerFields(freq));
  }

  setTaskEvents(on: boolean): void {
    this.taskEventsEnabled = on;
  }

  /**
   * Send task event `type` on every `signal` while task events are on; its fields are built only
   * then (with events off, the default, a task costs no repr of its result).
   */
  private taskEvent<K extends WorkerEventName>(signal: K, type: string, fields: (payload: WorkerEventMap[K]) => Record<string, unknown>): () => void {
    return this.source.signals.on(signal, (p) => {
      if (this.taskEventsEnabled) void this.dispatcher.send(type, fields(p));
    });
  }

  async start(): Promise<void> {
    this.offs.push(
      this.taskEvent("taskReceived", "task-received", (p) => {
        const r = p.request;
        return {
          uuid: p.taskId,
          name: r.name,
          args: repr(r.headers?.argsrepr, r.args),
          kwargs: repr(r.headers?.kwargsrepr, r.kwargs),
          root_id: r.rootId,
          parent_id: r.parentId,
          retries: r.retries,
          eta: r.eta ? isoformatUtc(r.eta) : null,
          expires: r.expires ? isoformatUtc(r.expires) : null,
        };
      }),
      this.taskEvent("taskPrerun", "task-started", (p) => ({ uuid: p.taskId })),
      // runtime: the tracer's monotonic run time (Celery's T), the same number the worker logs.
      this.taskEvent("taskSuccess", "task-succeeded", (p) => ({ uuid: p.taskId, result: safeRepr(p.result), runtime: pyFloat(p.runtime) })),
      this.taskEvent("taskFailure", "task-failed", (p) => ({ uuid: p.taskId, exception: excRepr(p.excInfo), traceback: p.traceback ?? "" })),
      this.taskEvent("taskRetry", "task-retried", (p) => ({ uuid: p.taskId, exception: excRepr(errorToExceptionInfo(p.exception)), traceback: "" })),
      this.taskEvent("taskRevoked", "task-revoked", (p) => ({ uuid: p.taskId, terminated: p.terminated, signum: p.terminated ? signum(p.signal) : null, expired: p.expired })),
    );
    await this.dispatcher.send("worker-online", this.workerFields(this.freq));
    this.timer = setInterval(() => this.heartbeat(), this.freq * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const off of this.offs.splice(0)) off();
    await this.dispatcher.send("worker-offline", this.workerFields(this.freq));
  }
}
