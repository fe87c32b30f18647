/**
 * Control commands act through the worker's consumer (Redis): time_limit and rate_limit are
 * per-worker overrides (the task's own options stay as declared) that later runs obey and
 * `registered` shows; pool_grow / pool_shrink change how many tasks run at once; add_consumer of
 * a queue consumed already says so.
 */
import { randomUUID } from "node:crypto";
import type { Celery } from "../../src/celery";
import type { Worker } from "../../src/worker/worker";
import { captureLogger, storedMeta, testApp } from "../support/app";
import { waitFor } from "../support/wait";

let app: Celery;
let client: Celery;
let worker: Worker;
let node: string;

beforeAll(async () => {
  app = testApp();
  app.task("o.sleep", async (seconds: number) => {
    await new Promise((r) => setTimeout(r, seconds * 1000));
    return seconds;
  });
  node = `over-${randomUUID().slice(0, 8)}@test`;
  worker = app.worker({ hostname: node, concurrency: 1, logger: captureLogger(), heartbeat: false });
  await worker.start();
  client = testApp({ taskDefaultQueue: app.conf.taskDefaultQueue });
});

afterAll(async () => {
  await worker.stop();
  await app.close();
  await client.close();
});

const to = () => ({ destination: [node], timeout: 3, reply: true });

test("time_limit: the next run is stopped at the new hard limit; the task's options are untouched", async () => {
  expect(await client.control.timeLimit("o.sleep", null, 0.3, to())).toEqual([{ [node]: { ok: "time limits set successfully" } }]);
  expect(app.tasks.get("o.sleep")!.options.timeLimit).toBeUndefined();
  expect(worker.consumer.taskOverrides("o.sleep")).toEqual({ softTimeLimit: null, timeLimit: 0.3 });
  const r = await client.sendTask("o.sleep", [3]);
  await waitFor(async () => (await storedMeta(r.id))?.status === "FAILURE", 5000, "FAILURE TimeLimitExceeded");
  expect((await storedMeta(r.id))!.result).toMatchObject({ exc_type: "TimeLimitExceeded" });
  expect((await client.control.inspect({ destination: [node], timeout: 3 }).registered("time_limit"))![node]).toEqual(["o.sleep [time_limit=0.3]"]);
  expect(await client.control.timeLimit("o.sleep", null, null, to())).toEqual([{ [node]: { ok: "time limits set successfully" } }]);
  const ok = await client.sendTask("o.sleep", [0.5]);
  expect(await ok.get({ timeout: 5000 })).toBe(0.5);
});

test("rate_limit: an override of this worker, shown by registered, removed again by null", async () => {
  expect(await client.control.rateLimit("o.sleep", "6/m", to())).toEqual([{ [node]: { ok: "new rate limit set successfully" } }]);
  expect(app.tasks.get("o.sleep")!.options.rateLimit).toBeUndefined();
  expect((await client.control.inspect({ destination: [node], timeout: 3 }).registered())![node]).toEqual(["o.sleep [rate_limit=6/m]"]);
  expect(await client.control.rateLimit("o.sleep", "6/x", to())).toEqual([
    { [node]: { error: `Invalid rate limit string: ValueError('invalid rate limit: "6/x" (expected "<n>/s", "<n>/m" or "<n>/h")')` } },
  ]);
  expect(await client.control.rateLimit("o.sleep", null, to())).toEqual([{ [node]: { ok: "rate limit disabled successfully" } }]);
  expect((await client.control.inspect({ destination: [node], timeout: 3 }).registered())![node]).toEqual(["o.sleep"]);
});

test("pool_grow / pool_shrink change how many tasks run at once (stats max-concurrency)", async () => {
  const stats = async () => (await client.control.inspect({ destination: [node], timeout: 3 }).stats())![node] as { pool: Record<string, unknown> };
  expect((await stats()).pool["max-concurrency"]).toBe(1);
  expect(await client.control.broadcast("pool_grow", { ...to(), arguments: { n: 2 } })).toEqual([{ [node]: { ok: "pool will grow" } }]);
  expect(worker.consumer.concurrency).toBe(3);
  expect((await stats()).pool["max-concurrency"]).toBe(3);
  const runs = await Promise.all([1, 1, 1].map((s) => client.sendTask("o.sleep", [s])));
  await waitFor(() => worker.activeRequests.length === 3, 5000, "3 running at once");
  await Promise.all(runs.map((r) => r.get({ timeout: 5000 })));
  expect(await client.control.broadcast("pool_shrink", { ...to(), arguments: { n: 5 } })).toEqual([{ [node]: { ok: "pool will shrink" } }]);
  expect(worker.consumer.concurrency).toBe(1);
});

test("add_consumer of a queue consumed already says so; cancel_consumer stops consuming it", async () => {
  const queue = app.conf.taskDefaultQueue;
  expect(await client.control.addConsumer(queue, to())).toEqual([{ [node]: { ok: `already consuming from ${queue}` } }]);
  const extra = `extra-${randomUUID().slice(0, 8)}`;
  expect(await client.control.addConsumer(extra, to())).toEqual([{ [node]: { ok: `add consumer ${extra}` } }]);
  expect(worker.consumer.queues).toEqual([queue, extra]);
  expect(await client.control.cancelConsumer(extra, to())).toEqual([{ [node]: { ok: `no longer consuming from ${extra}` } }]);
  expect(worker.queues).toEqual([queue]);
});
