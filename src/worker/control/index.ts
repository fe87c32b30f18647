/**
 * Starts a worker's remote control (pidbox) and events; `worker.ts` calls `startWorkerControl`
 * once consuming and `stop()` at shutdown.
 */
import type { Celery } from "../../app";
import { LamportClock } from "../../events/clock";
import { EventDispatcher } from "../../events/dispatcher";
import { WorkerEventPublisher } from "../../events/worker";
import type { Logger } from "../../logging";
import type { SerializerName } from "../../protocol/serializers";
import type { Transport } from "../../transport/types";
import type { Worker } from "../worker";
import type { ControlState } from "./commands";
import { WorkerPidbox } from "./pidbox";

export { HANDLERS, requestInfo, queueDict, ControlError } from "./commands";
export type { ControlState, ControlHandler } from "./commands";
export { WorkerPidbox, matchNode, globToRegExp, isForNode, errorRepr } from "./pidbox";
export { PIDBOX_EXCHANGE, REPLY_EXCHANGE } from "../../protocol/exchanges";

export interface WorkerControlOptions {
  /** Listen on the pidbox (Celery worker_enable_remote_control, default true). */
  remoteControl?: boolean;
  /** Task events (-E / workerSendTaskEvents). */
  sendTaskEvents?: boolean;
  /** Worker heartbeat/online/offline events (default true, as Celery without --without-heartbeat). */
  heartbeat?: boolean;
  /** Heartbeat interval, seconds (default 2). */
  heartbeatInterval?: number;
}

export interface WorkerControlHandle {
  readonly clock: LamportClock;
  readonly events: WorkerEventPublisher | null;
  readonly pidbox: WorkerPidbox | null;
  /**
   * Send a task event the worker itself raises (task-rejected, task-failed for an unknown task)
   * when task events are on (-E / enable_events), as Celery's `Request.send_event`.
   */
  taskEvent(type: string, fields: Record<string, unknown>): void;
  stop(): Promise<void>;
}

const remoteShutdownHandlers = new WeakMap<Worker, (msg: string) => void>();

/** What a `shutdown` control command does to this worker (the CLI exits the process); default: `worker.stop()`. */
export function onRemoteShutdown(worker: Worker, handler: (msg: string) => void): void {
  remoteShutdownHandlers.set(worker, handler);
}

/** Per-worker control options set before `start()` (the CLI's -E, --without-heartbeat, ...). */
const controlOptions = new WeakMap<Worker, WorkerControlOptions>();
export function setWorkerControlOptions(worker: Worker, options: WorkerControlOptions): void {
  controlOptions.set(worker, { ...controlOptions.get(worker), ...options });
}

export async function startWorkerControl(app: Celery, worker: Worker, transport: Transport, logger: Logger): Promise<WorkerControlHandle> {
  const conf = app.conf as unknown as Record<string, unknown>;
  const opts: WorkerControlOptions = { ...controlOptions.get(worker) };
  const sendTaskEvents = opts.sendTaskEvents ?? conf.workerSendTaskEvents === true;
  const heartbeat = opts.heartbeat ?? true;
  const remoteControl = opts.remoteControl ?? conf.workerEnableRemoteControl !== false;
  const clock = new LamportClock();
  let events: WorkerEventPublisher | null = null;
  let dispatcher: EventDispatcher | null = null;
  if (heartbeat || sendTaskEvents) {
    dispatcher = new EventDispatcher(transport, {
      hostname: worker.hostname,
      clock,
      serializer: (typeof conf.eventSerializer === "string" ? conf.eventSerializer : "json") as SerializerName,
      onError: (err) => logger.warn(`Could not send event: ${err.message}`),
    });
    events = new WorkerEventPublisher(
      dispatcher,
      { signals: worker.signals, activeCount: () => worker.activeRequests.length, processed: () => worker.stats.processed },
      { taskEvents: sendTaskEvents, freq: opts.heartbeatInterval ?? 2 },
    );
  }
  const state: ControlState = {
    app,
    worker,
    transport,
    clock,
    startedAt: Date.now(),
    events,
    shutdown: (msg) => {
      logger.warn(msg);
      const handler = remoteShutdownHandlers.get(worker);
      if (handler) handler(msg);
      else void worker.stop();
    },
  };
  let pidbox: WorkerPidbox | null = null;
  if (remoteControl) {
    pidbox = new WorkerPidbox(state, { logger, accept: [...new Set(["json", ...app.conf.acceptContent])] });
    await pidbox.start();
  }
  if (events) await events.start();
  let stopped = false;
  return {
    clock,
    events,
    pidbox,
    taskEvent(type, fields) {
      if (!stopped && dispatcher && events?.taskEventsEnabled) void dispatcher.send(type, fields);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await pidbox?.stop();
      await events?.stop();
    },
  };
}
