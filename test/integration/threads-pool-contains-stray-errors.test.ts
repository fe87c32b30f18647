/**
 * Threads pool: an error that escapes a task (a rejection nobody awaits, a timer that throws, an
 * 'error' event without a listener) is logged against the task and the thread carries on, as in a
 * prefork child (slot-runner.ts `guard`); an uncaught exception outside any task ends that thread
 * (logged at CRITICAL), which is replaced. Build first (threads evaluate the runner, tasks load from tsapp.js).
 */
import { captureLogger, perTestApp, startTsappWorker } from "../support/app";
import { waitFor } from "../support/wait";
import type { ThreadPool } from "../../src/worker/pools/threads";

const t = perTestApp();
const logger = captureLogger();

test("stray errors are logged against their task; the thread survives and the worker keeps serving", async () => {
  const { app, worker } = await startTsappWorker(t, { pool: "threads", concurrency: 1, logger });
  const pool = worker.executor as ThreadPool;
  expect(await (await app.sendTask("ts.add", [1, 1])).get({ timeout: 10000 })).toBe(2);
  const [thread] = pool.threadIds;
  for (const task of ["ts.stray_rejection", "ts.stray_timer_throw", "ts.stray_emitter_error"]) {
    const r = await app.sendTask(task);
    expect(await r.get({ timeout: 10000 })).toBe("returned");
    await waitFor(() => logger.lines.some((l) => l.includes(`ERROR/MainProcess] Task ${task}[${r.id}] left an error unhandled`)), 5000, `${task} logged`);
  }
  const text = logger.lines.join("\n");
  expect(text).toMatch(/left an error unhandled \(unhandled promise rejection\); the worker carries on:\n[\s\S]*Error: nobody awaits me/);
  expect(text).toMatch(/left an error unhandled \(uncaught exception\)[\s\S]*TypeError: thrown in a timer/);
  expect(text).not.toContain("WorkerLostError");
  expect(pool.threadIds).toEqual([thread]);
  expect(await (await app.sendTask("ts.add", [2, 3])).get({ timeout: 10000 })).toBe(5);
  expect(pool.threadIds).toEqual([thread]);
});

test("an uncaught exception outside any task ends the thread (CRITICAL); a new one runs the next task", async () => {
  const { app, worker } = await startTsappWorker(t, { pool: "threads", concurrency: 1, logger });
  const pool = worker.executor as ThreadPool;
  expect(await (await app.sendTask("ts.throw_outside_task")).get({ timeout: 10000 })).toBe("returned");
  const [thread] = pool.threadIds;
  await waitFor(() => logger.lines.some((l) => l.includes("CRITICAL/MainProcess] Uncaught exception outside any task in pool thread")), 5000, "CRITICAL line");
  await waitFor(() => pool.threadCount === 0, 5000, "the thread gone");
  expect(await (await app.sendTask("ts.add", [2, 3])).get({ timeout: 10000 })).toBe(5);
  expect(pool.threadIds).not.toContain(thread);
});
