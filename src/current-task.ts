/**
 * The task a handler runs for (Celery's `current_worker_task`), kept across its awaits with
 * AsyncLocalStorage: a task sent while it runs gets it as parent (parent_id, root_id, and with
 * `task_inherit_parent_priority` its priority) and is listed in its stored `children`, as Celery's
 * `send_task` / `add_trail` do. Handlers on the event-loop pool and in prefork children (set by the
 * child, slot-runner.ts) have one; thread-pool handlers do not.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { ResultTuple } from "./protocol/result-meta";

/** The running task, as the sending side needs it. */
export interface CurrentTask {
  readonly id: string;
  /** Its task name (absent where the sender does not know it). */
  readonly name?: string;
  readonly rootId: string;
  readonly priority: number | null;
  /** Results of tasks sent while it ran (Celery `request.children`). */
  readonly children: ResultTuple[];
  /** Set when the handler has finished: what it left running sends without a parent. */
  done: boolean;
  /**
   * Reports an error that escaped the handler (a rejected promise nobody awaited, a throwing timer
   * callback) to the worker running it; see crash-guard.ts.
   */
  readonly onStrayError?: (error: unknown, origin: StrayOrigin) => void;
  /**
   * The OpenTelemetry context of its `run/<task>` span (telemetry/spans.ts), when tracing: the
   * parent of what it publishes even where no OpenTelemetry context manager carries it.
   */
  traceContext?: object;
}

/** How an error escaped: `process`'s 'unhandledRejection' or 'uncaughtException'. */
export type StrayOrigin = "unhandled promise rejection" | "uncaught exception";

const storage = new AsyncLocalStorage<CurrentTask>();

/** Run `fn` (which starts the handler) with `task` as the current task. */
export function runAsTask<T>(task: CurrentTask, fn: () => T): T {
  return storage.run(task, fn);
}

/**
 * The task whose handler started the code running here, finished or not: an error escaping after
 * the handler returned still belongs to it.
 */
export function taskOfContext(): CurrentTask | null {
  return storage.getStore() ?? null;
}

/** The task whose handler is running here, if any (and still running). */
export function currentTask(): CurrentTask | null {
  const t = storage.getStore();
  return t && !t.done ? t : null;
}
