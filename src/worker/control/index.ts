/**
 * Starts a worker's remote control (pidbox) and events; `worker.ts` calls `startWorkerControl`
 * once consuming and `stop()` at shutdown.
 */
import type { AppContext } from "../../app-context";
import { LamportClock } from "../../events/clock";
import { EventDispatcher } from "../../events/dispatcher";
import { WorkerEventPublisher } from "../../events/worker";
import type { Logger } from "../../logging";
import type { Transport } from "../../transport/types";
import type { ControlledWorker, WorkerControlOptions } from "../worker-types";
import type { ControlState } from "./commands";
import { WorkerPidbox } from "./pidbox";

export { HANDLERS, requestInfo, queueDict, ControlError } from "./commands";
export type { ControlState, ControlHandler } from "./commands";
export { WorkerPidbox, matchNode, globToRegExp, isForNode, errorRepr } from "./pidbox";
export { PIDBOX_EXCHANGE, REPLY_EXCHANGE } from "../../protocol/exchanges";

export type { WorkerControlOptions } from "../worker-types";

/** A started worker's remote control and events. */
export interface WorkerControlHandle {
  readonly clock: LamportClock;
  readonly events: WorkerEventPublisher | null;
  readonly pidbox: WorkerPidbox | null;
  /**
   * Send a task event the worker itself raises (task-rejected, task-failed for an unknown task)
   * when task events are on (-E / enable_events), as Celery's `Request.send_event`.
   */
  taskEvent(type: string, fields: Record<string, unknown>): void;
  /** Leave the pidbox and stop the event publisher (worker-offline); later calls do nothing. */
  stop(): Promise<void>;
}

/** Start the pidbox and the event publisher of a consuming worker, as `opts` and the app's settings say. */
export async function startWorkerControl(app: AppContext, worker: ControlledWorker, transport: Transport, logger: Logger, opts: WorkerControlOptions): Promise<WorkerControlHandle> {
  const conf = app.conf;
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
      serializer: typeof conf.eventSerializer === "string" ? conf.eventSerializer : "json",
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
      const handler = opts.onRemoteShutdown;
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
