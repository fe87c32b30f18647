/** What the worker stores has the exact shape Celery stores: STARTED, result_extended, ignore_result. */
import type { Celery, Worker } from "../../src";
import { captureLogger, testApp } from "../support/app";
import { rawRedis } from "../support/redis";
import { waitFor } from "../support/wait";
import { loadVector } from "../support/vectors";

let app: Celery;
let worker: Worker | null = null;

afterEach(async () => {
  await worker?.stop();
  worker = null;
  await app?.close();
});

async function stored(id: string): Promise<string | null> {
  const redis = rawRedis(9);
  try {
    return await redis.get(`celery-task-meta-${id}`);
  } finally {
    redis.disconnect();
  }
}

function keyOrder(text: string): string[] {
  return Object.keys(JSON.parse(text) as object);
}

test("result_extended adds name/args/kwargs/worker/retries/queue in Celery's key order", async () => {
  app = testApp({ resultExtended: true });
  const echo = app.task("tasks.echo", (...args: unknown[]) => ({ args: args.slice(0, -1), kwargs: args[args.length - 1] }));
  worker = app.worker({ hostname: "vec1@vectorhost", logger: captureLogger() });
  await worker.start();
  const r = await echo.applyAsync([1, "a"], { k: "v" });
  await r.get({ timeout: 10000 });
  const text = (await stored(r.id)) as string;
  // the key order of Celery 5.2's stored meta with result_extended (vector backend-redis-result-extended)
  expect(keyOrder(text)).toEqual(keyOrder(loadVector("backend-redis-result-extended").raw as string));
  expect(keyOrder(text)).toEqual(["status", "result", "traceback", "children", "date_done", "name", "args", "kwargs", "worker", "retries", "queue", "task_id"]);
  expect(JSON.parse(text)).toMatchObject({ name: "tasks.echo", args: [1, "a"], kwargs: { k: "v" }, worker: "vec1@vectorhost", retries: 0, queue: app.conf.taskDefaultQueue });
  expect((JSON.parse(text) as { date_done: string }).date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
});

test("task_track_started stores STARTED {pid, hostname} while the task runs", async () => {
  app = testApp({ taskTrackStarted: true });
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const t = app.task("tasks.wait", async () => {
    await gate;
    return "ok";
  });
  worker = app.worker({ hostname: "w@h", logger: captureLogger() });
  await worker.start();
  const r = await t.delay();
  await waitFor(async () => (await r.state()) === "STARTED", 5000, "STARTED");
  const text = (await stored(r.id)) as string;
  expect(text).toBe(`{"status": "STARTED", "result": {"pid": ${process.pid}, "hostname": "w@h"}, "traceback": null, "children": [], "date_done": null, "task_id": "${r.id}"}`);
  release();
  expect(await r.get({ timeout: 5000 })).toBe("ok");
});

test("ignoreResult (task option or call option) stores nothing", async () => {
  app = testApp();
  const quiet = app.task("tasks.quiet", () => 1, { ignoreResult: true });
  const loud = app.task("tasks.loud", () => 2);
  const logger = captureLogger();
  worker = app.worker({ logger });
  await worker.start();
  const a = await quiet.delay();
  const b = await loud.applyAsync([], {}, { ignoreResult: true });
  const c = await loud.delay();
  expect(await c.get({ timeout: 5000 })).toBe(2);
  await waitFor(() => logger.lines.filter((l) => l.includes("succeeded")).length === 3, 5000, "three tasks ran");
  expect(await stored(a.id)).toBeNull();
  expect(await stored(b.id)).toBeNull();
});

test("AsyncResult helpers: ready, successful, failed, result, forget", async () => {
  app = testApp();
  const ok = app.task("tasks.ok", () => "v");
  const bad = app.task("tasks.bad", () => {
    throw new Error("nope");
  });
  worker = app.worker({ logger: captureLogger() });
  await worker.start();
  const r1 = await ok.delay();
  const r2 = await bad.delay();
  await r1.get({ timeout: 5000 });
  await r2.get({ timeout: 5000, propagate: false });
  expect([await r1.ready(), await r1.successful(), await r1.failed(), await r1.result()]).toEqual([true, true, false, "v"]);
  expect([await r2.ready(), await r2.successful(), await r2.failed()]).toEqual([true, false, true]);
  expect(await r2.result()).toMatchObject({ excType: "Error", excMessage: ["nope"] });
  await r1.forget();
  expect(await r1.state()).toBe("PENDING");
});
