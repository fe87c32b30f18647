/** Retries end to end on Redis: RETRY meta, the retry message, limits, autoretryFor (docs/protocol.md §8, S4–S6, B7). */
import type { Celery, Worker } from "../../src";
import { CeleryError } from "../../src";
import { pyJsonLoads } from "../../src/protocol/serializers/json";
import { captureLogger, storedMeta, testApp } from "../support/app";
import { rawRedis } from "../support/redis";
import { waitFor } from "../support/wait";

let app: Celery;
let worker: Worker | null = null;
const logger = captureLogger();

afterEach(async () => {
  await worker?.stop();
  worker = null;
  await app?.close();
  logger.lines.length = 0;
});

async function startWorker(): Promise<Worker> {
  worker = app.worker({ concurrency: 2, logger });
  await worker.start();
  return worker;
}


/** Envelopes of `id` held unacked by the worker (an ETA retry waits there). */
async function heldMessages(id: string): Promise<Array<{ headers: Record<string, unknown>; properties: Record<string, unknown> }>> {
  const redis = rawRedis(8);
  try {
    const all = await redis.hgetall("unacked");
    return Object.values(all)
      .map((v) => (pyJsonLoads(v) as unknown[])[0] as { headers: Record<string, unknown>; properties: Record<string, unknown> })
      .filter((e) => e.headers.id === id);
  } finally {
    redis.disconnect();
  }
}

const valueError = (msg: string) => new CeleryError("ValueError", [msg], "builtins");

test("retry(exc, countdown) stores RETRY with the exc, Retry traceback and the retry as child; republishes same id, retries+1, eta, parent_id=self, same queue", async () => {
  app = testApp();
  const t = app.task("tasks.retry_once", (ctx, x: number) => (ctx.request.retries === 0 ? ctx.retry({ exc: valueError("try again"), countdown: 2 }) : x * 2), { bind: true });
  await startWorker();
  const sentAt = Date.now();
  const r = await t.delay(5);
  await waitFor(async () => (await storedMeta(r.id))?.status === "RETRY", 10000, "RETRY stored");
  const meta = (await storedMeta(r.id)) as Record<string, unknown>;
  expect(meta).toMatchObject({
    status: "RETRY",
    result: { exc_type: "ValueError", exc_message: ["try again"], exc_module: "builtins" },
    children: [[[r.id, null], null]],
    date_done: null,
    task_id: r.id,
  });
  expect(meta.traceback).toMatch(/^Traceback \(most recent call last\):\n[\s\S]*\ncelery\.exceptions\.Retry: Retry in 2s: ValueError\('try again'\)\n$/);
  await waitFor(async () => (await heldMessages(r.id)).length === 1, 5000, "retry message held for its eta");
  const [msg] = await heldMessages(r.id);
  expect(msg.headers).toMatchObject({ id: r.id, task: "tasks.retry_once", retries: 1, root_id: r.id, parent_id: r.id, group: null });
  const eta = Date.parse(msg.headers.eta as string);
  expect(eta - sentAt).toBeGreaterThanOrEqual(1900);
  expect(eta - sentAt).toBeLessThan(8000);
  expect(msg.properties).toMatchObject({ correlation_id: r.id, reply_to: app.oid, delivery_info: { exchange: "", routing_key: app.conf.taskDefaultQueue } });
  expect(logger.lines.some((l) => l.includes(`Task tasks.retry_once[${r.id}] retry: Retry in 2s: ValueError('try again')`))).toBe(true);
  expect(await r.get({ timeout: 10000 })).toBe(10);
  expect(await storedMeta(r.id)).toMatchObject({ status: "SUCCESS", result: 10, parent_id: r.id });
});

test("retry without exc stores RETRY with a null result (as Celery's mark_as_retry(None))", async () => {
  app = testApp();
  const t = app.task("tasks.bare", (ctx) => (ctx.request.retries === 0 ? ctx.retry({ countdown: 1 }) : "ok"), { bind: true });
  await startWorker();
  const r = await t.delay();
  await waitFor(async () => (await storedMeta(r.id))?.status === "RETRY", 10000, "RETRY stored");
  const meta = (await storedMeta(r.id)) as Record<string, unknown>;
  // celery/app/trace.py TraceInfo.handle_retry: backend.mark_as_retry(req.id, reason.exc, ...), exc None here
  expect(meta.result).toBeNull();
  expect(meta.traceback).toMatch(/celery\.exceptions\.Retry: Retry in 1s\n$/);
  expect(await r.get({ timeout: 10000 })).toBe("ok");
});

test("past max_retries: FAILURE with the original exc, or MaxRetriesExceededError without one", async () => {
  app = testApp();
  let runs = 0;
  const withExc = app.task("tasks.exhaust", (ctx) => {
    runs++;
    return ctx.retry({ exc: valueError("no more"), countdown: 0 });
  }, { bind: true, maxRetries: 2 });
  // Python's def exhaust_bare(self, *args, **kwargs): the rest parameter takes (7,) and k=1
  const noExc = app.task("tasks.exhaust_bare", (ctx, ..._args: unknown[]) => ctx.retry({ countdown: 0, maxRetries: 0 }), { bind: true });
  await startWorker();
  const a = await withExc.delay();
  const b = await noExc.applyAsync([7], { k: 1 });
  await expect(a.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "ValueError", excModule: "builtins", excMessage: ["no more"] });
  expect(runs).toBe(3);
  expect(await storedMeta(a.id)).toMatchObject({ status: "FAILURE", parent_id: a.id });
  await expect(b.get({ timeout: 10000 })).rejects.toMatchObject({
    excType: "MaxRetriesExceededError",
    excModule: "celery.exceptions",
    excMessage: [`Can't retry tasks.exhaust_bare[${b.id}] args:(7,) kwargs:{'k': 1}`],
  });
});

test("autoretryFor (class or name) retries with retryKwargs, then stores the original error; dontAutoretryFor and other errors fail at once", async () => {
  app = testApp();
  class Flaky extends Error {
    override name = "Flaky";
  }
  const counts: Record<string, number> = {};
  const bump = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
  const byClass = app.task("tasks.auto_class", () => {
    if (bump("cls") < 3) throw new Flaky("again");
    return "third time";
  }, { autoretryFor: [Flaky], retryKwargs: { countdown: 0 } });
  const byName = app.task("tasks.auto_name", () => {
    bump("name");
    throw new CeleryError("KeyError", ["missing"], "builtins");
  }, { autoretryFor: ["KeyError"], maxRetries: 1, retryKwargs: { countdown: 0 } });
  const other = app.task("tasks.auto_other", () => {
    bump("other");
    throw new TypeError("not retried");
  }, { autoretryFor: ["KeyError"], retryKwargs: { countdown: 0 } });
  const excluded = app.task("tasks.auto_excluded", () => {
    bump("excluded");
    throw new Flaky("never");
  }, { autoretryFor: ["Exception"], dontAutoretryFor: [Flaky], retryKwargs: { countdown: 0 } });
  await startWorker();
  const [r1, r2, r3, r4] = await Promise.all([byClass.delay(), byName.delay(), other.delay(), excluded.delay()]);
  expect(await r1.get({ timeout: 10000 })).toBe("third time");
  await expect(r2.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "KeyError", excMessage: ["missing"] });
  await expect(r3.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "TypeError" });
  await expect(r4.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "Flaky" });
  expect(counts).toEqual({ cls: 3, name: 2, other: 1, excluded: 1 });
});

test("retryBackoff without jitter spaces retries 1s, 2s (factor × 2^retries)", async () => {
  app = testApp();
  const times: number[] = [];
  const t = app.task("tasks.backoff", () => {
    times.push(Date.now());
    throw new CeleryError("KeyError", ["k"], "builtins");
  }, { autoretryFor: ["KeyError"], maxRetries: 2, retryBackoff: true, retryJitter: false });
  await startWorker();
  const r = await t.delay();
  await expect(r.get({ timeout: 15000 })).rejects.toMatchObject({ excType: "KeyError" });
  expect(times).toHaveLength(3);
  expect(times[1] - times[0]).toBeGreaterThanOrEqual(900);
  expect(times[2] - times[1]).toBeGreaterThanOrEqual(1900);
  expect(times[2] - times[1]).toBeLessThan(3500);
});
