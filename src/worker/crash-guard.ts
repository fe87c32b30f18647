/**
 * Crash containment: errors that escape a task (a rejected promise nobody awaited, a timer
 * callback that throws, an 'error' event without a listener) are caught at process level instead
 * of killing the worker and everything it holds.
 *
 * - An error raised in a task's async context (the handler's AsyncLocalStorage context, which its
 *   promises, timers and emitters inherit) is logged against that task by name and id, and the
 *   worker carries on. The task's own outcome is what its handler returned or threw: like an
 *   exception in a Python background thread, a stray error does not fail the task.
 * - A rejection outside any task is logged; the worker carries on (a rejection unwinds nothing).
 * - An uncaught exception outside any task may have left the worker's own state half-updated:
 *   it is logged and every guarded worker is told (`onUnsafe`), which warm-shuts it down so that
 *   what it holds returns to the queue, then exits with code 1.
 *
 * One pair of process listeners serves every worker of the process; they are removed when the last
 * worker stops, so Node's default behaviour returns.
 */
import type { Logger } from "../logging";
import { formatTraceback } from "../protocol/exceptions";
import { taskOfContext } from "../current-task";
import type { StrayOrigin } from "../current-task";

/** What a worker registers with the guard. */
export interface CrashGuardClient {
  readonly logger: Logger;
  /** The process is no longer safe: shut down warm and exit. */
  onUnsafe(error: unknown): void;
}

const clients = new Set<CrashGuardClient>();

function onRejection(reason: unknown): void {
  contain(reason, "unhandled promise rejection");
}

function onException(error: unknown): void {
  contain(error, "uncaught exception");
}

/** The text logged for a stray error: a Python-like traceback of it. */
export function strayErrorText(error: unknown): string {
  try {
    return formatTraceback(error).replace(/\n$/, "");
  } catch {
    return String(error);
  }
}

function contain(error: unknown, origin: StrayOrigin): void {
  const task = taskOfContext();
  if (task?.onStrayError) {
    task.onStrayError(error, origin);
    return;
  }
  const first = clients.values().next().value;
  if (!first) return;
  if (origin === "unhandled promise rejection") {
    first.logger.error(`Unhandled promise rejection outside any task; the worker carries on:\n${strayErrorText(error)}`);
    return;
  }
  first.logger.log("CRITICAL", `Uncaught exception outside any task; the worker is no longer safe and shuts down:\n${strayErrorText(error)}`);
  for (const client of [...clients]) client.onUnsafe(error);
}

/** Start containing stray errors for `client`; returns the function that stops it. */
export function guardProcess(client: CrashGuardClient): () => void {
  if (clients.size === 0) {
    process.on("unhandledRejection", onRejection);
    process.on("uncaughtException", onException);
  }
  clients.add(client);
  return () => {
    if (!clients.delete(client) || clients.size > 0) return;
    process.off("unhandledRejection", onRejection);
    process.off("uncaughtException", onException);
  };
}
