/**
 * Time limits (docs/protocol.md §9.4, S9, B10) on the event loop and in the threads pool, plus what only
 * threads can do: kill CPU-bound code, survive a dying thread, recycle threads.
 */
import { resolve } from "node:path";
import type { Celery, Worker, WorkerOptions } from "../../src";
import { captureLogger, mirrorAppTasks, storedMeta, testApp } from "../support/app";
import { unackedTaskIds } from "../support/redis";
import { waitFor } from "../support/wait";

const TSAPP = resolve(__dirname, "../../interop-tests/apps/tsapp.js");

let app: Celery;
let worker: Worker | null = null;
const logger = captureLogger();

afterEach(async () => {
  await worker?.stop();
  worker = null;
  await app?.close();
  logger.lines.length = 0;
});

/** Register the tasks of interop-tests/apps/tsapp.js (the module the pool threads load) on `app`. */
function mirrorTsapp(target: Celery): void {
  mirrorAppTasks(TSAPP, target);
}

async function startWorker(options: WorkerOptions = {}): Promise<Worker> {
  worker = app.worker({ concurrency: 2, logger, ...options });
  await worker.start();
  return worker;
}

/** Task ids held unacked on testApp()'s broker db. */
const unackedIds = () => unackedTaskIds(8);

describe("event loop pool", () => {
  test("soft limit on a plain async task: FAILURE SoftTimeLimitExceeded() with traceback, as backend-redis-soft-time-limit", async () => {
    app = testApp();
    mirrorTsapp(app);
    await startWorker();
    const r = await app.sendTask("ts.soft_limited");
    const started = Date.now();
    await expect(r.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "SoftTimeLimitExceeded", excMessage: [], excModule: "billiard.exceptions" });
    expect(Date.now() - started).toBeLessThan(10000); // the outcome proves the limit; this catches a hang
    const meta = (await storedMeta(r.id)) as Record<string, unknown>;
    expect(meta).toMatchObject({ status: "FAILURE", result: { exc_type: "SoftTimeLimitExceeded", exc_message: [], exc_module: "billiard.exceptions" }, children: [] });
    expect(meta.traceback).toMatch(/^Traceback \(most recent call last\):\n[\s\S]*billiard\.exceptions\.SoftTimeLimitExceeded: SoftTimeLimitExceeded\(\)\n$/);
    expect(logger.lines.some((l) => l.includes(`WARNING/MainProcess] Soft time limit (1s) exceeded for ts.soft_limited[${r.id}]`))).toBe(true);
  });

  test("a bound task sees the soft limit on ctx.signal and may clean up and return", async () => {
    app = testApp();
    mirrorTsapp(app);
    await startWorker();
    const r = await app.sendTask("ts.soft_cleanup");
    expect(await r.get({ timeout: 10000 })).toBe("cleaned up after SoftTimeLimitExceeded");
  });

  test("hard limit: FAILURE TimeLimitExceeded([1]) with a null traceback, acked even with acksLate", async () => {
    app = testApp({ taskAcksLate: true });
    mirrorTsapp(app);
    await startWorker();
    const r = await app.sendTask("ts.hard_limited");
    await expect(r.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "TimeLimitExceeded", excMessage: [1], excModule: "billiard.exceptions" });
    expect(await storedMeta(r.id)).toMatchObject({ status: "FAILURE", result: { exc_type: "TimeLimitExceeded", exc_message: [1], exc_module: "billiard.exceptions" }, traceback: null });
    expect(logger.lines.some((l) => l.includes(`ERROR/MainProcess] Hard time limit (1s) exceeded for ts.hard_limited[${r.id}]`))).toBe(true);
    await waitFor(async () => !(await unackedIds()).includes(r.id), 5000, "message acked");
  });

  test("the message's timelimit header wins over task and app limits; app limits apply otherwise", async () => {
    app = testApp({ taskSoftTimeLimit: 0.5 });
    const slow = app.task("tasks.slow", async (s: number) => {
      await new Promise((r) => setTimeout(r, s * 1000));
      return s;
    }, { timeLimit: 10 });
    await startWorker();
    const byApp = await slow.delay(2);
    const byHeader = await slow.applyAsync([2], {}, { timeLimit: 1, softTimeLimit: 3 });
    const unlimited = await slow.applyAsync([0.1], {}, { softTimeLimit: 5 });
    await expect(byApp.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "SoftTimeLimitExceeded" });
    await expect(byHeader.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "TimeLimitExceeded", excMessage: [1] });
    expect(await unlimited.get({ timeout: 10000 })).toBe(0.1);
  });
});

describe("threads pool", () => {
  test("hard limit kills a CPU-bound task; its thread is replaced and the worker keeps running", async () => {
    app = testApp();
    mirrorTsapp(app);
    await startWorker({ pool: "threads", appModule: TSAPP });
    const started = Date.now();
    const r = await app.sendTask("ts.spin_hard", [30]);
    await expect(r.get({ timeout: 15000 })).rejects.toMatchObject({ excType: "TimeLimitExceeded", excMessage: [1] });
    expect(Date.now() - started).toBeLessThan(8000);
    expect(await storedMeta(r.id)).toMatchObject({ traceback: null });
    expect(await (await app.sendTask("ts.add", [2, 3])).get({ timeout: 10000 })).toBe(5);
    expect(await (await app.sendTask("ts.spin", [0.2])).get({ timeout: 10000 })).toBe(0.2);
  });

  test("soft limit in a thread: FAILURE SoftTimeLimitExceeded", async () => {
    app = testApp();
    mirrorTsapp(app);
    await startWorker({ pool: "threads", appModule: TSAPP });
    const r = await app.sendTask("ts.soft_limited");
    await expect(r.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "SoftTimeLimitExceeded", excModule: "billiard.exceptions" });
    expect(await (await app.sendTask("ts.soft_cleanup")).get({ timeout: 10000 })).toBe("cleaned up after SoftTimeLimitExceeded");
  });

  test("a thread that dies: FAILURE WorkerLostError; with acksLate + rejectOnWorkerLost the message is requeued and runs again", async () => {
    app = testApp();
    mirrorTsapp(app);
    await startWorker({ pool: "threads", appModule: TSAPP });
    const lost = await app.sendTask("ts.crash");
    await expect(lost.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "WorkerLostError", excModule: "billiard.exceptions" });
    expect(((await storedMeta(lost.id)) as { result: { exc_message: string[] } }).result.exc_message[0]).toMatch(/^Worker exited prematurely: exitcode 3 Job: \d+\.$/);
    const requeued = await app.sendTask("ts.crash_requeue");
    expect(await requeued.get({ timeout: 15000 })).toBe("second run");
    await waitFor(async () => !(await unackedIds()).includes(requeued.id), 5000, "acked");
  });

  test("maxTasksPerChild replaces a thread after N tasks; bound tasks get retry and updateState through the thread", async () => {
    app = testApp();
    mirrorTsapp(app);
    await startWorker({ pool: "threads", appModule: TSAPP, concurrency: 1, maxTasksPerChild: 2 });
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) ids.push((await (await app.sendTask("ts.thread_id")).get({ timeout: 10000 })) as number);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).toBe(ids[3]);
    expect(ids[2]).not.toBe(ids[1]);
    const retried = await app.sendTask("ts.retry_exhaust");
    await expect(retried.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "ValueError", excMessage: ["no more"] });
    const progress = await app.sendTask("ts.progress", [2]);
    await waitFor(async () => (await storedMeta(progress.id))?.status === "PROGRESS", 5000, "PROGRESS stored");
    expect(await storedMeta(progress.id)).toMatchObject({ result: { current: expect.any(Number) as unknown, total: 2 } });
    expect(await progress.get({ timeout: 10000 })).toBe(2);
  });
});
