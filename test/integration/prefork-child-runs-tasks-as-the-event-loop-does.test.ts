/**
 * Prefork pool: what a handler does in a child reaches the main process as on the event loop —
 * an error that escapes it is logged against it while the child carries on, ctx.updateState is
 * stored, and the request shows the child's pid (inspect active's worker_pid). (A task sent from a
 * child getting its parent needs the child's app on the test broker: that case is in
 * interop-tests/prefork-worker-stops-and-survives-tasks-from-python.test.ts, on a CLI worker.)
 */
import { captureLogger, perTestApp, startTsappWorker, storedMeta } from "../support/app";
import { waitFor } from "../support/wait";

const t = perTestApp();
const logger = captureLogger();
afterEach(() => {
  logger.lines.length = 0;
});
const startPrefork = (concurrency = 2) => startTsappWorker(t, { pool: "prefork", concurrency, logger });

test("a stray rejection and a throwing timer in a child are logged against their task; the same child runs the next task", async () => {
  const { app } = await startPrefork(1);
  const pid = await (await app.sendTask("ts.pid")).get({ timeout: 10000 });
  for (const [task, origin, text] of [
    ["ts.stray_rejection", "unhandled promise rejection", "Error: nobody awaits me"],
    ["ts.stray_timer_throw", "uncaught exception", "TypeError: thrown in a timer"],
  ]) {
    const r = await app.sendTask(task);
    expect(await r.get({ timeout: 10000 })).toBe("returned");
    await waitFor(() => logger.lines.some((l) => l.includes(`Task ${task}[${r.id}] left an error unhandled (${origin}); the worker carries on:`) && l.includes(text)), 5000, `${task} logged`);
  }
  expect(await (await app.sendTask("ts.pid")).get({ timeout: 10000 })).toBe(pid);
  expect(logger.lines.some((l) => l.includes("exited with"))).toBe(false);
});

test("ctx.updateState from a child is stored; the running request shows the child's pid", async () => {
  const { app, worker } = await startPrefork();
  const r = await app.sendTask("ts.progress", [3]);
  await waitFor(async () => (await storedMeta(r.id))?.status === "PROGRESS", 5000, "PROGRESS stored");
  const [request] = worker.activeRequests;
  expect(request.workerPid).not.toBe(process.pid);
  expect(worker.executor.info().processes).toContain(request.workerPid);
  expect(await r.get({ timeout: 10000 })).toBe(3);
});
