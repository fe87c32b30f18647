/**
 * A worker's metrics port (`celeriac worker --metrics-port N`, `WorkerOptions.metricsPort`):
 * `/metrics` (task-metrics.ts, Prometheus text), `/healthz` (liveness: the event loop is not
 * blocked beyond `maxBlockedSeconds`) and `/readyz` (readiness: connected to the broker and the
 * result backend, and consuming), served by a worker thread (http-thread.ts) so that `/healthz`
 * says 503 while the event loop is blocked instead of not answering. The main thread writes a
 * heartbeat and its readiness into memory shared with that thread, and answers `/metrics` itself.
 */
import { Worker as Thread } from "node:worker_threads";
import type { ResultBackend } from "../../backend/types";
import type { ConnectionStateEvent } from "../../connectivity/state";
import type { Transport } from "../../transport/types";
import { BEAT, HTTP_THREAD, READY } from "./http-thread";
import { loadPromClient } from "./prom";
import { TaskMetrics } from "./task-metrics";
import type { WorkerGauges } from "./task-metrics";

/** Options of the metrics port. */
export interface MetricsServerOptions {
  /** The port (0: any free port; `MetricsServer.port` tells which). */
  port: number;
  /** The address to listen on (default: every interface). */
  host?: string;
  /** `/healthz` is 503 once the event loop has not turned for this many seconds (default 10). */
  maxBlockedSeconds?: number;
}

const HEARTBEAT_MS = 250;

/** The metrics port of one worker. */
export class MetricsServer {
  /** The worker's metrics (`metrics.registry` is what `/metrics` serves). */
  readonly metrics: TaskMetrics;
  /** The port listened on, once started. */
  port: number | null = null;
  private readonly state = new BigInt64Array(new SharedArrayBuffer(16));
  private thread: Thread | null = null;
  private beat: NodeJS.Timeout | null = null;
  private consuming = false;
  private stopping = false;
  private brokerDown: string | null = null;
  private backendDown: string | null = null;
  private unwatch: (() => void) | null = null;

  constructor(nodename: string, gauges: WorkerGauges, private readonly options: MetricsServerOptions) {
    this.metrics = new TaskMetrics(loadPromClient(), nodename, gauges);
  }

  /** Start the thread and listen; rejects when the port cannot be listened on. */
  async start(): Promise<void> {
    this.heartbeat();
    this.beat = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
    this.beat.unref();
    const thread = new Thread(HTTP_THREAD, {
      eval: true,
      workerData: { host: this.options.host, port: this.options.port, maxBlockedMs: (this.options.maxBlockedSeconds ?? 10) * 1000, state: this.state.buffer },
    });
    this.thread = thread;
    thread.unref();
    await new Promise<void>((resolve, reject) => {
      thread.once("error", reject);
      thread.on("message", (m: { type: string; id?: number; port?: number; message?: string }) => {
        if (m.type === "listening") {
          this.port = m.port ?? null;
          resolve();
        } else if (m.type === "error") reject(new Error(`cannot serve metrics on port ${this.options.port}: ${m.message}`));
        else if (m.type === "metrics") this.answerMetrics(m.id ?? -1);
      });
    }).catch(async (err: unknown) => {
      await this.stop();
      throw err;
    });
    this.publishReadiness();
  }

  private heartbeat(): void {
    Atomics.store(this.state, BEAT, BigInt(Date.now()));
  }

  private answerMetrics(id: number): void {
    const registry = this.metrics.registry;
    registry.metrics().then(
      (body) => this.thread?.postMessage({ type: "metrics", id, body, contentType: registry.contentType }),
      (err: unknown) => this.thread?.postMessage({ type: "metrics", id, error: err instanceof Error ? err.message : String(err) }),
    );
  }

  /** Follow the broker's and the backend's connection state (lost → not ready, connected → ready again). */
  watch(transport: Transport, backend: ResultBackend): void {
    const follow = (set: (down: string | null) => void) => (e: ConnectionStateEvent) => {
      set(e.state === "connected" ? null : `${e.url}: ${e.reason}`);
      this.publishReadiness();
    };
    const offs = [
      transport.onConnectionState?.(follow((d) => (this.brokerDown = d && `broker connection lost (${d})`))),
      backend.onConnectionState?.(follow((d) => (this.backendDown = d && `result backend connection lost (${d})`))),
    ];
    this.unwatch = () => offs.forEach((off) => off?.());
  }

  /** The worker consumes (true, once ready) or stopped consuming (false, shutting down). */
  setConsuming(on: boolean): void {
    this.consuming = on;
    if (!on) this.stopping = true;
    this.publishReadiness();
  }

  /** Why the worker is not ready, or null when it is. */
  notReadyReason(): string | null {
    if (this.stopping) return "shutting down";
    if (!this.consuming) return "starting";
    return this.brokerDown ?? this.backendDown;
  }

  private publishReadiness(): void {
    const reason = this.notReadyReason();
    Atomics.store(this.state, READY, reason === null ? 1n : 0n);
    this.thread?.postMessage({ type: "reason", reason: reason ?? "" });
  }

  /** Stop listening. */
  async stop(): Promise<void> {
    this.unwatch?.();
    this.unwatch = null;
    if (this.beat) clearInterval(this.beat);
    this.beat = null;
    const thread = this.thread;
    this.thread = null;
    if (thread) await thread.terminate();
  }
}
