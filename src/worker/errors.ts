/** Errors the worker raises or stores, as Python Celery/billiard name them. */
import { formatTraceback } from "../protocol/exceptions";
import { SoftTimeLimitExceeded } from "../protocol/error-classes";

export { SoftTimeLimitExceeded, TimeLimitExceeded, WorkerLostError, MaxRetriesExceededError, TaskRevokedError } from "../protocol/error-classes";
import type { WireValue } from "../protocol/message";

/**
 * What a handler in a pool thread or child returned that could not be sent to this process (a
 * symbol, a function, nesting deeper than the structured clone's stack): storing it fails with
 * EncodeError(`message`), as storing the value itself fails on the event loop.
 */
export class UnencodableResult {
  constructor(readonly message: string) {}
}

/** True for an error made by AbortSignal (DOMException AbortError, timers/promises, fetch). */
export function isAbortError(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { name?: unknown }).name === "AbortError";
}

/**
 * Traceback text of a task error, with Python's last line for SoftTimeLimitExceeded
 * (`billiard.exceptions.SoftTimeLimitExceeded: SoftTimeLimitExceeded()`).
 */
export function taskTraceback(err: unknown): string {
  const text = formatTraceback(err);
  if (err instanceof SoftTimeLimitExceeded) {
    return text.replace(/billiard\.exceptions\.SoftTimeLimitExceeded\n$/, "billiard.exceptions.SoftTimeLimitExceeded: SoftTimeLimitExceeded()\n");
  }
  return text;
}

/** An error rebuilt from what a pool thread or child process sent (name, message, stack, Celery fields). */
export interface SerializedError {
  name: string;
  message: string;
  stack: string | null;
  /** Constructor names up the prototype chain (to match autoretryFor classes by name). */
  classes: string[];
  excType?: string;
  excMessage?: WireValue[];
  excModule?: string;
  args?: WireValue[];
  /** Thrown value was not an Error: its JSON-safe form. */
  value?: WireValue;
  notError?: boolean;
}

/** Rebuild a thread's or child's error in the worker's process so errorToExceptionInfo/formatTraceback see the same fields. */
export function reviveError(s: SerializedError): unknown {
  if (s.notError) return s.value;
  if (s.excType === "SoftTimeLimitExceeded" && s.excModule === "billiard.exceptions") {
    const e = new SoftTimeLimitExceeded();
    if (s.stack) e.stack = s.stack;
    return e;
  }
  const e = new Error(s.message) as Error & Record<string, unknown>;
  e.name = s.name;
  if (s.stack) e.stack = s.stack;
  if (s.excType !== undefined) e.excType = s.excType;
  if (s.excMessage !== undefined) e.excMessage = s.excMessage;
  if (s.excModule !== undefined) e.excModule = s.excModule;
  if (s.args !== undefined) e.args = s.args;
  Object.defineProperty(e, "__classes", { value: s.classes, enumerable: false });
  return e;
}
