/**
 * Bounds on what a worker accepts from the wire (celeriac-only: Celery has no such limits).
 * Decoding checks them while it works: decompression stops at `maxMessageSize`, and nesting
 * is measured before any recursive walk of the decoded value.
 */
import type { WireObject, WireValue } from "./message";

/** The limits a decode runs under; null disables one. */
export interface DecodeLimits {
  /** Largest body accepted, in bytes, compressed and after decompression (workerMaxMessageSize). */
  maxMessageSize: number | null;
  /** Deepest nesting of lists/maps accepted in a body (workerMaxNestingDepth). */
  maxNestingDepth: number | null;
}

/** No limits (what a client decoding its own results uses). */
export const NO_LIMITS: DecodeLimits = { maxMessageSize: null, maxNestingDepth: null };

/** A message over one of the worker's limits: rejected, never requeued. */
export class MessageLimitError extends Error {
  /** Which limit: "size" (workerMaxMessageSize) or "depth" (workerMaxNestingDepth). */
  readonly limit: "size" | "depth";
  constructor(limit: "size" | "depth", message: string) {
    super(message);
    this.name = "MessageLimitError";
    this.limit = limit;
  }
}

/** The error for a body that is (or inflates to) more than `max` bytes. */
export function tooLarge(max: number, what = "message body"): MessageLimitError {
  return new MessageLimitError("size", `${what} is larger than workerMaxMessageSize (${max} bytes)`);
}

/** The error for a body nested deeper than `max` levels. */
export function tooDeep(max: number | null): MessageLimitError {
  return new MessageLimitError(
    "depth",
    max === null ? "message body is nested too deeply to decode" : `message body is nested deeper than workerMaxNestingDepth (${max} levels)`,
  );
}

/** True for V8's stack overflow, which only very deep nesting causes in the decoders. */
export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

function isContainer(v: WireValue): v is WireValue[] | WireObject {
  return typeof v === "object" && v !== null && !(v instanceof Date) && !Buffer.isBuffer(v);
}

/** Throws `MessageLimitError` when lists/maps in `value` nest deeper than `max` (iterative: no recursion). */
export function assertNestingDepth(value: WireValue, max: number | null): void {
  if (max === null || !isContainer(value)) return;
  const stack: Array<[WireValue, number]> = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop() as [WireValue, number];
    if (depth > max) throw tooDeep(max);
    const children = Array.isArray(v) ? v : Object.values(v as WireObject);
    for (const c of children) if (isContainer(c)) stack.push([c, depth + 1]);
  }
}
