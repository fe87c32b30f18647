/** The worker and client end to end on a real Redis: results, failures, bad input, limits, acks. */
import { randomUUID } from "node:crypto";
import type { Celery, Worker } from "../../src";
import { CeleryError } from "../../src";
import { pyJsonDumps } from "../../src/protocol/serializers/json";
import { captureLogger, testApp } from "../support/app";
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

async function startWorker(options: Parameters<Celery["worker"]>[0] = {}): Promise<Worker> {
  worker = app.worker({ concurrency: 4, logger, ...options });
  await worker.start();
  return worker;
}

/** LPUSH a hand-made kombu envelope onto the app's default queue. */
async function pushEnvelope(envelope: object | string): Promise<void> {
  const redis = rawRedis(8);
  try {
    await redis.lpush(app.conf.taskDefaultQueue, typeof envelope === "string" ? envelope : pyJsonDumps(envelope));
  } finally {
    redis.disconnect();
  }
}

function envelope(task: string, id: string, body: Buffer, contentType = "application/json", extra: object = {}): object {
  return {
    body: body.toString("base64"),
    "content-encoding": contentType === "application/json" ? "utf-8" : "binary",
    "content-type": contentType,
    headers: { lang: "py", task, id, root_id: id, parent_id: null, group: null, ...extra },
    properties: {
      correlation_id: id,
      reply_to: "",
      delivery_mode: 2,
      delivery_info: { exchange: "", routing_key: app.conf.taskDefaultQueue },
      priority: 0,
      body_encoding: "base64",
      delivery_tag: randomUUID(),
    },
  };
}

async function unackedCount(): Promise<number> {
  const redis = rawRedis(8);
  try {
    return await redis.hlen("unacked");
  } finally {
    redis.disconnect();
  }
}

test("delay runs the task and get() returns its result", async () => {
  app = testApp();
  const add = app.task("tasks.add", (x: number, y: number) => x + y);
  await startWorker();
  const r = await add.delay(2, 3);
  expect(await r.get({ timeout: 10000 })).toBe(5);
  expect(await r.state()).toBe("SUCCESS");
  const line = new RegExp(`INFO/MainProcess\\] Task tasks\\.add\\[${r.id}\\] succeeded in [0-9.e-]+s: 5$`);
  await waitFor(() => logger.lines.some((l) => line.test(l)), 2000, "Celery-style success log line");
});

test("kwargs are mapped onto declared params, otherwise passed as a trailing object", async () => {
  app = testApp();
  app.task("tasks.mul", (x: number, y: number) => x * y, { params: ["x", "y"] });
  app.task("tasks.echo", (...args: unknown[]) => args);
  await startWorker();
  expect(await (await app.sendTask("tasks.mul", [3], { y: 4 })).get({ timeout: 10000 })).toBe(12);
  expect(await (await app.sendTask("tasks.echo", [1], { k: "v" })).get({ timeout: 10000 })).toEqual([1, { k: "v" }]);
  const bad = await app.sendTask("tasks.mul", [3], { z: 4 });
  await expect(bad.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "TypeError" });
});

test("a bound task gets the request context", async () => {
  app = testApp();
  const info = app.task("tasks.info", (ctx, a: string) => ({ id: ctx.request.id, retries: ctx.request.retries, a }), { bind: true });
  await startWorker();
  const r = await info.delay("x");
  expect(await r.get({ timeout: 10000 })).toEqual({ id: r.id, retries: 0, a: "x" });
});

test("a thrown JS error is stored as FAILURE and rejects get() with its type and message", async () => {
  app = testApp();
  const fail = app.task("tasks.fail", (m: string) => {
    throw new RangeError(m);
  });
  await startWorker();
  const r = await fail.delay("too far");
  const err = await r.get({ timeout: 10000 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CeleryError);
  expect(err).toMatchObject({ excType: "RangeError", excMessage: ["too far"] });
  expect(await r.state()).toBe("FAILURE");
  expect(await r.traceback()).toMatch(/RangeError: too far/);
  expect(await r.get({ timeout: 1000, propagate: false })).toBeInstanceOf(CeleryError);
});

test("async handlers are awaited", async () => {
  app = testApp();
  const slow = app.task("tasks.slow", async (v: string) => {
    await new Promise((r) => setTimeout(r, 50));
    return v.toUpperCase();
  });
  await startWorker();
  expect(await (await slow.delay("ok")).get({ timeout: 10000 })).toBe("OK");
});

test("an unknown task is rejected, logged once and stored as FAILURE NotRegistered", async () => {
  app = testApp();
  await startWorker();
  const r = await app.sendTask("tasks.nope", [1]);
  const err = await r.get({ timeout: 10000 }).catch((e: unknown) => e);
  expect(err).toMatchObject({ excType: "NotRegistered", excModule: "celery.exceptions", excMessage: ["tasks.nope"] });
  expect(logger.lines.filter((l) => l.includes("unregistered task of type 'tasks.nope'"))).toHaveLength(1);
  await waitFor(async () => (await unackedCount()) === 0, 5000, "unacked cleared");
});

test("a pickle message is refused with one log line, not stored, and not left unacked", async () => {
  app = testApp();
  app.task("tasks.add", (x: number, y: number) => x + y);
  await startWorker();
  const id = randomUUID();
  await pushEnvelope(envelope("tasks.add", id, Buffer.from("80049500", "hex"), "application/x-python-serialize"));
  await waitFor(() => logger.lines.some((l) => l.includes("Refusing to deserialize untrusted content of type pickle")), 5000, "refusal log");
  expect(await app.AsyncResult(id).state()).toBe("PENDING");
  await waitFor(async () => (await unackedCount()) === 0, 5000, "unacked cleared");
});

test("an undecodable body and a malformed envelope are logged and do not stop the worker", async () => {
  app = testApp();
  const add = app.task("tasks.add", (x: number, y: number) => x + y);
  await startWorker();
  await pushEnvelope(envelope("tasks.add", randomUUID(), Buffer.from("[[1, 2], {}")));
  await pushEnvelope("this is not json");
  await waitFor(() => logger.lines.some((l) => l.includes("ERROR") && l.includes("tasks.add")), 5000, "decode error log");
  await waitFor(() => logger.lines.some((l) => l.includes("Broker message could not be read")), 5000, "envelope error log");
  expect(await (await add.delay(1, 1)).get({ timeout: 10000 })).toBe(2);
});

test("never more than `concurrency` handlers run at once", async () => {
  app = testApp();
  let running = 0;
  let peak = 0;
  const t = app.task("tasks.busy", async () => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 20));
    running--;
    return null;
  });
  await startWorker({ concurrency: 3 });
  const results = await Promise.all(Array.from({ length: 30 }, () => t.delay()));
  await Promise.all(results.map((r) => r.get({ timeout: 20000 })));
  expect(peak).toBe(3);
});

test("the prefetch window bounds how many messages the worker holds unacked", async () => {
  app = testApp({ taskAcksLate: true });
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const t = app.task("tasks.gated", async () => {
    await gate;
    return 1;
  });
  const w = await startWorker({ concurrency: 2, prefetchMultiplier: 2 });
  const results = await Promise.all(Array.from({ length: 20 }, () => t.delay()));
  await waitFor(() => w.activeRequests.length === 2, 5000, "2 active");
  await new Promise((r) => setTimeout(r, 300));
  expect(await unackedCount()).toBeLessThanOrEqual(4);
  expect(w.activeRequests.length + w.reservedRequests.length).toBeLessThanOrEqual(4);
  release();
  await Promise.all(results.map((r) => r.get({ timeout: 20000 })));
});

test("acksLate keeps the message unacked while it runs; default acks before running", async () => {
  for (const acksLate of [true, false]) {
    app = testApp({ taskAcksLate: acksLate });
    let seen = -1;
    const t = app.task("tasks.peek", async () => {
      seen = await unackedCount();
      return null;
    });
    await startWorker();
    await (await t.delay()).get({ timeout: 10000 });
    expect(seen).toBe(acksLate ? 1 : 0);
    await worker?.stop();
    worker = null;
    await app.close();
  }
});

test("countdown holds the task until its ETA without blocking other work", async () => {
  app = testApp();
  const stamp = app.task("tasks.stamp", () => Date.now());
  await startWorker();
  const sent = Date.now();
  const later = await stamp.applyAsync([], {}, { countdown: 1.5 });
  const now = await stamp.delay();
  const nowRan = (await now.get({ timeout: 10000 }));
  const laterRan = (await later.get({ timeout: 10000 }));
  expect(nowRan).toBeLessThan(laterRan); // not held up behind the ETA task
  expect(laterRan).toBeGreaterThanOrEqual(sent + 1400); // and that one not run early
});

test("an expired task is not run and is stored as REVOKED expired", async () => {
  app = testApp();
  let ran = false;
  const t = app.task("tasks.never", () => (ran = true));
  const r = await t.applyAsync([], {}, { expires: new Date(Date.now() - 1000) });
  await startWorker();
  const err = await r.get({ timeout: 10000 }).catch((e: unknown) => e);
  expect(err).toMatchObject({ excType: "TaskRevokedError", excMessage: ["expired"] });
  expect(ran).toBe(false);
});

test("ctx.retry republishes the same id with retries+1 until it succeeds", async () => {
  app = testApp();
  const flaky = app.task("tasks.flaky", (ctx) => (ctx.request.retries < 2 ? ctx.retry({ countdown: 0 }) : ctx.request.retries), { bind: true });
  await startWorker();
  const r = await flaky.delay();
  expect(await r.get({ timeout: 10000 })).toBe(2);
});

test("warm stop requeues ETA-held messages so nothing is lost", async () => {
  app = testApp();
  const t = app.task("tasks.later", () => "done");
  const w = await startWorker();
  const r = await t.applyAsync([], {}, { countdown: 1 });
  await waitFor(() => w.scheduledRequests.length === 1, 5000, "scheduled");
  await w.stop();
  worker = null;
  expect(await unackedCount()).toBe(0);
  await startWorker();
  expect(await r.get({ timeout: 10000 })).toBe("done");
});

test("a result JSON cannot carry is stored as FAILURE EncodeError, never left PENDING", async () => {
  app = testApp();
  const cyclic = app.task("tasks.cyclic", () => {
    const o: { self?: unknown } = {};
    o.self = o;
    return o;
  });
  await startWorker();
  const r = await cyclic.delay();
  const err = await r.get({ timeout: 10000 }).catch((e: unknown) => e);
  expect(err).toMatchObject({ excType: "EncodeError", excModule: "kombu.exceptions" });
});
