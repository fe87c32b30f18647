/**
 * Prefork pool: revoke with terminate stops a CPU-bound task by SIGKILLing its child: REVOKED
 * "terminated" is stored, the exit is logged, and a new child runs the next task.
 */
import { captureLogger, perTestApp, startTsappWorker, storedMeta } from "../support/app";
import { waitFor } from "../support/wait";

const t = perTestApp();

test("revoke(terminate) of a never-ending CPU-bound task: REVOKED terminated, the child replaced", async () => {
  const logger = captureLogger();
  const { app, worker } = await startTsappWorker(t, { pool: "prefork", concurrency: 1, logger });
  const [child] = worker.executor.info().processes;
  const r = await app.sendTask("ts.cpu_spin");
  await waitFor(() => worker.activeRequests.length === 1, 5000, "running");
  worker.revoke(r.id, { terminate: true });
  await waitFor(async () => (await storedMeta(r.id))?.status === "REVOKED", 5000, "REVOKED stored");
  expect((await storedMeta(r.id))?.result).toMatchObject({ exc_type: "TaskRevokedError", exc_message: ["terminated"] });
  await waitFor(() => logger.lines.some((l) => l.includes(`pid:${child} exited with 'signal 9 (SIGKILL)'`)), 5000, "exit line");
  const next = await (await app.sendTask("ts.pid")).get({ timeout: 10000 });
  expect(next).not.toBe(child);
});
