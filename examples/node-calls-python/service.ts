// service.ts: a Node service that calls the Python tasks of tasks.py by name, with types.
// Build: npx tsc (writes dist/service.js); run: node dist/service.js
import { Celery, RemoteError, ResultTimeoutError } from "celeriac/client";

/** tasks.PaymentDeclined (the Python exception), thrown by get() as this class. */
class PaymentDeclined extends Error {
  constructor(
    message: string,
    readonly amount: number,
  ) {
    super(message);
    this.name = "PaymentDeclined";
  }
}

// CELERY_BROKER_URL and CELERY_RESULT_BACKEND, when set, win over these (as in Celery).
const app = new Celery("service", { broker: "redis://127.0.0.1:6379/0", backend: "redis://127.0.0.1:6379/1" });
// "module.Class" as Python names it: the worker runs `celery -A tasks`, so the module is `tasks`.
app.registerError("tasks.PaymentDeclined", PaymentDeclined);

// The Python tasks, declared once: <positional parameters, result, parameter names (for kwargs)>.
// Nothing is registered or imported from Python: a declaration is a name and types.
const add = app.remoteTask<[x: number, y: number], number, ["x", "y"]>("reports.add");
const render = app.remoteTask<[reportId: string, pages: number], { report_id: string; pages: number }>("reports.render");
const charge = app.remoteTask<[orderId: number, amount: number], string>("reports.charge");
const parse = app.remoteTask<[text: string], number>("reports.parse");
const slow = app.remoteTask<[seconds: number], string>("reports.slow");

async function main(): Promise<void> {
  // 1. Call and wait for the result (get() waits by Redis pub/sub, not by polling).
  const sum = await add.delay(2, 3);
  console.log(`add(2, 3) = ${await sum.get({ timeout: 10_000 })}`);
  // Keyword arguments by the names declared above: Python receives add(2, y=40).
  const kw = await add.applyAsync([2], { y: 40 });
  console.log(`add(2, y=40) = ${await kw.get({ timeout: 10_000 })}`);

  // 2. Progress: every state the task stores while get() waits, PROGRESS included.
  const report = await render.delay("r-7", 3);
  const done = await report.get({
    timeout: 30_000,
    onMessage: (meta) => {
      if (meta.status !== "PROGRESS") return;
      const { page, pages } = meta.result as { page: number; pages: number };
      console.log(`render r-7: page ${page} of ${pages}`);
    },
  });
  console.log(`render r-7: ${JSON.stringify(done)}`);

  // 3. Errors raised in Python reject get(): a registered class, or a RemoteError.
  console.log(`charge(7, 50): ${await (await charge.delay(7, 50)).get({ timeout: 10_000 })}`);
  try {
    await (await charge.delay(8, 250)).get({ timeout: 10_000 });
  } catch (err) {
    if (!(err instanceof PaymentDeclined)) throw err;
    console.log(`charge(8, 250) declined: ${err.message} (amount ${err.amount})`);
  }
  try {
    await (await parse.delay("x")).get({ timeout: 10_000 });
  } catch (err) {
    if (!(err instanceof RemoteError)) throw err;
    console.log(`parse("x"): ${err.excModule}.${err.excType}: ${err.message}`);
  }

  // 4. Timeouts: get() gives up with a ResultTimeoutError; the task keeps running.
  const late = await slow.delay(2);
  try {
    await late.get({ timeout: 500 });
  } catch (err) {
    if (!(err instanceof ResultTimeoutError)) throw err;
    console.log(`slow(2): no result within 500 ms (${err.name})`);
  }
  console.log(`slow(2) = ${await late.get({ timeout: 10_000 })}`);
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => app.close());
