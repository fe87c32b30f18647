/**
 * What happens to a delivery before it runs (docs/protocol.md §2.5): decode, refuse, NotRegistered, expired,
 * ETA. Returns a verdict; the worker acts on it. Never throws.
 */
import { decodeTask, hasLoneSurrogate, InvalidTaskError } from "../protocol/decode";
import { invalidTask } from "../protocol/exceptions";
import { MessageLimitError } from "../protocol/limits";
import type { DecodeLimits } from "../protocol/limits";
import { logText, pyStrRepr } from "../protocol/repr";
import { SecurityError } from "../protocol/security";
import type { ExceptionInfo } from "../protocol/result-meta";
import { ContentDisallowed } from "../protocol/serializers";
import type { AuthCodec } from "../protocol/serializers";
import type { CeleryConfig } from "../config";
import type { Delivery } from "../transport/types";
import type { DecodedTask } from "../protocol/message";

/** A FAILURE to store for a refused message whose id is known. */
export interface RefusalFailure {
  id: string;
  exc: ExceptionInfo;
}

/** The outcome of looking at a delivery. */
export type Verdict =
  | { kind: "run"; task: DecodedTask }
  | { kind: "unregistered"; task: DecodedTask | null; name: string; id: string }
  /**
   * Rejected without requeue; `reason` is one log line (wire text escaped); `failure` to store, if
   * any. `settle: "ack"` (a signed body refused: Celery's on_decode_error) acks it instead, and
   * `level` is the log level ("ERROR" unless said).
   */
  | { kind: "invalid"; reason: string; failure?: RefusalFailure; settle?: "ack"; level?: "CRITICAL" };

function headerString(delivery: Delivery, key: string): string | null {
  const value = delivery.message.headers[key];
  return typeof value === "string" ? value : null;
}

/** The worker's decode limits from its settings (workerMaxMessageSize, workerMaxNestingDepth). */
export function decodeLimitsOf(conf: Pick<CeleryConfig, "workerMaxMessageSize" | "workerMaxNestingDepth">): DecodeLimits {
  return { maxMessageSize: conf.workerMaxMessageSize, maxNestingDepth: conf.workerMaxNestingDepth };
}

/**
 * Decode and classify a delivery. `isRegistered` tells whether a task name is known; `auth` (the
 * app's `setupSecurity()`) verifies signed bodies.
 */
export function classify(
  delivery: Delivery,
  accept: readonly string[],
  isRegistered: (name: string) => boolean,
  limits?: DecodeLimits,
  auth?: AuthCodec | null,
): Verdict {
  const headerTask = headerString(delivery, "task");
  const correlationId = delivery.message.properties.correlation_id;
  const headerId = headerString(delivery, "id") ?? (typeof correlationId === "string" ? correlationId : null);
  let task: DecodedTask;
  try {
    task = decodeTask(delivery.message, { accept, limits, auth });
  } catch (err) {
    const name = (err instanceof InvalidTaskError ? err.taskName : null) ?? headerTask;
    const id = (err instanceof InvalidTaskError ? err.taskId : null) ?? headerId;
    const where = `task ${logText(name ?? "?")}[${logText(id ?? "?")}], queue ${logText(delivery.queue)}`;
    const message = logText((err as Error).message);
    if (err instanceof SecurityError) {
      // Celery's on_decode_error: CRITICAL, the message acked, nothing stored, never run.
      const m = delivery.message;
      const what = `[type:${pyStrRepr(m.contentType)} encoding:${pyStrRepr(m.contentEncoding)}]`;
      return { kind: "invalid", settle: "ack", level: "CRITICAL", reason: `Can't decode message body: SecurityError: ${message} ${logText(what)} (${where}); acked, not run` };
    }
    if (err instanceof ContentDisallowed) {
      return { kind: "invalid", reason: `Received invalid task message: ${message} (${where})` };
    }
    if (err instanceof MessageLimitError) {
      // Celery stores nothing for a message it cannot decode; a caller waiting on get() would wait
      // forever, so the refusal is stored as FAILURE when the id is known (and a valid key).
      const failure = id !== null && !hasLoneSurrogate(id) ? { id, exc: invalidTask((err as Error).message) } : undefined;
      return { kind: "invalid", reason: `Received invalid task message: ${message}; rejected, not requeued (${where})`, failure };
    }
    if (headerTask && headerId && !hasLoneSurrogate(headerId) && !isRegistered(headerTask)) {
      return { kind: "unregistered", task: null, name: headerTask, id: headerId };
    }
    const what = err instanceof InvalidTaskError ? "Received invalid task message" : "Can't decode message body";
    return { kind: "invalid", reason: `${what}: ${message} (${where})` };
  }
  if (!isRegistered(task.task)) return { kind: "unregistered", task, name: task.task, id: task.id };
  return { kind: "run", task };
}

/** True when the task's `expires` has passed. */
export function isExpired(task: DecodedTask, now?: number): boolean {
  // The clock is read only for a task that expires (not as a default parameter: every task would pay).
  return task.expires !== null && task.expires.getTime() <= (now ?? Date.now());
}

/** Milliseconds until the ETA, or 0 when due. */
export function etaDelay(task: DecodedTask, now?: number): number {
  return task.eta ? Math.max(0, task.eta.getTime() - (now ?? Date.now())) : 0;
}
