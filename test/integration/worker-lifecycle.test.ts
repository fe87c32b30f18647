/** Cold shutdown, acks rules, long-ETA warning, signals and custom states on Redis. */
import type { Celery, Worker, WorkerOptions } from "../../src";
import { CeleryError } from "../../src";
import { captureLogger, storedMeta, testApp } from "../support/app";
import { rawRedis } from "../support/redis";
import { waitFor } from "../support/wait";

let app: Celery;
let workers: Worker[] = [];
const logger = captureLogger();

afterEach(async () => {
  for (const w of workers) await w.stop({ cold: true });
  workers = [];
  await app?.close();
  logger.lines.length = 0;
});

async function startWorker(options: WorkerOptions = {}): Promise<Worker> {
  const w = app.worker({ concurrency: 2, logger, ...options });
  workers.push(w);
  await w.start();
  return w;
}


/** Messages waiting in `queue`, and how many of the unacked ones belong to `queue` (db 8 is shared). */
async function brokerCounts(queue: string): Promise<{ queued: number; unacked: number }> {
  const redis = rawRedis(8);
  try {
    const held = Object.values(await redis.hgetall("unacked")).filter((v) => (JSON.parse(v) as unknown[])[2] === queue);
    return { queued: await redis.llen(queue), unacked: held.length };
  } finally {
    redis.disconnect();
  }
}

test("cold stop does not wait: a running acksLate task and an ETA-held one go back to the queue, another worker finishes both", async () => {
  app = testApp({ taskAcksLate: true });
  let runs = 0;
  const slow = app.task("tasks.slow", async (_ctx) => {
    runs++;
    if (runs === 1) await new Promise((r) => setTimeout(r, 6000).unref());
    return "done";
  }, { bind: true });
  const w = await startWorker();
  const running = await slow.delay();
  const later = await slow.applyAsync([], {}, { countdown: 1 });
  await waitFor(() => w.activeRequests.length === 1 && w.scheduledRequests.length === 1, 5000, "running + scheduled");
  const t0 = Date.now();
  await w.stop({ cold: true });
  // The running task has seconds left (6 s in all): a cold stop does not wait for it.
  expect(Date.now() - t0).toBeLessThan(3000);
  expect(await brokerCounts(app.conf.taskDefaultQueue)).toEqual({ queued: 2, unacked: 0 });
  expect(await storedMeta(running.id)).toBeNull();
  await startWorker();
  expect(await running.get({ timeout: 10000 })).toBe("done");
  expect(await later.get({ timeout: 10000 })).toBe("done");
});

test("acksLate failure: acked by default (acksOnFailureOrTimeout); the FAILURE is stored either way", async () => {
  app = testApp();
  const boom = () => {
    throw new CeleryError("ValueError", ["bad"], "builtins");
  };
  const a = app.task("tasks.fail_ack", boom, { acksLate: true });
  const b = app.task("tasks.fail_reject", boom, { acksLate: true, acksOnFailureOrTimeout: false });
  await startWorker();
  const ra = await a.delay();
  const rb = await b.delay();
  await expect(ra.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "ValueError" });
  await expect(rb.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "ValueError" });
  // Redis: reject without requeue removes the message like an ack; nothing is left or requeued.
  await waitFor(async () => (await brokerCounts(app.conf.taskDefaultQueue)).unacked === 0, 5000, "settled");
  expect((await brokerCounts(app.conf.taskDefaultQueue)).queued).toBe(0);
});

test("an ETA past the Redis visibility timeout logs one WARNING naming the task", async () => {
  app = testApp({ brokerTransportOptions: { visibilityTimeout: 2 } });
  const t = app.task("tasks.far", () => "x");
  const w = await startWorker();
  const r = await t.applyAsync([], {}, { countdown: 30 });
  await waitFor(() => w.scheduledRequests.length === 1, 5000, "scheduled");
  const warnings = logger.lines.filter((l) => l.includes("WARNING/MainProcess") && l.includes(`tasks.far[${r.id}]`));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/visibility_timeout \(2s\)/);
});

test("signals: prerun/postrun/success/failure/retry/ready/shutdown on the worker and the app; a throwing listener is logged only", async () => {
  app = testApp();
  const seen: string[] = [];
  app.task("tasks.ok", (x: number) => x + 1);
  app.task("tasks.bad", () => {
    throw new TypeError("nope");
  });
  app.task("tasks.again", (ctx) => (ctx.request.retries ? "ok" : ctx.retry({ countdown: 0 })), { bind: true });
  app.signals.on("taskSuccess", (p) => void seen.push(`app:success:${p.task}:${String(p.result)}`));
  app.signals.on("taskFailure", (p) => void seen.push(`app:failure:${p.excInfo.exc_type}`));
  app.signals.on("taskPrerun", () => {
    throw new Error("listener bug");
  });
  const w = app.worker({ concurrency: 1, logger });
  workers.push(w);
  w.on("workerReady", (p) => void seen.push(`ready:${p.hostname}`));
  w.on("taskPrerun", (p) => void seen.push(`prerun:${p.task}`));
  w.on("taskPostrun", (p) => void seen.push(`postrun:${p.task}:${p.state}`));
  w.on("taskRetry", (p) => void seen.push(`retry:${p.reason}`));
  w.on("workerShutdown", (p) => void seen.push(`shutdown:${p.cold}`));
  await w.start();
  expect(await (await app.sendTask("tasks.ok", [1])).get({ timeout: 10000 })).toBe(2);
  await expect((await app.sendTask("tasks.bad")).get({ timeout: 10000 })).rejects.toMatchObject({ excType: "TypeError" });
  expect(await (await app.sendTask("tasks.again")).get({ timeout: 10000 })).toBe("ok");
  await w.stop();
  workers = [];
  expect(seen).toEqual([
    `ready:${w.hostname}`,
    "prerun:tasks.ok",
    "app:success:tasks.ok:2",
    "postrun:tasks.ok:SUCCESS",
    "prerun:tasks.bad",
    "app:failure:TypeError",
    "postrun:tasks.bad:FAILURE",
    "prerun:tasks.again",
    "retry:Retry in 0s",
    "postrun:tasks.again:RETRY",
    "prerun:tasks.again",
    "app:success:tasks.again:ok",
    "postrun:tasks.again:SUCCESS",
    "shutdown:false",
  ]);
  expect(logger.lines.filter((l) => l.includes("for taskPrerun raised: Error: listener bug"))).toHaveLength(4);
});

test("updateState stores custom states (PROGRESS) with meta; storeErrorsEvenIfIgnored stores only the failure", async () => {
  app = testApp();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const p = app.task("tasks.progress", async (ctx) => {
    await ctx.updateState("PROGRESS", { current: 1, total: 2 });
    await gate;
    return "done";
  }, { bind: true });
  const quiet = app.task("tasks.quiet_fail", () => {
    throw new CeleryError("ValueError", ["stored anyway"], "builtins");
  }, { ignoreResult: true, storeErrorsEvenIfIgnored: true });
  const quietOk = app.task("tasks.quiet_ok", () => 1, { ignoreResult: true, storeErrorsEvenIfIgnored: true });
  await startWorker();
  const r = await p.delay();
  await waitFor(async () => (await storedMeta(r.id))?.status === "PROGRESS", 5000, "PROGRESS");
  expect(await storedMeta(r.id)).toMatchObject({ status: "PROGRESS", result: { current: 1, total: 2 }, date_done: null });
  expect(await r.state()).toBe("PROGRESS");
  release();
  expect(await r.get({ timeout: 10000 })).toBe("done");
  const q = await quiet.delay();
  const ok = await quietOk.delay();
  await waitFor(async () => (await storedMeta(q.id)) !== null, 5000, "failure stored");
  expect(await storedMeta(q.id)).toMatchObject({ status: "FAILURE", result: { exc_type: "ValueError" } });
  await new Promise((res) => setTimeout(res, 200));
  expect(await storedMeta(ok.id)).toBeNull();
});
