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
import type { WorkerSignals } from "../signals";
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
  /** Between start() and stop(). */
  private running = false;

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

  /** Turn task events on or off (the enable_events / disable_events control commands). */
  setTaskEvents(on: boolean): void {
    this.taskEventsEnabled = on;
    if (this.running) this.followTasks(on);
  }

  private task(type: string, fields: Record<string, unknown>): void {
    if (this.taskEventsEnabled) void this.dispatcher.send(type, fields);
  }

  /**
   * Listen to the task signals only while task events are on: with them off (the default) the
   * worker's signals have no listener of ours, so a task costs no event fields at all.
   */
  private followTasks(on: boolean): void {
    if (!on) {
      for (const off of this.offs.splice(0)) off();
      return;
    }
    if (this.offs.length) return;
    const s = this.source.signals;
    this.offs.push(
      s.on("taskReceived", (p) => {
        const r = p.request;
        this.task("task-received", {
          uuid: p.taskId,
          name: r.name,
          args: repr(r.headers?.argsrepr, r.args),
          kwargs: repr(r.headers?.kwargsrepr, r.kwargs),
          root_id: r.rootId,
          parent_id: r.parentId,
          retries: r.retries,
          eta: r.eta ? isoformatUtc(r.eta) : null,
          expires: r.expires ? isoformatUtc(r.expires) : null,
        });
      }),
      s.on("taskPrerun", (p) => this.task("task-started", { uuid: p.taskId })),
      // runtime: the tracer's monotonic run time (Celery's T), the same number the worker logs.
      s.on("taskSuccess", (p) => this.task("task-succeeded", { uuid: p.taskId, result: safeRepr(p.result), runtime: pyFloat(p.runtime) })),
      s.on("taskFailure", (p) => {
        this.task("task-failed", { uuid: p.taskId, exception: excRepr(p.excInfo), traceback: p.traceback ?? "" });
      }),
      s.on("taskRetry", (p) => {
        this.task("task-retried", { uuid: p.taskId, exception: excRepr(errorToExceptionInfo(p.exception)), traceback: "" });
      }),
      s.on("taskRevoked", (p) => {
        this.task("task-revoked", { uuid: p.taskId, terminated: p.terminated, signum: p.terminated ? signum(p.signal) : null, expired: p.expired });
      }),
    );
  }

  async start(): Promise<void> {
    this.running = true;
    this.followTasks(this.taskEventsEnabled);
    await this.dispatcher.send("worker-online", this.workerFields(this.freq));
    this.timer = setInterval(() => this.heartbeat(), this.freq * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.running = false;
    this.followTasks(false);
    await this.dispatcher.send("worker-offline", this.workerFields(this.freq));
  }
}
