/**
 * What happens to a delivery before it runs (docs/protocol.md §2.5): decode, refuse, NotRegistered, expired,
 * ETA. Returns a verdict; the worker acts on it. Never throws.
 */
import { decodeTask, InvalidTaskError } from "../protocol/decode";
import { ContentDisallowed } from "../protocol/serializers";
import type { Delivery } from "../transport/types";
import type { DecodedTask } from "../protocol/message";

/** The outcome of looking at a delivery. */
export type Verdict =
  | { kind: "run"; task: DecodedTask }
  | { kind: "unregistered"; task: DecodedTask | null; name: string; id: string }
  | { kind: "invalid"; reason: string };

function headerString(delivery: Delivery, key: string): string | null {
  const value = delivery.message.headers[key];
  return typeof value === "string" ? value : null;
}

/** Decode and classify a delivery. `isRegistered` tells whether a task name is known. */
export function classify(delivery: Delivery, accept: readonly string[], isRegistered: (name: string) => boolean): Verdict {
  const where = `queue ${delivery.queue}`;
  const headerTask = headerString(delivery, "task");
  const headerId = headerString(delivery, "id") ?? (delivery.message.properties.correlation_id as string | undefined) ?? "?";
  let task: DecodedTask;
  try {
    task = decodeTask(delivery.message, { accept });
  } catch (err) {
    if (err instanceof ContentDisallowed) {
      return { kind: "invalid", reason: `Received invalid task message: ${err.message} (task ${headerTask ?? "?"}[${headerId}], ${where})` };
    }
    if (headerTask && !isRegistered(headerTask)) {
      return { kind: "unregistered", task: null, name: headerTask, id: headerId };
    }
    const what = err instanceof InvalidTaskError ? "Received invalid task message" : "Can't decode message body";
    return { kind: "invalid", reason: `${what}: ${(err as Error).message} (task ${headerTask ?? "?"}[${headerId}], ${where})` };
  }
  if (!isRegistered(task.task)) return { kind: "unregistered", task, name: task.task, id: task.id };
  return { kind: "run", task };
}

/** True when the task's `expires` has passed. */
export function isExpired(task: DecodedTask, now = Date.now()): boolean {
  return task.expires !== null && task.expires.getTime() <= now;
}

/** Milliseconds until the ETA, or 0 when due. */
export function etaDelay(task: DecodedTask, now = Date.now()): number {
  return task.eta ? Math.max(0, task.eta.getTime() - now) : 0;
}
