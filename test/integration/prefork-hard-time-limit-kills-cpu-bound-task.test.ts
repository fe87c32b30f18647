/**
 * Prefork pool: a hard time limit SIGKILLs the child running a CPU-bound task (the main process
 * stores FAILURE TimeLimitExceeded and logs Celery's lines), a new child takes its place and the
 * next task runs on it; a soft limit reaches a task that yields.
 */
import { captureLogger, perTestApp, startTsappWorker, storedMeta } from "../support/app";
import { waitFor } from "../support/wait";

const t = perTestApp();
const logger = captureLogger();
afterEach(() => {
  logger.lines.length = 0;
});
const startPrefork = (concurrency: number) => startTsappWorker(t, { pool: "prefork", concurrency, logger });

test("time_limit=1 on a never-ending CPU-bound task: FAILURE TimeLimitExceeded within ~3 s, Celery's log lines, the next task runs on a new child", async () => {
  const { app, worker: w } = await startPrefork(1);
  const [firstChild] = w.executor.info().processes;
  const sent = Date.now();
  const r = await app.sendTask("ts.cpu_spin", [], {}, { timeLimit: 1 });
  await expect(r.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "TimeLimitExceeded", excMessage: [1], excModule: "billiard.exceptions" });
  expect(Date.now() - sent).toBeLessThan(3000);
  expect(await storedMeta(r.id)).toMatchObject({ status: "FAILURE", traceback: null });
  expect(logger.lines.some((l) => l.includes(`ERROR/MainProcess] Hard time limit (1s) exceeded for ts.cpu_spin[${r.id}]`))).toBe(true);
  await waitFor(() => logger.lines.some((l) => l.includes(`Process 'ForkPoolWorker-1' pid:${firstChild} exited with 'signal 9 (SIGKILL)'`)), 5000, "exit line");
  const next = (await (await app.sendTask("ts.pid")).get({ timeout: 10000 })) as number;
  expect(next).not.toBe(firstChild);
  expect(next).not.toBe(process.pid);
  expect(w.executor.info().processes).toEqual([next]);
});

test("soft limit: SoftTimeLimitExceeded inside the child; a bound task sees it on ctx.signal and cleans up", async () => {
  const { app } = await startPrefork(2);
  const r = await app.sendTask("ts.soft_limited");
  await expect(r.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "SoftTimeLimitExceeded", excModule: "billiard.exceptions" });
  expect(await (await app.sendTask("ts.soft_cleanup")).get({ timeout: 10000 })).toBe("cleaned up after SoftTimeLimitExceeded");
});

test("tasks run in the children, side by side: a second CPU-bound task starts before the first ends", async () => {
  const { app, worker: w } = await startPrefork(2);
  const children = w.executor.info().processes;
  expect(children).toHaveLength(2);
  const events: string[] = [];
  w.on("taskPrerun", () => events.push("start"));
  w.on("taskPostrun", () => events.push("end"));
  const rs = await Promise.all([app.sendTask("ts.spin", [1]), app.sendTask("ts.spin", [1])]);
  for (const r of rs) expect(await r.get({ timeout: 10000 })).toBe(1);
  // postrun follows the stored result that get() reads: wait for the second one.
  await waitFor(() => events.length === 4, 5000, "both postruns");
  // On one event loop a synchronous spin would run them one after the other: start, end, start, end.
  expect(events).toEqual(["start", "start", "end", "end"]);
  const pids = await Promise.all([1, 2, 3].map(async () => (await app.sendTask("ts.pid")).get({ timeout: 10000 })));
  for (const pid of pids) expect(children).toContain(pid);
});
