/**
 * The child side of the slot pools (threads and prefork): what a pool thread or a pool process
 * runs. Plain JavaScript source, evaluated in the child (node:worker_threads `eval`, or the
 * prefork child entry), so that it works from the compiled package and from ts-jest alike. It
 * needs nothing from celeriac: the app module's `tasks` map gives the handler, errors are sent
 * back field by field (`SerializedError`), and the protocol is `SlotMessage` / `ParentMessage`
 * (slot-protocol.ts).
 *
 * The source defines `runSlot(channel)` (a `SlotChannel`), which returns a `SlotHandle`.
 * `memory()` is what max-memory-per-child compares (bytes: a thread's V8 heap, a process's
 * resident set), given only when that is set (outcomes carry 0 otherwise). In order:
 * - with `redirect` (worker_redirect_stdouts) what the child prints (process.stdout / stderr
 *   writes, console.*) is sent as `log` lines, one per write, as Celery's LoggingProxy does;
 * - with `guard` the child contains errors that escape a task, as the worker's crash guard does:
 *   each job runs in an async context of its own, and a stray rejection or uncaught exception in
 *   it is sent to the pool (`stray`, logged against the task) while the child carries on; an
 *   uncaught exception outside any task is sent, then the child exits 1;
 * - the app module is loaded and `conf` (the main process's resolved settings) set on its app's
 *   `conf`; if that throws, the error goes to the pool (`loadError`) and the
 *   child exits 1 (the pool logs it and starts another child later);
 * - with `hostname` (prefork) the app's `workerProcessInit` listeners run, and `shutdown()` runs
 *   its `workerProcessShutdown` listeners, waits for their promises (5 s at most), and exits 0.
 *   Errors of listeners go to the pool as `log` lines.
 * `runAsTask` (prefork: current-task.ts of the celeriac the child entry belongs to) makes the job
 * the app's current task, so tasks it sends get it as parent; they come back in `children`.
 * `inTrace` (prefork, when the job carries `trace` headers) runs it in the OpenTelemetry context of
 * its run span in the main process, so what it publishes continues the trace.
 */
import type { CurrentTask } from "../../current-task";
import type { ChildConf } from "./slot-protocol";

export const SLOT_RUNNER = String.raw`
function runSlot(channel) {
const RETRY = Symbol("celeriac.retry");
const REPLACE = Symbol("celeriac.replace");
let current = null;
let seq = 0;
const pendingStates = new Map();
const strayContext = new (require("node:async_hooks").AsyncLocalStorage)();
// Before the app module loads, so that what it prints or leaves unhandled is contained too.
if (channel.redirect) redirectOutput();
if (channel.guard) {
  const stray = (origin) => (error) => {
    const task = strayContext.getStore() || null;
    const msg = { type: "stray", origin, task, error: serializeError(error) };
    if (task || origin === "unhandled promise rejection") channel.send(msg);
    else channel.send(msg, () => process.exit(1));
  };
  process.on("unhandledRejection", stray("unhandled promise rejection"));
  process.on("uncaughtException", stray("uncaught exception"));
}
let app = null;
try {
  const mod = require(channel.appModule);
  app = [mod && mod.app, mod && mod.default, mod && mod.default && mod.default.app, mod].find((c) => c && c.tasks instanceof Map);
  if (!app) throw new Error(channel.appModule + " does not export a Celery app (export it as app or default)");
  // The main process's resolved settings (its --config file, ...), before anything uses them.
  if (channel.conf && app.conf) Object.assign(app.conf, channel.conf);
} catch (err) {
  // Reported to the pool, which logs it (masked) and starts another child later; this one exits.
  channel.send({ type: "loadError", error: serializeError(err) }, () => process.exit(1));
  return { shutdown() { process.exit(1); } };
}
const signals = app.signals && typeof app.signals.emit === "function" ? app.signals : null;
// Errors of signal listeners in this child go to the worker's log.
if (signals && !signals.logger) signals.logger = { error: (text) => channel.send({ type: "log", level: "ERROR", text: String(text) }) };
let exiting = false;

// What the child prints goes to the worker's log, one line per write (as Celery's LoggingProxy).
function redirectOutput() {
  for (const stream of [process.stdout, process.stderr]) {
    Object.defineProperty(stream, "isTTY", { value: false, configurable: true });
    stream.write = function (chunk, encoding, done) {
      if (typeof encoding === "function") { done = encoding; encoding = undefined; }
      let text;
      try {
        text = typeof chunk === "string" ? (encoding && encoding !== "utf8" && encoding !== "utf-8" ? Buffer.from(chunk, encoding).toString() : chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString();
      } catch (e) {
        text = String(chunk);
      }
      text = text.replace(/\n+$/, "");
      if (text) channel.send({ type: "log", level: null, text });
      if (typeof done === "function") process.nextTick(done);
      return true;
    };
  }
}

function classesOf(err) {
  const out = [];
  let p = Object.getPrototypeOf(err);
  while (p && p !== Object.prototype) { if (p.constructor && p.constructor.name) out.push(p.constructor.name); p = Object.getPrototypeOf(p); }
  return out;
}
function safe(v) {
  try { return structuredClone(v); } catch (e) { try { return JSON.parse(JSON.stringify(v)); } catch (e2) { return String(v); } }
}
function serializeError(err) {
  if (!(err instanceof Error)) return { name: "Error", message: String(err), stack: null, classes: [], notError: true, value: safe(err === undefined ? null : err) };
  const classes = classesOf(err);
  const ctor = classes[0] || "Error";
  const out = { name: err.name && err.name !== "Error" ? err.name : ctor, message: String(err.message), stack: typeof err.stack === "string" ? err.stack : null, classes };
  // A class registered with app.registerError: stored under its Python name (error-classes.ts).
  const python = err.constructor && err.constructor[Symbol.for("celeriac.pythonException")];
  if (typeof err.excModule === "string") out.excModule = err.excModule;
  if (typeof err.excType === "string") out.excType = err.excType;
  else if (python) { out.excType = python.excType; out.excModule = python.excModule; }
  if (Array.isArray(err.excMessage)) out.excMessage = safe(err.excMessage);
  if (Array.isArray(err.args)) out.args = safe(err.args);
  return out;
}
function taskLogger(name, id) {
  const line = (level) => (message) => channel.send({ type: "log", level, text: name + "[" + id + "]: " + String(message), task: { id, name } });
  return { debug: line("DEBUG"), info: line("INFO"), warning: line("WARNING"), warn: line("WARNING"), error: line("ERROR"), critical: line("CRITICAL") };
}
function softLimitError() {
  const e = new Error("SoftTimeLimitExceeded()");
  e.name = "SoftTimeLimitExceeded";
  e.excType = "SoftTimeLimitExceeded";
  e.excMessage = [];
  e.excModule = "billiard.exceptions";
  return e;
}

channel.onMessage(async (msg) => {
  if (msg.type === "soft") {
    if (current && current.job === msg.job) {
      const e = softLimitError();
      current.abort.abort(e);
      if (!current.bound) current.fail(e);
    }
    return;
  }
  if (msg.type === "stateStored") {
    const p = pendingStates.get(msg.seq);
    pendingStates.delete(msg.seq);
    if (p) msg.error ? p.reject(new Error(msg.error)) : p.resolve();
    return;
  }
  if (msg.type !== "run") return;
  const job = msg.job;
  const task = app.tasks.get(msg.name);
  const abort = new AbortController();
  let settled = false;
  const send = (m) => {
    if (settled) return;
    settled = true;
    current = null;
    const out = Object.assign({ job, memory: channel.memory ? channel.memory() : 0 }, m);
    try {
      channel.send(out);
    } catch (err) {
      // The value cannot be cloned to the pool (a symbol, a function, nesting too deep): the pool
      // stores FAILURE EncodeError, as the event loop does when it cannot encode a result.
      const why = m.type === "return" && (typeof m.value === "symbol" || typeof m.value === "function")
        ? "Object of type " + typeof m.value + " is not JSON serializable"
        : err instanceof RangeError ? "nesting too deep to encode (" + err.message + ")" : String(err && err.message || err);
      if (m.type === "return") channel.send(Object.assign({}, out, { value: null, children: undefined, unencodable: why }));
      else channel.send({ type: "throw", job, memory: out.memory, error: serializeError(new Error("could not send the outcome of the task: " + why)) });
    }
  };
  const fail = (err) => {
    if (err && err[REPLACE]) {
      send({ type: "replace", signature: safe(err.signature) });
    } else if (err && err[RETRY]) {
      const o = err.options || {};
      const options = Object.assign({}, o, { exc: undefined });
      send({ type: "retry", options: safe(options), exc: o.exc === undefined || o.exc === null ? null : serializeError(o.exc) });
    } else if (abort.signal.aborted && err && err.name === "AbortError" && abort.signal.reason && abort.signal.reason.excType === "SoftTimeLimitExceeded") {
      send({ type: "throw", error: serializeError(abort.signal.reason) });
    } else send({ type: "throw", error: serializeError(err) });
  };
  current = { job, abort, bound: !!(task && task.options && task.options.bind), fail };
  const info = msg.info || {};
  const asTask = { id: info.id, name: info.task || msg.name, rootId: info.rootId || info.id, priority: info.deliveryInfo ? info.deliveryInfo.priority : null, children: [], done: false };
  const asCurrent = (fn) => (channel.runAsTask ? channel.runAsTask(asTask, fn) : fn());
  const traced = (fn) => (msg.trace && channel.inTrace ? channel.inTrace(msg.trace, asTask, () => asCurrent(fn)) : asCurrent(fn));
  const run = (fn) => strayContext.run({ name: info.name || msg.name, id: info.id }, () => traced(fn));
  await run(async () => {
  try {
    if (!task) throw new Error("task " + msg.name + " is not registered in " + channel.appModule);
    let args = msg.args;
    if (task.options && task.options.bind) {
      const ctx = {
        request: msg.info,
        signal: abort.signal,
        retry(options) { const e = new Error("Retry"); e[RETRY] = true; e.options = options || {}; throw e; },
        replace(sig) {
          const e = new Error("Replaced by new task");
          e[REPLACE] = true;
          e.signature = sig && typeof sig.toDict === "function" ? sig.toDict() : sig;
          throw e;
        },
        // Celery's task logger: "%(task_name)s[%(task_id)s]: %(message)s", logged by the pool under this child's name.
        logger: taskLogger(info.name || msg.name, info.id),
        updateState(state, meta) {
          const s = ++seq;
          return new Promise((resolve, reject) => {
            pendingStates.set(s, { resolve, reject });
            channel.send({ type: "updateState", job, seq: s, state, meta: meta === undefined ? null : safe(meta) });
          });
        },
      };
      args = [ctx].concat(args);
    }
    const value = await task.handler(...args);
    asTask.done = true;
    send({ type: "return", value: value === undefined ? null : value, children: asTask.children.length ? safe(asTask.children) : undefined });
  } catch (err) {
    asTask.done = true;
    fail(err);
  }
  });
});
if (signals && channel.hostname !== undefined) signals.emit("workerProcessInit", { hostname: channel.hostname, pid: process.pid });
channel.send({ type: "online" });
return {
  shutdown() {
    if (exiting) return;
    exiting = true;
    const exit = () => process.exit(0);
    if (!signals || channel.hostname === undefined) return exit();
    const payload = { hostname: channel.hostname, pid: process.pid, exitcode: 0 };
    // Bounded as the pool's RETIRE_GRACE_MS bounds a retired child, also when no pool is left to kill it.
    setTimeout(exit, 5000).unref();
    const pending = typeof signals.emitAndWait === "function" ? signals.emitAndWait("workerProcessShutdown", payload) : signals.emit("workerProcessShutdown", payload);
    Promise.resolve(pending).then(exit, exit);
  },
};
}
`;

/** What `runSlot` is given by the code that evaluates SLOT_RUNNER. */
export interface SlotChannel {
  /** Absolute path of the module exporting the app. */
  appModule: string;
  /** The main process's resolved settings, set on the loaded app's `conf` (slot-protocol.ts ChildConf). */
  conf?: ChildConf;
  /** Send a message to the pool; `then` runs once it is sent. */
  send(message: unknown, then?: () => void): void;
  /** Listen to the pool's messages. */
  onMessage(listener: (message: unknown) => void): void;
  /** Bytes that max-memory-per-child compares; absent when it is not set (measuring costs a few µs a job). */
  memory?: () => number;
  /** Contain errors that escape a task: report them as `stray` messages. */
  guard?: boolean;
  /** Send what the child prints to the pool as `log` lines (worker_redirect_stdouts). */
  redirect?: boolean;
  /** The worker's node name: fire workerProcessInit / workerProcessShutdown with it (prefork). */
  hostname?: string;
  /** Run `fn` with `task` as the app's current task (current-task.ts's runAsTask). */
  runAsTask?: <T>(task: CurrentTask, fn: () => T) => T;
  /** Run `fn` in the trace context of the job's run span, also the task's `traceContext` (telemetry/spans.ts's inRemoteContext). */
  inTrace?: <T>(headers: Record<string, string>, task: { traceContext?: object }, fn: () => T) => T;
}

/** What `runSlot` returns. */
export interface SlotHandle {
  /** Run the app's workerProcessShutdown listeners (with `hostname`), wait for their promises, then exit 0. */
  shutdown(): void;
}
