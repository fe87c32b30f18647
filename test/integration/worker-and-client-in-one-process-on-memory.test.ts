/**
 * `memory://` and `cache+memory://`: a worker and a client in one process with nothing else
 * running (no Redis, no RabbitMQ): tasks, results, retries, ETA, canvas, remote control and events.
 */
import type { BoundTaskContext, CeleryEvent } from "../../src";
import { Celery, EventReceiver, chain, chord, group } from "../../src";
import { captureLogger, perTestApp, unique } from "../support/app";
import { waitFor } from "../support/wait";

const current = perTestApp();
const logger = captureLogger();
afterEach(() => {
  logger.lines.length = 0;
});

function memoryApp(): Celery {
  return new Celery("mem", { broker: "memory://", backend: "cache+memory://", taskDefaultQueue: unique("mem") });
}

async function setup() {
  const app = (current.app = memoryApp());
  const add = app.task("tasks.add", (x: number, y: number) => x + y);
  const tsum = app.task("tasks.tsum", (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  let runs = 0;
  const flaky = app.task(
    "tasks.flaky",
    (ctx: BoundTaskContext) => {
      runs++;
      if (ctx.request.retries < 2) ctx.retry({ countdown: 0 });
      return { retries: ctx.request.retries, runs, eager: ctx.request.isEager ?? false };
    },
    { bind: true },
  );
  const fail = app.task("tasks.fail", () => {
    throw new RangeError("no");
  });
  const worker = (current.worker = app.worker({ concurrency: 4, logger, hostname: `${unique("w")}@memory` }));
  await worker.start();
  return { app, worker, add, tsum, flaky, fail };
}

test("a task sent to memory:// runs on the worker; its result is read from cache+memory://", async () => {
  const { add, fail } = await setup();
  const r = await add.delay(2, 3);
  expect(await r.get({ timeout: 10000 })).toBe(5);
  expect(await r.state()).toBe("SUCCESS");
  const f = await fail.delay();
  await expect(f.get({ timeout: 10000 })).rejects.toMatchObject({ name: "RangeError", message: "no" });
  expect(logger.lines.join("\n")).toContain("tasks.add");
});

test("retries go through the broker and run on the worker (not eagerly)", async () => {
  const { flaky } = await setup();
  const r = await flaky.delay();
  expect(await r.get({ timeout: 10000 })).toEqual({ retries: 2, runs: 3, eager: false });
});

test("a countdown task is held by the worker and does not run early", async () => {
  const { add } = await setup();
  const sent = Date.now();
  const r = await add.applyAsync([1, 1], {}, { countdown: 1 });
  expect(await r.get({ timeout: 10000 })).toBe(2);
  expect(Date.now() - sent).toBeGreaterThanOrEqual(900);
});

test("chain, group and chord run on the worker (chords joined by the memory backend)", async () => {
  const { add, tsum } = await setup();
  const c = await chain(add.s(1, 2), add.s(3), add.s(4)).applyAsync();
  expect(await c.get({ timeout: 10000 })).toBe(10);
  const g = await group(add.s(1, 1), add.s(2, 2), add.s(3, 3)).applyAsync();
  expect(await g.get({ timeout: 10000 })).toEqual([2, 4, 6]);
  const ch = await chord([add.s(1, 1), add.s(2, 2), add.s(3, 3)], tsum.s()).applyAsync();
  expect(await ch.get({ timeout: 10000 })).toBe(12);
});

test("remote control and events reach the worker in the same process", async () => {
  const { app, worker } = await setup();
  const replies = await app.control.ping({ timeout: 1 });
  expect(replies).toEqual([{ [worker.hostname]: { ok: "pong" } }]);
  const events: CeleryEvent[] = [];
  const receiver = new EventReceiver(await app.connection(), (e: CeleryEvent) => void events.push(e));
  await receiver.start();
  try {
    await app.control.enableEvents();
    const r = await app.sendTask("tasks.add", [1, 2]);
    await r.get({ timeout: 10000 });
    await waitFor(() => events.some((e) => e.type === "task-succeeded" && e.uuid === r.id), 10000, "task-succeeded event");
  } finally {
    await receiver.stop();
  }
});

test("two apps of one process share the broker and the results (kombu's global state)", async () => {
  const { app, add } = await setup();
  const client = new Celery("other", { broker: "memory://", backend: "cache+memory://", taskDefaultQueue: app.conf.taskDefaultQueue });
  try {
    const r = await client.sendTask("tasks.add", [20, 22]);
    expect(await r.get({ timeout: 10000 })).toBe(42);
    expect(await app.AsyncResult(r.id).get()).toBe(42);
  } finally {
    await client.close();
  }
  expect(add.name).toBe("tasks.add");
});
