/**
 * Exceptions as they cross the wire (docs/protocol.md §7.3): `{exc_type, exc_message: [args], exc_module}`,
 * plus Python-like traceback text and `repr()` for events.
 */
import { isWireObject } from "./message";
import type { WireObject, WireValue } from "./message";
import type { ExceptionInfo } from "./result-meta";
import { pyRepr } from "./repr";
import { CeleryError, JS_EXC_MODULE, excStr } from "./celery-error";
import { RemoteError, pythonNameOf, errorFromStored } from "./error-classes";
import type { StoredErrorFields } from "./error-classes";

export { CeleryError, JS_EXC_MODULE, excStr } from "./celery-error";

function toWire(v: unknown): WireValue {
  switch (typeof v) {
    case "string":
    case "number":
    case "boolean":
    case "bigint":
      return v;
    case "undefined":
      return null;
    case "object":
      if (v === null || v instanceof Date || Buffer.isBuffer(v)) return v;
      if (Array.isArray(v)) return v.map(toWire);
      if (v instanceof Error) return String(v.message);
      try {
        const out: WireObject = {};
        for (const k of Object.keys(v)) out[k] = toWire((v as { [k: string]: unknown })[k]);
        return out;
      } catch {
        // eslint-disable-next-line @typescript-eslint/no-base-to-string -- last resort: its keys cannot be read, so its own toString is all there is
        return String(v);
      }
    default:
      return String(v);
  }
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  excType?: unknown;
  excMessage?: unknown;
  excModule?: unknown;
  args?: unknown;
}

function errorTypeName(err: Error): string {
  if (err.name && err.name !== "Error") return err.name;
  const ctor = (err as { constructor?: { name?: string } }).constructor?.name;
  return ctor && ctor !== "Object" ? ctor : "Error";
}

/**
 * Wire form of any thrown value. JS errors: exc_type and exc_module = `excType` / `excModule`
 * when present, else the Python name registered for its class (or `builtins.TypeError`, see
 * error-classes.ts), else `name` (or the constructor name) in `celeriac.js`; exc_message =
 * `excMessage` or array `args` when present, else `[message]` (`[]` when empty).
 */
export function errorToExceptionInfo(err: unknown): ExceptionInfo {
  if (err instanceof CeleryError) return err.toExceptionInfo();
  if (err instanceof Error) {
    const e = err as Error & ErrorLike;
    const python = typeof e.excType === "string" && e.excType ? null : pythonNameOf(err);
    const excType = python ? python.excType : typeof e.excType === "string" && e.excType ? e.excType : errorTypeName(err);
    const args = Array.isArray(e.excMessage) ? e.excMessage : Array.isArray(e.args) ? e.args : null;
    const excMessage = args ? args.map(toWire) : err.message ? [err.message] : [];
    const excModule = python ? python.excModule : typeof e.excModule === "string" && e.excModule ? e.excModule : JS_EXC_MODULE;
    return { exc_type: excType, exc_message: excMessage, exc_module: excModule };
  }
  return { exc_type: "Error", exc_message: err === undefined ? [] : [toWire(err)], exc_module: JS_EXC_MODULE };
}

/**
 * An exception dict as read back from a backend, as loosely as Celery reads one: `exc_type` a
 * string and `exc_message` present, but maybe not a list (older Celery wrote `str(exc)`), and
 * `exc_module` maybe missing. Every `ExceptionInfo` is one.
 */
export type StoredException = WireObject & { exc_type: string; exc_message: WireValue };

/** True when a value has the shape of a stored exception dict (see `StoredException`). */
export function isStoredException(v: WireValue | undefined): v is StoredException {
  return isWireObject(v) && typeof v.exc_type === "string" && v.exc_message !== undefined;
}

/** The exception's args from `exc_message`: a list as is, null as none, anything else as the one arg. */
function excArgs(raw: WireValue): WireValue[] {
  return Array.isArray(raw) ? raw : raw === null ? [] : [raw];
}

/**
 * The error for a stored exception dict (tolerates malformed input): an instance of Celery's
 * class for it, of a registered class, or a `RemoteError` (error-classes.ts).
 */
export function exceptionInfoToError(info: WireValue, traceback: string | null = null): Error & StoredErrorFields {
  if (isStoredException(info)) {
    const module = typeof info.exc_module === "string" ? info.exc_module : "celery.exceptions";
    return errorFromStored(info.exc_type, excArgs(info.exc_message), module, traceback);
  }
  return new RemoteError("Exception", info === null || info === undefined ? [] : [info], "builtins", traceback);
}

/** Python `repr(exc)`, e.g. `ValueError('bad value', 42)`, as sent in task-failed events. */
export function excRepr(info: Pick<StoredException, "exc_type" | "exc_message">): string {
  const name = info.exc_type.split(".").pop() || info.exc_type;
  return `${name}(${excArgs(info.exc_message).map((a) => pyRepr(a)).join(", ")})`;
}

const V8_FRAME = /^\s*at (?:(.+?) \()?(.+?):(\d+):(\d+)\)?$/;

/**
 * Python-like traceback text for a JS error:
 * `Traceback (most recent call last):\n  File "f.js", line 3, in fn\n<ExcType>: <message>\n`.
 * JS stacks list the innermost call first; frames are reversed to Python's order.
 */
export function formatTraceback(err: unknown): string {
  const info = errorToExceptionInfo(err);
  const frames: string[] = [];
  const stack = err instanceof Error && typeof err.stack === "string" ? err.stack : "";
  for (const line of stack.split("\n")) {
    if (!/^\s+at /.test(line)) continue;
    const m = V8_FRAME.exec(line);
    if (m) frames.push(`  File "${m[2]}", line ${m[3]}, in ${m[1] ?? "<module>"}`);
    else frames.push(`  ${line.trim()}`);
  }
  frames.reverse();
  const name = info.exc_type.split(".").pop() || info.exc_type;
  const msg = excStr(info.exc_message);
  const qualified = info.exc_module === "builtins" || info.exc_module === "__main__" ? name : `${info.exc_module}.${name}`;
  const last = err instanceof Error && !(err instanceof CeleryError) && info.exc_module === JS_EXC_MODULE ? name : qualified;
  return `Traceback (most recent call last):\n${frames.map((f) => f + "\n").join("")}${msg ? `${last}: ${msg}` : last}\n`;
}

// Celery-defined exceptions -------------------------------------------------------------------

/** `celery.exceptions.NotRegistered(name)`; stored with traceback null. */
export function notRegistered(name: string): ExceptionInfo {
  return { exc_type: "NotRegistered", exc_message: [name], exc_module: "celery.exceptions" };
}

/** `celery.exceptions.TaskRevokedError(reason)`: "revoked" | "expired" | "terminated". */
export function taskRevoked(reason: string): ExceptionInfo {
  return { exc_type: "TaskRevokedError", exc_message: [reason], exc_module: "celery.exceptions" };
}

/** `billiard.exceptions.TimeLimitExceeded(seconds)` (hard limit; traceback null). */
export function timeLimitExceeded(seconds: number): ExceptionInfo {
  return { exc_type: "TimeLimitExceeded", exc_message: [seconds], exc_module: "billiard.exceptions" };
}

/** `billiard.exceptions.SoftTimeLimitExceeded()`. */
export function softTimeLimitExceeded(): ExceptionInfo {
  return { exc_type: "SoftTimeLimitExceeded", exc_message: [], exc_module: "billiard.exceptions" };
}

/** `celery.exceptions.InvalidTaskError(msg)`: a message the worker refused to run (e.g. over its limits). */
export function invalidTask(msg: string): ExceptionInfo {
  return { exc_type: "InvalidTaskError", exc_message: [msg], exc_module: "celery.exceptions" };
}

/** kombu's EncodeError: a result the result serializer cannot encode (stored as FAILURE, as Celery does). */
export function encodeError(message: string): ExceptionInfo {
  return { exc_type: "EncodeError", exc_message: [message], exc_module: "kombu.exceptions" };
}

/** `celery.exceptions.MaxRetriesExceededError(msg)`. */
export function maxRetriesExceeded(msg: string): ExceptionInfo {
  return { exc_type: "MaxRetriesExceededError", exc_message: [msg], exc_module: "celery.exceptions" };
}

/** `celery.exceptions.ChordError(msg)`, e.g. `Dependency <id> raised ValueError('x')`. */
export function chordError(msg: string): ExceptionInfo {
  return { exc_type: "ChordError", exc_message: [msg], exc_module: "celery.exceptions" };
}
