/**
 * Prefork pool: maxMemoryPerChild (Celery's worker_max_memory_per_child, KiB of resident memory)
 * replaces a child after the task that left it above the limit, with an info line and no error.
 */
import { captureLogger, perTestApp, startTsappWorker } from "../support/app";
import { waitFor } from "../support/wait";

const t = perTestApp();

test("every child is past 1 KiB of resident memory: each task runs on a new child", async () => {
  const logger = captureLogger();
  const { app, worker } = await startTsappWorker(t, { pool: "prefork", concurrency: 1, maxMemoryPerChild: 1, logger });
  const pids: unknown[] = [];
  for (let i = 0; i < 3; i++) pids.push(await (await app.sendTask("ts.pid")).get({ timeout: 10000 }));
  expect(new Set(pids).size).toBe(3);
  await waitFor(() => logger.lines.filter((l) => /Replacing pool process 'ForkPoolWorker-\d+' pid:\d+: resident memory \d+ KiB exceeds max memory per child \(1 KiB\)/.test(l)).length >= 3, 5000, "recycle lines");
  expect(logger.lines.some((l) => l.includes("ERROR"))).toBe(false);
  await waitFor(() => worker.executor.info().processes.length === 1, 5000, "one child again");
});
