/**
 * `pool: "threads"`: handlers run in node:worker_threads, one task per thread at a time, so a
 * hard time limit or `revoke(terminate)` can stop even synchronous CPU-bound code
 * (`thread.terminate()`; a new thread takes its place). Each thread loads the app module itself
 * (`-A` path) and finds the handler by task name. `maxTasksPerChild` and `maxMemoryPerChild`
 * (KiB of the thread's V8 heap) replace a thread after the task that reached the limit, as
 * Celery's prefork pool does with child processes.
 */
import { Worker as Thread } from "node:worker_threads";
import { resolve as resolvePath } from "node:path";
import { ReplaceRequest } from "../../client/task";
import type { RegisteredTask } from "../../task-types";
import type { Logger } from "../../logging";
import type { SignatureDict, WireValue } from "../../protocol/message";
import { reviveError, WorkerLostError } from "../errors";
import type { SerializedError } from "../errors";
import { RetryRequest } from "../retry";
import type { Request } from "../request";
import type { Execution, ExecutionPool, HandlerOutcome, JobHooks } from "./types";

/** Options of the thread pool. */
export interface ThreadPoolOptions {
  /** Module exporting the app (as `app` or default), loaded by every thread. */
  appModule: string;
  /** Most threads at once (the worker's concurrency). */
  size: number;
  /** Replace a thread after this many tasks (Celery worker_max_tasks_per_child). */
  maxTasksPerChild?: number | null;
  /** Replace a thread whose heap grew past this many KiB after a task (Celery worker_max_memory_per_child). */
  maxMemoryPerChild?: number | null;
  logger: Logger;
}

/**
 * The code each thread runs (plain JavaScript, evaluated by node:worker_threads so that it works
 * from the compiled package and from ts-jest alike). It needs nothing from celeriac: the app
 * module's `tasks` map gives the handler, errors are sent back field by field.
 */
const THREAD_MAIN = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const v8 = require("node:v8");
const mod = require(workerData.appModule);
const app = [mod && mod.app, mod && mod.default, mod && mod.default && mod.default.app, mod].find((c) => c && c.tasks instanceof Map);
if (!app) throw new Error(workerData.appModule + " does not export a Celery app (export it as app or default)");
const RETRY = Symbol("celeriac.retry");
const REPLACE = Symbol("celeriac.replace");
let current = null;
let seq = 0;
const pendingStates = new Map();

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
  if (typeof err.excType === "string") out.excType = err.excType;
  if (Array.isArray(err.excMessage)) out.excMessage = safe(err.excMessage);
  if (typeof err.excModule === "string") out.excModule = err.excModule;
  if (Array.isArray(err.args)) out.args = safe(err.args);
  return out;
}
function softLimitError() {
  const e = new Error("SoftTimeLimitExceeded()");
  e.name = "SoftTimeLimitExceeded";
  e.excType = "SoftTimeLimitExceeded";
  e.excMessage = [];
  e.excModule = "billiard.exceptions";
  return e;
}
function heap() { return v8.getHeapStatistics().used_heap_size; }

parentPort.on("message", async (msg) => {
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
  const send = (m) => { if (settled) return; settled = true; current = null; parentPort.postMessage(Object.assign({ job, heap: heap() }, m)); };
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
  try {
    if (!task) throw new Error("task " + msg.name + " is not registered in " + workerData.appModule);
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
        updateState(state, meta) {
          const s = ++seq;
          return new Promise((resolve, reject) => {
            pendingStates.set(s, { resolve, reject });
            parentPort.postMessage({ type: "updateState", job, seq: s, state, meta: meta === undefined ? null : safe(meta) });
          });
        },
      };
      args = [ctx].concat(args);
    }
    const value = await task.handler(...args);
    send({ type: "return", value: value === undefined ? null : value });
  } catch (err) {
    fail(err);
  }
});
parentPort.postMessage({ type: "online" });
`;

interface Slot {
  thread: Thread;
  id: number;
  tasks: number;
  busy: Job | null;
  /** Terminated on purpose (kill, recycle, close): its exit is not a lost worker. */
  retiring: boolean;
}

interface Job {
  id: number;
  hooks: JobHooks;
  finish(o: HandlerOutcome): void;
}

export class ThreadPool implements ExecutionPool {
  readonly kind = "threads" as const;
  private readonly slots = new Set<Slot>();
  private nextSlot = 1;
  private nextJob = 1;
  private readonly appModule: string;

  constructor(private readonly options: ThreadPoolOptions) {
    this.appModule = resolvePath(process.cwd(), options.appModule);
  }

  /** Threads alive now. */
  get threadCount(): number {
    return this.slots.size;
  }

  /** Thread ids, for tests: a killed or recycled thread is replaced by one with a new id. */
  get threadIds(): number[] {
    return [...this.slots].map((s) => s.thread.threadId);
  }

  private spawn(): Slot {
    const thread = new Thread(THREAD_MAIN, { eval: true, workerData: { appModule: this.appModule } });
    const slot: Slot = { thread, id: this.nextSlot++, tasks: 0, busy: null, retiring: false };
    this.slots.add(slot);
    thread.unref();
    thread.on("message", (m: ThreadMessage) => this.onMessage(slot, m));
    thread.on("error", (err) => {
      if (!slot.retiring) this.options.logger.error(`Pool thread ${slot.id} raised: ${err.stack ?? err.message}`);
    });
    thread.on("exit", (code) => {
      this.slots.delete(slot);
      const job = slot.busy;
      slot.busy = null;
      if (job && !slot.retiring) {
        this.options.logger.error(`Process 'Thread-${slot.id}' exited with 'exitcode ${code}'`);
        job.finish({ kind: "lost", error: new WorkerLostError(`Worker exited prematurely: exitcode ${code} Job: ${job.id}.`) });
      }
    });
    return slot;
  }

  private onMessage(slot: Slot, m: ThreadMessage): void {
    const job = slot.busy;
    if (m.type === "online" || !job || m.job !== job.id) return;
    if (m.type === "updateState") {
      job.hooks.updateState(m.state, m.meta).then(
        () => slot.thread.postMessage({ type: "stateStored", seq: m.seq }),
        (err: Error) => slot.thread.postMessage({ type: "stateStored", seq: m.seq, error: err.message }),
      );
      return;
    }
    slot.busy = null;
    slot.tasks++;
    if (m.type === "return") job.finish({ kind: "return", value: m.value });
    else if (m.type === "throw") job.finish({ kind: "throw", error: reviveError(m.error) });
    else if (m.type === "replace") job.finish({ kind: "throw", error: new ReplaceRequest(m.signature) });
    else if (m.type === "retry") {
      const exc = m.exc ? reviveError(m.exc) : undefined;
      job.finish({ kind: "throw", error: new RetryRequest({ ...m.options, exc }) });
    }
    const { maxTasksPerChild, maxMemoryPerChild } = this.options;
    if (maxTasksPerChild && slot.tasks >= maxTasksPerChild) {
      this.retire(slot, `reached max tasks per child (${maxTasksPerChild})`);
    } else if (maxMemoryPerChild && m.heap / 1024 > maxMemoryPerChild) {
      this.retire(slot, `heap ${Math.round(m.heap / 1024)} KiB exceeds max memory per child (${maxMemoryPerChild} KiB)`);
    }
  }

  private retire(slot: Slot, why: string): void {
    this.options.logger.info(`Replacing pool thread ${slot.id}: ${why}`);
    slot.retiring = true;
    this.slots.delete(slot);
    void slot.thread.terminate();
  }

  private idleSlot(): Slot {
    for (const s of this.slots) if (!s.busy && !s.retiring) return s;
    return this.spawn();
  }

  start(task: RegisteredTask, request: Request, args: unknown[], hooks: JobHooks): Execution {
    let finish!: (o: HandlerOutcome) => void;
    let finished = false;
    const done = new Promise<HandlerOutcome>((resolve) => {
      finish = (o) => {
        if (finished) return;
        finished = true;
        resolve(o);
      };
    });
    const job: Job = { id: this.nextJob++, hooks, finish };
    const slot = this.idleSlot();
    slot.busy = job;
    try {
      slot.thread.postMessage({ type: "run", job: job.id, name: task.name, args, info: request.info });
    } catch (err) {
      slot.busy = null;
      finish({ kind: "throw", error: err });
    }
    return {
      done,
      softLimit: () => {
        if (slot.busy === job) slot.thread.postMessage({ type: "soft", job: job.id });
      },
      kill: () => {
        if (slot.busy !== job) return;
        slot.busy = null;
        slot.retiring = true;
        this.slots.delete(slot);
        void slot.thread.terminate();
        finish({ kind: "throw", error: new Error("terminated") });
      },
    };
  }

  /** Terminate every thread; jobs still running end as lost. */
  async close(): Promise<void> {
    const all = [...this.slots];
    this.slots.clear();
    await Promise.all(
      all.map((s) => {
        s.retiring = true;
        const job = s.busy;
        s.busy = null;
        job?.finish({ kind: "lost", error: new WorkerLostError(`Worker exited prematurely: shutdown Job: ${job.id}.`) });
        return s.thread.terminate();
      }),
    );
  }
}

type ThreadMessage =
  | { type: "online"; job?: undefined }
  | { type: "return"; job: number; heap: number; value: unknown }
  | { type: "throw"; job: number; heap: number; error: SerializedError }
  | { type: "replace"; job: number; heap: number; signature: SignatureDict }
  | { type: "retry"; job: number; heap: number; options: Record<string, unknown>; exc: SerializedError | null }
  | { type: "updateState"; job: number; seq: number; state: string; meta: WireValue };
