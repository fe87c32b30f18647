/**
 * Error classes for Celery's exceptions, and which class a stored exception becomes.
 *
 * A stored `{exc_type, exc_message, exc_module}` becomes, in this order: the class registered
 * for `exc_module.exc_type` (`registerErrorClass`, `app.registerError`), one of Celery's and
 * billiard's below, else a `RemoteError`. Celery's classes and a registered class extending
 * `CeleryError` are made with the stored fields as they are; another registered class is called
 * with the exception's args, as Celery rebuilds a Python exception (`cls(*exc_message)`), and
 * given `excType`, `excMessage`, `excModule` and `traceback`.
 *
 * The other way, a JS error is stored under the Python name registered for its class or the
 * nearest registered ancestor class, so Python's `except` catches it. Of JS's own errors only
 * `TypeError` has a Python class of the same meaning, and is stored as `builtins.TypeError`;
 * the others keep their JS name in module `celeriac.js` (Python: `except Exception`), since
 * Python's nearest classes depend on what threw them (a RangeError is a ValueError or a
 * RecursionError, a SyntaxError mostly JSON.parse's ValueError).
 */
import { CeleryError } from "./celery-error";
import type { WireValue } from "./message";

/** Any error class (a registered class is called with the exception's args). */
export type ErrorClass = new (...args: never[]) => Error;

/** The fields every error made from a stored exception has (a `CeleryError`'s). */
export interface StoredErrorFields {
  excType: string;
  excMessage: WireValue[];
  excModule: string;
  traceback: string | null;
}

/** A stored exception of a type with no class here: a `CeleryError` with the same fields. */
export class RemoteError extends CeleryError {}

/** `billiard.exceptions.SoftTimeLimitExceeded()`: raised inside the task (ctx.signal's reason). */
export class SoftTimeLimitExceeded extends CeleryError {
  constructor() {
    super("SoftTimeLimitExceeded", [], "billiard.exceptions");
  }
}

/** `billiard.exceptions.TimeLimitExceeded(seconds)`: the hard limit stopped the task. */
export class TimeLimitExceeded extends CeleryError {
  constructor(seconds: number) {
    super("TimeLimitExceeded", [seconds], "billiard.exceptions");
  }
}

/** `billiard.exceptions.WorkerLostError(msg)`: the thread or child process running the task died. */
export class WorkerLostError extends CeleryError {
  constructor(message: string) {
    super("WorkerLostError", [message], "billiard.exceptions");
  }
}

/** `billiard.exceptions.Terminated(signal)`: the pool process was terminated. */
export class Terminated extends CeleryError {
  constructor(signal: WireValue = null) {
    super("Terminated", [signal], "billiard.exceptions");
  }
}

/** `celery.exceptions.MaxRetriesExceededError(msg)`. */
export class MaxRetriesExceededError extends CeleryError {
  constructor(message: string) {
    super("MaxRetriesExceededError", [message], "celery.exceptions");
  }
}

/** `celery.exceptions.TaskRevokedError(reason)`: "revoked", "expired" or "terminated". */
export class TaskRevokedError extends CeleryError {
  constructor(reason: string) {
    super("TaskRevokedError", [reason], "celery.exceptions");
  }
}

/** `celery.exceptions.NotRegistered(name)`: no worker knew the task. */
export class NotRegistered extends CeleryError {
  constructor(taskName: string) {
    super("NotRegistered", [taskName], "celery.exceptions");
  }
}

/** `celery.exceptions.ChordError(msg)`: a chord's header task failed (`Dependency <id> raised ...`). */
export class ChordError extends CeleryError {
  constructor(message: string) {
    super("ChordError", [message], "celery.exceptions");
  }
}

/** `celery.exceptions.Retry(message, exc, when)`: a retry stored as the result. */
export class Retry extends CeleryError {
  constructor(message: WireValue = null, exc: WireValue = null, when: WireValue = null) {
    super("Retry", [message, exc, when], "celery.exceptions");
  }
}

const CELERY_CLASSES: Array<[string[], typeof CeleryError]> = [
  [["billiard.exceptions", "celery.exceptions"], SoftTimeLimitExceeded],
  [["billiard.exceptions", "celery.exceptions"], TimeLimitExceeded],
  [["billiard.exceptions", "celery.exceptions"], WorkerLostError],
  [["billiard.exceptions", "celery.exceptions"], Terminated],
  [["celery.exceptions"], MaxRetriesExceededError],
  [["celery.exceptions"], TaskRevokedError],
  [["celery.exceptions"], NotRegistered],
  [["celery.exceptions"], ChordError],
  [["celery.exceptions"], Retry],
];

const BUILTIN = new Map<string, typeof CeleryError>(
  CELERY_CLASSES.flatMap(([modules, cls]) => modules.map((m): [string, typeof CeleryError] => [`${m}.${cls.name}`, cls])),
);

/** Classes registered by users, by `module.Type`. */
const registered = new Map<string, ErrorClass>();

/** Where a registered class's Python name is kept (a static, so subclasses find their nearest registered ancestor's). */
const PYTHON_NAME = Symbol.for("celeriac.pythonException");

/** A Python exception's type and module. */
export interface PythonName {
  excType: string;
  excModule: string;
}

/**
 * Map the Python exception `name` (`"myapp.errors.PaymentDeclined"`; a name without a module is
 * in `builtins`) to `cls`, both ways: results of that exception are thrown as `cls`, and a `cls`
 * (or subclass) thrown by a task is stored as that exception. The latest registration of a name
 * wins. Also works in prefork children and pool threads, which load the app module.
 */
export function registerErrorClass(name: string, cls: ErrorClass): void {
  const dot = name.lastIndexOf(".");
  const python: PythonName = dot > 0 ? { excType: name.slice(dot + 1), excModule: name.slice(0, dot) } : { excType: name, excModule: "builtins" };
  if (!python.excType) throw new TypeError(`registerError: no exception type in '${name}'`);
  registered.set(`${python.excModule}.${python.excType}`, cls);
  Object.defineProperty(cls, PYTHON_NAME, { value: python, configurable: true, enumerable: false, writable: true });
}

/** The Python name a JS error is stored under: its class's registration, `builtins.TypeError`, or null. */
export function pythonNameOf(err: Error): PythonName | null {
  const ctor = (err as { constructor?: unknown }).constructor;
  const python = typeof ctor === "function" ? (ctor as { [PYTHON_NAME]?: PythonName })[PYTHON_NAME] : undefined;
  if (python) return python;
  if (err.name === "TypeError") return { excType: "TypeError", excModule: "builtins" };
  return null;
}

/** The class a stored exception becomes (see the top of this file); undefined: a RemoteError. */
export function errorClassFor(excModule: string, excType: string): ErrorClass | undefined {
  const key = `${excModule}.${excType}`;
  return registered.get(key) ?? BUILTIN.get(key);
}

/** The error for a stored exception (see the top of this file). */
export function errorFromStored(excType: string, args: WireValue[], excModule: string, traceback: string | null): Error & StoredErrorFields {
  const cls = errorClassFor(excModule, excType);
  if (cls === undefined) return new RemoteError(excType, args, excModule, traceback);
  if (cls === CeleryError || cls.prototype instanceof CeleryError) {
    return Reflect.construct<[string, WireValue[], string, string | null], CeleryError>(CeleryError, [excType, args, excModule, traceback], cls);
  }
  let err: unknown;
  try {
    err = new (cls as new (...a: WireValue[]) => unknown)(...args);
  } catch {
    err = null; // its constructor refused these args: a RemoteError says what was stored
  }
  if (!(err instanceof Error)) return new RemoteError(excType, args, excModule, traceback);
  return Object.assign(err, { excType, excMessage: args, excModule, traceback });
}
