/**
 * Celery's signals as typed events: `beforeTaskPublish`, `afterTaskPublish`, `taskReceived`,
 * `taskPrerun`, `taskPostrun`, `taskSuccess`, `taskFailure`, `taskRetry`, `taskRevoked`,
 * `workerReady`, `workerShutdown`, `workerProcessInit`, `workerProcessShutdown`. Listeners run synchronously in registration order
 * (as Celery's `Signal.send`); an error thrown by a listener, or a rejected promise it returns, is
 * logged and never reaches the worker.
 *
 * Where they fire. Every task and worker signal fires in the worker's main process, whatever the
 * pool: on `-P prefork` celeriac's tracer (states, retries, results) runs there and only the
 * handler runs in a child, so `taskPrerun` / `taskPostrun` / `taskSuccess` / `taskFailure` /
 * `taskRetry` listeners run in the main process, unlike Celery, whose tracer runs them in the
 * ForkPoolWorker. `workerProcessInit` and `workerProcessShutdown` fire in each prefork child only,
 * on the signals of the app its module exported (register them in the `-A` module): init once the
 * child loaded the module, before it takes a task; shutdown when it exits cleanly (recycled,
 * retired, the worker stopping or gone), not when it is killed. A promise an init listener returns
 * is not awaited (tasks may start before it settles); the child waits for those of shutdown
 * listeners before it exits (at most 5 s, then it is killed). The event loop and threads pools run
 * in the main process and fire neither (as Celery's threads and gevent pools). The publish signals
 * fire in the process that sends the task, on the app that sends it (`app.signals`), whether a
 * worker runs there or not: a prefork child sending from a handler fires them on its app.
 */
import type { RequestInfo } from "./task-types";
import type { Logger } from "./logging";
import { writeStderrLine } from "./logging";
import type { ExceptionInfo } from "./protocol/result-meta";
import type { TaskBody } from "./protocol/encode";
import type { TaskHeaders, TaskProperties } from "./protocol/message";
import { redactText } from "./redact";

/** Payloads, by event name (Celery signal `task_prerun` → `taskPrerun`, ...). */
export interface WorkerEventMap {
  /**
   * A task message is about to be published (Celery `before_task_publish`; `sender` is the task
   * name). `headers`, `properties` and `body` (`[args, kwargs, embed]`, serialized after the
   * listeners ran) may be changed in place: the message is sent as they leave them. `exchange`
   * and `routingKey` are where it goes ("" and the queue name for a direct route, as Celery);
   * `declare`: the queues declared for it. Listeners run synchronously before the publish; a
   * promise they return is not awaited.
   */
  beforeTaskPublish: { sender: string; body: TaskBody; exchange: string; routingKey: string; headers: TaskHeaders; properties: TaskProperties; declare: Array<{ name: string; exchange?: string; routingKey?: string }> };
  /** The broker accepted a task message (Celery `after_task_publish`; `sender` is the task name). */
  afterTaskPublish: { sender: string; body: TaskBody; headers: TaskHeaders; exchange: string; routingKey: string };
  /** A task message was accepted by the worker, before any ETA wait (Celery `task_received`). */
  taskReceived: { taskId: string; task: string; request: RequestInfo };
  /** Before the handler runs (Celery `task_prerun`). */
  taskPrerun: { taskId: string; task: string; request: RequestInfo; args: unknown[]; kwargs: Record<string, unknown> };
  /** After the run, whatever the outcome (Celery `task_postrun`); `state` is the stored state. */
  taskPostrun: { taskId: string; task: string; request: RequestInfo; retval: unknown; state: string };
  /** The handler returned (Celery `task_success`); `runtime`: seconds from prerun until the result was stored (Celery's T, logged and in task-succeeded). */
  taskSuccess: { taskId: string; task: string; request: RequestInfo; result: unknown; runtime: number };
  /** The task failed (Celery `task_failure`): handler error, time limit, lost thread. */
  taskFailure: { taskId: string; task: string; request: RequestInfo; exception: unknown; excInfo: ExceptionInfo; traceback: string | null };
  /** The task asked for a retry (Celery `task_retry`); `reason` is the Retry text, e.g. "Retry in 5s: KeyError('k')". */
  taskRetry: { taskId: string; task: string; request: RequestInfo; reason: string; exception: unknown };
  /** The task was revoked, expired or terminated (Celery `task_revoked`). */
  taskRevoked: { taskId: string; task: string; request: RequestInfo; terminated: boolean; expired: boolean; signal: string | null };
  /** The worker consumes (Celery `worker_ready`). */
  workerReady: { hostname: string };
  /** The worker stopped (Celery `worker_shutdown`). */
  workerShutdown: { hostname: string; cold: boolean };
  /** A prefork child loaded the app module and is about to take tasks (Celery `worker_process_init`, sender the worker's hostname); fires in that child. */
  workerProcessInit: { hostname: string; pid: number };
  /** A prefork child is exiting cleanly (Celery `worker_process_shutdown`); fires in that child, which waits for the promises listeners return. */
  workerProcessShutdown: { hostname: string; pid: number; exitcode: number };
}

export type WorkerEventName = keyof WorkerEventMap;
export type WorkerEventListener<K extends WorkerEventName> = (payload: WorkerEventMap[K]) => unknown;

const NONE: ReadonlyArray<Promise<unknown>> = [];

/** Log what a listener threw or rejected with, named with the listener and the event. */
function reportListenerError(listener: { name: string }, event: string, err: unknown, logger: Pick<Logger, "error"> | null): void {
  const text = `Signal handler ${listener.name || "<anonymous>"} for ${event} raised: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
  if (logger) logger.error(text);
  else writeStderrLine(redactText(text));
}

/** A typed event emitter whose listener errors are logged, never thrown. */
export class WorkerSignals {
  private readonly listeners = new Map<WorkerEventName, Array<WorkerEventListener<never>>>();
  /** Where listener errors go (set by the worker; stderr otherwise). */
  logger: Pick<Logger, "error"> | null = null;

  /** Add a listener. Returns a function that removes it. */
  on<K extends WorkerEventName>(event: K, listener: WorkerEventListener<K>): () => void {
    // Lists are replaced, never changed in place: `call` runs the list as it was when emitted.
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return () => this.off(event, listener);
  }

  /** Add a listener that runs once. */
  once<K extends WorkerEventName>(event: K, listener: WorkerEventListener<K>): () => void {
    const off = this.on(event, (payload) => {
      off();
      return listener(payload);
    });
    return off;
  }

  off<K extends WorkerEventName>(event: K, listener: WorkerEventListener<K>): void {
    const list = this.listeners.get(event);
    if (!list) return;
    const i = list.indexOf(listener);
    if (i >= 0) this.listeners.set(event, [...list.slice(0, i), ...list.slice(i + 1)]);
  }

  listenerCount(event: WorkerEventName): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /** Call every listener of `event`; errors are logged with the event name. */
  emit<K extends WorkerEventName>(event: K, payload: WorkerEventMap[K], logger: Pick<Logger, "error"> | null = this.logger): void {
    // Each promise already has its error reported (`call`): nothing to wait for here.
    void this.call(event, payload, logger);
  }

  /** As `emit`, and resolves once the promises listeners returned have settled (never rejects). */
  async emitAndWait<K extends WorkerEventName>(event: K, payload: WorkerEventMap[K], logger: Pick<Logger, "error"> | null = this.logger): Promise<void> {
    await Promise.all(this.call(event, payload, logger));
  }

  /** Run the listeners; returns the promises they returned, each settled after its error is logged. */
  private call<K extends WorkerEventName>(event: K, payload: WorkerEventMap[K], logger: Pick<Logger, "error"> | null): ReadonlyArray<Promise<unknown>> {
    const list = this.listeners.get(event);
    if (!list?.length) return NONE;
    let pending: Array<Promise<unknown>> | null = null;
    for (const listener of list) {
      try {
        const r = (listener as WorkerEventListener<K>)(payload);
        if (r && typeof (r as Promise<unknown>).then === "function") {
          (pending ??= []).push((r as Promise<unknown>).then(undefined, (err: unknown) => reportListenerError(listener, event, err, logger)));
        }
      } catch (err) {
        reportListenerError(listener, event, err, logger);
      }
    }
    return pending ?? NONE;
  }
}
