// The celeriac side of the interop tests, as a module the CLI can load:
//   node dist/cli/main.js worker -A interop-tests/apps/tsapp.js
// Configured by TSAPP_BROKER, TSAPP_BACKEND, TSAPP_QUEUE, TSAPP_VISIBILITY (s), TSAPP_ACKS_LATE,
// TSAPP_MAX_RETRIES (broker_connection_max_retries) and TSAPP_SETTINGS (JSON of more settings,
// e.g. secret ones, merged last).
// Worker-semantics tasks (ts.retry_*, ts.auto_*, ts.soft*, ts.hard*, ts.spin*, ts.crash,
// ts.progress, ts.limited) mirror the py.* tasks of interop-tests/py/pyapp.py.
const { Celery, CeleryError } = require("../../dist");

const app = new Celery("tsapp", {
  broker: process.env.TSAPP_BROKER,
  backend: process.env.TSAPP_BACKEND,
  taskDefaultQueue: process.env.TSAPP_QUEUE || "celery",
  taskAcksLate: process.env.TSAPP_ACKS_LATE === "1",
  brokerConnectionMaxRetries: process.env.TSAPP_MAX_RETRIES ? Number(process.env.TSAPP_MAX_RETRIES) : undefined,
  acceptContent: ["json", "msgpack", "yaml"],
  brokerTransportOptions: process.env.TSAPP_VISIBILITY
    ? { visibilityTimeout: Number(process.env.TSAPP_VISIBILITY), unackedRestoreInterval: 1 }
    : {},
  ...(process.env.TSAPP_SETTINGS ? JSON.parse(process.env.TSAPP_SETTINGS) : {}),
});

app.task("ts.add", (/** @type {number} */ x, /** @type {number} */ y) => x + y);
app.task("ts.echo", (...args) => args);
// Celery's task logger: ctx.logger lines in the worker's log.
app.task("ts.log", (ctx, text) => (ctx.logger.warning(text), text), { bind: true });
// ctx.replace (Celery self.replace): ts.add(x, 100) runs under this task's id, also in the threads pool.
app.task("ts.replace_add", (ctx, x) => ctx.replace(app.signature("ts.add", [x, 100])), { bind: true });
app.task("ts.sleep", async (seconds, tag) => {
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return tag;
});

const keyError = (msg) => new CeleryError("KeyError", [msg], "builtins");
const valueError = (msg) => new CeleryError("ValueError", [msg], "builtins");
const sleep = (seconds, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, seconds * 1000);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
/** Busy CPU for `seconds` (never yields to the event loop). */
function spin(seconds) {
  const end = Date.now() + seconds * 1000;
  let n = 0;
  while (Date.now() < end) n++;
  return n;
}

// Retries: succeed on the third run; exhaust with the original error; autoretry on KeyError.
app.task("ts.retry_then_ok", (ctx, x) => (ctx.request.retries < 2 ? ctx.retry({ exc: valueError("try again"), countdown: 1 }) : x), { bind: true });
app.task("ts.retry_exhaust", (ctx) => ctx.retry({ exc: valueError("no more"), countdown: 0 }), { bind: true, maxRetries: 1 });
app.task("ts.auto_retry", () => {
  throw keyError("missing");
}, { autoretryFor: ["KeyError"], maxRetries: 2, retryKwargs: { countdown: 0 } });
// Time limits: soft 1 s on a plain async task; hard 1 s; a bound task cleaning up on the soft limit.
app.task("ts.soft_limited", async () => {
  await sleep(3);
  return "not reached";
}, { softTimeLimit: 1 });
app.task("ts.soft_cleanup", async (ctx) => {
  try {
    await sleep(3, ctx.signal);
    return "not reached";
  } catch (err) {
    return `cleaned up after ${err.name}`;
  }
}, { bind: true, softTimeLimit: 1 });
app.task("ts.hard_limited", async () => {
  await sleep(5);
  return "not reached";
}, { timeLimit: 1 });
app.task("ts.spin", (seconds) => spin(seconds) && seconds);
app.task("ts.spin_hard", (seconds) => spin(seconds) && seconds, { timeLimit: 1 });
app.task("ts.crash", () => process.exit(3), { acksLate: true });
// Dies on its first run (a marker file remembers it), succeeds when the requeued message runs again.
app.task("ts.crash_requeue", (ctx) => {
  const marker = require("node:path").join(require("node:os").tmpdir(), `celeriac-crash-${ctx.request.id}`);
  if (require("node:fs").existsSync(marker)) return "second run";
  require("node:fs").writeFileSync(marker, "1");
  process.exit(3);
}, { bind: true, acksLate: true, rejectOnWorkerLost: true });
app.task("ts.thread_id", () => require("node:worker_threads").threadId);
// Prefork pool: a CPU-bound loop that never ends (only a hard limit stops it), the pid of the
// process running a task, and a task that SIGKILLs its own process (once, with a marker file, for
// the requeue variant).
app.task("ts.cpu_spin", () => {
  for (;;);
});
app.task("ts.pid", () => process.pid);
// Waits up to a minute, cleaning up when ctx.signal aborts (revoke terminate with SIGUSR1 gives the soft limit).
app.task("ts.wait_abort", async (ctx) => {
  try {
    await sleep(60, ctx.signal);
    return "not reached";
  } catch (err) {
    return `cleaned up after ${err.name} in ${process.pid}`;
  }
}, { bind: true });
app.task("ts.sigkill", () => process.kill(process.pid, "SIGKILL"));
app.task("ts.sigkill_requeue", (ctx) => {
  const marker = require("node:path").join(require("node:os").tmpdir(), `celeriac-sigkill-${ctx.request.id}`);
  if (require("node:fs").existsSync(marker)) return "second run";
  require("node:fs").writeFileSync(marker, "1");
  process.kill(process.pid, "SIGKILL");
}, { bind: true, acksLate: true, rejectOnWorkerLost: true });
// A task sending another from its handler (on its own queue): the sent one reports its parent and
// root ids, so tests see that a pool child runs each handler as the app's current task.
app.task("ts.spawn_child", async (ctx) => (await app.sendTask("ts.parent_of", [], {}, { queue: ctx.request.deliveryInfo.routingKey })).id, { bind: true });
app.task("ts.parent_of", (ctx) => [ctx.request.parentId, ctx.request.rootId], { bind: true });
// Custom states and rate limits.
app.task("ts.progress", async (ctx, steps) => {
  for (let i = 1; i <= steps; i++) {
    await ctx.updateState("PROGRESS", { current: i, total: steps });
    await sleep(0.4);
  }
  return steps;
}, { bind: true });
app.task("ts.limited", () => Date.now() / 1000, { rateLimit: "2/s" });

// Careless tasks: errors that escape the handler (the worker must survive them), and results
// that cannot be encoded (FAILURE EncodeError must be stored, never PENDING).
const { EventEmitter } = require("node:events");
const { AsyncResource } = require("node:async_hooks");
app.task("ts.stray_rejection", () => {
  // Deliberately left unhandled (`void` only marks it as intended): the worker's crash guard must see an
  // unhandledRejection and log it against this task (worker-survives-careless-tasks.test.ts).
  void Promise.reject(new Error("nobody awaits me"));
  return "returned";
});
app.task("ts.stray_timer_throw", () => {
  setTimeout(() => {
    throw new TypeError("thrown in a timer");
  }, 50);
  return "returned";
});
app.task("ts.stray_emitter_error", () => {
  const emitter = new EventEmitter();
  setTimeout(() => emitter.emit("error", new Error("no listener")), 50);
  return "returned";
});
// Made at load time, outside any task: code run in its scope belongs to no task.
const outsideAnyTask = new AsyncResource("celeriac-test-outside");
app.task("ts.throw_outside_task", () => {
  outsideAnyTask.runInAsyncScope(() => setTimeout(() => {
    throw new Error("thrown outside any task");
  }, 50));
  return "returned";
});
app.task("ts.deep_result", (depth) => {
  let v = [];
  for (let i = 0; i < depth; i++) v = [v];
  return v;
});
app.task("ts.symbol_result", () => Symbol("not encodable"));
app.task("ts.long_result", (n) => "x".repeat(n));
// What a task prints: on a pool child it goes to the worker's log (worker_redirect_stdouts).
app.task("ts.print", (/** @type {string} */ text) => {
  console.log(text);
  console.error(`${text} (stderr)`);
  process.stdout.write(`${text} (write)\n`);
  return text;
});

// pyerrors.PaymentDeclined (interop-tests/py/pyerrors.py), mapped both ways: Python's `except` catches it.
class PaymentDeclined extends Error {
  /** @param {...unknown} args */
  constructor(...args) {
    super(String(args[0]));
    this.name = "PaymentDeclined";
    this.args = args;
  }
}
app.registerError("pyerrors.PaymentDeclined", PaymentDeclined);
app.task("ts.decline", (/** @type {number} */ amount) => {
  throw new PaymentDeclined("declined", amount);
});
app.task("ts.type_error", () => {
  throw new TypeError("not a number");
});

module.exports = { app };
