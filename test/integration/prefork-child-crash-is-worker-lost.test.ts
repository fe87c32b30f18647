/**
 * Prefork pool: a child that dies mid-task (SIGKILL of itself, process.exit) costs only that task:
 * FAILURE WorkerLostError with billiard's message (or a requeue under acksLate +
 * rejectOnWorkerLost), a new child takes its place, and the worker runs the next task.
 */
import { captureLogger, perTestApp, startTsappWorker, storedMeta } from "../support/app";
import { unackedTaskIds } from "../support/redis";
import { waitFor } from "../support/wait";

const t = perTestApp();
const logger = captureLogger();
afterEach(() => {
  logger.lines.length = 0;
});
const startPrefork = () => startTsappWorker(t, { pool: "prefork", concurrency: 2, logger });

test("a task that SIGKILLs its child: FAILURE WorkerLostError 'signal 9 (SIGKILL)', the exit logged, the child replaced, the worker runs on", async () => {
  const { app, worker: w } = await startPrefork();
  const before = w.executor.info().processes;
  const r = await app.sendTask("ts.sigkill");
  await expect(r.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "WorkerLostError", excModule: "billiard.exceptions" });
  const meta = (await storedMeta(r.id)) as { status: string; result: { exc_message: string[] } };
  expect(meta.status).toBe("FAILURE");
  expect(meta.result.exc_message[0]).toMatch(/^Worker exited prematurely: signal 9 \(SIGKILL\) Job: \d+\.$/);
  expect(logger.lines.some((l) => /ERROR\/MainProcess\] Process 'ForkPoolWorker-\d' pid:\d+ exited with 'signal 9 \(SIGKILL\)'/.test(l))).toBe(true);
  await waitFor(() => w.executor.info().processes.length === 2, 5000, "a new child");
  const after = w.executor.info().processes;
  expect(after.filter((p) => !before.includes(p))).toHaveLength(1);
  expect(await (await app.sendTask("ts.add", [2, 3])).get({ timeout: 10000 })).toBe(5);
});

test("process.exit in a task: FAILURE WorkerLostError 'exitcode 3'", async () => {
  const { app } = await startPrefork();
  const r = await app.sendTask("ts.crash");
  await expect(r.get({ timeout: 10000 })).rejects.toMatchObject({ excType: "WorkerLostError" });
  expect(((await storedMeta(r.id)) as { result: { exc_message: string[] } }).result.exc_message[0]).toMatch(/^Worker exited prematurely: exitcode 3 Job: \d+\.$/);
  expect(await (await app.sendTask("ts.pid")).get({ timeout: 10000 })).not.toBe(process.pid);
});

test("acksLate + rejectOnWorkerLost: the message of a SIGKILLed child is requeued and runs again", async () => {
  const { app } = await startPrefork();
  const r = await app.sendTask("ts.sigkill_requeue");
  expect(await r.get({ timeout: 15000 })).toBe("second run");
  expect(logger.lines.some((l) => l.includes(`Task ts.sigkill_requeue[${r.id}]: Worker exited prematurely: signal 9 (SIGKILL)`))).toBe(true);
  await waitFor(async () => !(await unackedTaskIds(8)).includes(r.id), 5000, "acked");
});

test("a child killed from outside while idle is replaced", async () => {
  const { app, worker: w } = await startPrefork();
  const [victim] = w.executor.info().processes;
  process.kill(victim, "SIGKILL");
  await waitFor(() => w.executor.info().processes.length === 2 && !w.executor.info().processes.includes(victim), 5000, "replaced");
  expect(logger.lines.some((l) => l.includes(`pid:${victim} exited with 'signal 9 (SIGKILL)'`))).toBe(true);
  expect(await (await app.sendTask("ts.add", [1, 1])).get({ timeout: 10000 })).toBe(2);
});
