/** Rate limits (token bucket per task name) and revokes (LimitedSet, terminate, statedb) on Redis. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Celery, Worker, WorkerOptions } from "../../src";
import { captureLogger, mirrorAppTasks, storedMeta, testApp } from "../support/app";
import { rawRedis } from "../support/redis";
import { waitFor } from "../support/wait";

const TSAPP = resolve(__dirname, "../../interop-tests/apps/tsapp.js");

let app: Celery;
let workers: Worker[] = [];
const logger = captureLogger();

afterEach(async () => {
  for (const w of workers) await w.stop();
  workers = [];
  await app?.close();
  logger.lines.length = 0;
});

async function startWorker(options: WorkerOptions = {}): Promise<Worker> {
  const w = app.worker({ concurrency: 4, logger, ...options });
  workers.push(w);
  await w.start();
  return w;
}


/** Unacked messages of this test's queue (db 8 is shared with other test files). */
async function unackedCount(): Promise<number> {
  const redis = rawRedis(8);
  try {
    return Object.values(await redis.hgetall("unacked")).filter((v) => (JSON.parse(v) as unknown[])[2] === app.conf.taskDefaultQueue).length;
  } finally {
    redis.disconnect();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("rate limits", () => {
  test("rateLimit '5/s' spaces runs 200 ms apart (tasks wait, none dropped) while other task types keep flowing", async () => {
    app = testApp();
    const starts: number[] = [];
    const limited = app.task("tasks.limited", () => starts.push(Date.now()), { rateLimit: "5/s" });
    const free = app.task("tasks.free", () => Date.now());
    await startWorker();
    const rs = await Promise.all(Array.from({ length: 6 }, () => limited.delay()));
    const f = await free.delay();
    const freeAt = (await f.get({ timeout: 10000 }));
    for (const r of rs) await r.get({ timeout: 10000 });
    starts.sort((a, b) => a - b);
    expect(starts).toHaveLength(6);
    expect(starts[5] - starts[0]).toBeGreaterThanOrEqual(950);
    for (let i = 1; i < 6; i++) expect(starts[i] - starts[i - 1]).toBeGreaterThanOrEqual(150);
    expect(freeAt).toBeLessThan(starts[2]);
  });

  test("a plain number is tasks per second; setRateLimit changes it at run time (null removes it)", async () => {
    app = testApp();
    const starts: number[] = [];
    const t = app.task("tasks.slowrate", () => starts.push(Date.now()), { rateLimit: 0.5 });
    const w = await startWorker();
    const rs = await Promise.all(Array.from({ length: 4 }, () => t.delay()));
    await waitFor(() => starts.length === 1, 5000, "first run");
    await sleep(300);
    expect(starts).toHaveLength(1);
    expect(w.rateLimitedRequests).toHaveLength(3);
    w.setRateLimit("tasks.slowrate", null);
    for (const r of rs) await r.get({ timeout: 5000 });
    // still limited to 0.5/s, the four would take at least 6 s
    expect(starts[3] - starts[0]).toBeLessThan(4000);
  });
});

describe("revokes", () => {
  test("a task revoked while it waits for its ETA is discarded: REVOKED 'revoked', acked, never run", async () => {
    app = testApp();
    let ran = false;
    const t = app.task("tasks.later", () => (ran = true));
    const w = await startWorker();
    const r = await t.applyAsync([], {}, { countdown: 1 });
    await waitFor(() => w.scheduledRequests.length === 1, 5000, "held for eta");
    w.revoke(r.id);
    await expect(r.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "TaskRevokedError", excMessage: ["revoked"], excModule: "celery.exceptions" });
    expect(await storedMeta(r.id)).toMatchObject({ status: "REVOKED", result: { exc_type: "TaskRevokedError", exc_message: ["revoked"], exc_module: "celery.exceptions" }, traceback: null, children: [] });
    expect(ran).toBe(false);
    expect(logger.lines.some((l) => l.includes(`Discarding revoked task: tasks.later[${r.id}]`))).toBe(true);
    await waitFor(async () => (await unackedCount()) === 0, 5000, "acked");
    expect(w.revoked.has(r.id)).toBe(true);
  });

  test("an id revoked before the message arrives is discarded on receipt", async () => {
    app = testApp();
    let ran = false;
    const t = app.task("tasks.never", () => (ran = true));
    const w = await startWorker();
    w.revoke(["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"]);
    const r = await t.applyAsync([], {}, { taskId: "00000000-0000-4000-8000-000000000002" });
    await expect(r.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "TaskRevokedError", excMessage: ["revoked"] });
    expect(ran).toBe(false);
    await app.AsyncResult(r.id).forget();
  });

  test("terminate on the event loop: ctx.signal aborts, REVOKED 'terminated' at once", async () => {
    app = testApp();
    let aborted = false;
    const t = app.task("tasks.long", async (ctx) => {
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 10000);
        ctx.signal.addEventListener("abort", () => {
          aborted = true;
          clearTimeout(timer);
        });
      });
      return "finished";
    }, { bind: true });
    const w = await startWorker();
    const r = await t.delay();
    await waitFor(() => w.activeRequests.length === 1, 5000, "running");
    const t0 = Date.now();
    w.revoke(r.id, { terminate: true, signal: "KILL" });
    await expect(r.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "TaskRevokedError", excMessage: ["terminated"] });
    expect(Date.now() - t0).toBeLessThan(5000); // the task alone would take 10 s
    expect(aborted).toBe(true);
    expect(logger.lines.some((l) => l.includes(`Terminating ${r.id} (9)`))).toBe(true);
    await waitFor(() => w.activeRequests.length === 0, 2000, "slot freed");
  });

  test("terminate in the threads pool stops CPU-bound code: REVOKED 'terminated'", async () => {
    app = testApp({ taskAcksLate: true });
    mirrorAppTasks(TSAPP, app);
    const w = await startWorker({ pool: "threads", appModule: TSAPP, concurrency: 1 });
    const r = await app.sendTask("ts.spin", [30]);
    await waitFor(() => w.activeRequests.length === 1, 5000, "running");
    await sleep(200);
    w.revoke(r.id, { terminate: true });
    await expect(r.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "TaskRevokedError", excMessage: ["terminated"] });
    expect(await (await app.sendTask("ts.add", [1, 2])).get({ timeout: 10000 })).toBe(3);
    await waitFor(async () => (await unackedCount()) === 0, 5000, "acked");
  });

  test("statedb keeps revoked ids across restarts", async () => {
    app = testApp();
    const statedb = join(mkdtempSync(join(tmpdir(), "celeriac-statedb-")), "worker.state");
    let ran = false;
    const t = app.task("tasks.persisted", () => (ran = true));
    const first = await startWorker({ statedb });
    first.revoke("11111111-0000-4000-8000-000000000001");
    await first.stop();
    workers = [];
    const second = await startWorker({ statedb });
    expect(second.revoked.has("11111111-0000-4000-8000-000000000001")).toBe(true);
    const r = await t.applyAsync([], {}, { taskId: "11111111-0000-4000-8000-000000000001" });
    await expect(r.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "TaskRevokedError", excMessage: ["revoked"] });
    expect(ran).toBe(false);
    await r.forget();
  });
});
