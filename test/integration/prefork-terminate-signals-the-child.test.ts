/**
 * Prefork pool, revoke(terminate=True, signal=...): the child running the task gets the signal
 * asked (Celery's default SIGTERM; "KILL", numbers), REVOKED TaskRevokedError('terminated') is
 * stored, Celery's "Terminating <id> (<signum>)" is logged, the exit only at DEBUG (billiard does
 * not log a child it terminated), and a new child runs the next task. A child that does not die
 * from the signal (SIGINT, which children ignore as billiard's do) is SIGKILLed 5 s later, with a
 * WARNING. SIGUSR1 (billiard's soft time limit signal) gives the task its soft limit instead: the
 * child runs on, and the task's own outcome is stored after REVOKED, as in Celery.
 */
import { randomUUID } from "node:crypto";
import type { Celery } from "../../src/celery";
import type { Worker } from "../../src/worker/worker";
import { captureLogger, mirrorAppTasks, storedMeta, testApp, TSAPP } from "../support/app";
import { BROKERS, type BrokerLease } from "../support/brokers";
import { waitFor } from "../support/wait";

jest.setTimeout(60_000);

describe.each(BROKERS)("prefork worker on $name", (broker) => {
  let lease: BrokerLease;
  let app: Celery;
  let worker: Worker;
  const logger = captureLogger("DEBUG");
  const node = `terminate-${randomUUID().slice(0, 8)}@test`;

  beforeAll(async () => {
    lease = await broker.open("terminate", 8);
    app = testApp({ broker: lease.url });
    mirrorAppTasks(TSAPP, app);
    worker = app.worker({ pool: "prefork", appModule: TSAPP, concurrency: 1, hostname: node, logger });
    await worker.start();
  });
  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await lease?.close();
  });

  /** Send a task and wait until it runs; its child's pid. */
  async function running(task: string): Promise<{ id: string; child: number }> {
    const r = await app.sendTask(task);
    await waitFor(() => worker.activeRequests.length === 1, 10000, "running");
    const [child] = worker.executor.info().processes;
    return { id: r.id, child };
  }

  const exitLine = (pid: number, status: string) => (l: string) => l.includes(`pid:${pid} exited with '${status}'`);

  test.each([
    { asked: "no signal", signal: undefined, number: 15, name: "SIGTERM" },
    { asked: '"KILL"', signal: "KILL", number: 9, name: "SIGKILL" },
    { asked: "1", signal: 1, number: 1, name: "SIGHUP" },
  ])("$asked: the child of a never-ending CPU-bound task gets $name, REVOKED terminated, a new child runs the next task", async ({ signal, number, name }) => {
    const { id, child } = await running("ts.cpu_spin");
    worker.revoke(id, { terminate: true, signal });
    await waitFor(async () => (await storedMeta(id))?.status === "REVOKED", 5000, "REVOKED stored");
    expect((await storedMeta(id))?.result).toMatchObject({ exc_type: "TaskRevokedError", exc_message: ["terminated"] });
    expect(logger.lines.some((l) => l.includes(`INFO/MainProcess] Terminating ${id} (${number})`))).toBe(true);
    await waitFor(() => logger.lines.some(exitLine(child, `signal ${number} (${name})`)), 5000, "exit line");
    expect(logger.lines.filter(exitLine(child, `signal ${number} (${name})`)).every((l) => l.includes("DEBUG/MainProcess]"))).toBe(true);
    const next = await (await app.sendTask("ts.pid")).get({ timeout: 10000 });
    expect(next).not.toBe(child);
    expect(worker.executor.info().processes).toEqual([next]);
  });

  test("SIGINT, which the child ignores: REVOKED at once, the child SIGKILLed 5 s later with a WARNING, then replaced", async () => {
    const { id, child } = await running("ts.cpu_spin");
    const t0 = Date.now();
    worker.revoke(id, { terminate: true, signal: "INT" });
    await waitFor(async () => (await storedMeta(id))?.status === "REVOKED", 2000, "REVOKED stored at once");
    const warning = `WARNING/MainProcess] Process 'ForkPoolWorker-`;
    await waitFor(() => logger.lines.some((l) => l.includes(warning) && l.includes(`pid:${child} has not exited 5s after SIGINT: sending SIGKILL`)), 10000, "warning");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4900);
    await waitFor(() => logger.lines.some(exitLine(child, "signal 9 (SIGKILL)")), 5000, "exit line");
    expect(await (await app.sendTask("ts.pid")).get({ timeout: 10000 })).not.toBe(child);
  });

  test("SIGUSR1 gives the task its soft limit: REVOKED is announced, then the task's own outcome is stored; the child runs on", async () => {
    const revoked: Array<{ taskId: string; signal: string | null; terminated: boolean }> = [];
    const off = worker.on("taskRevoked", (p) => revoked.push(p));
    try {
      const { id, child } = await running("ts.wait_abort");
      worker.revoke(id, { terminate: true, signal: "SIGUSR1" });
      await waitFor(async () => (await storedMeta(id))?.status === "SUCCESS", 10000, "the task's own outcome");
      expect((await storedMeta(id))?.result).toBe(`cleaned up after SoftTimeLimitExceeded in ${child}`);
      expect(revoked).toEqual([expect.objectContaining({ taskId: id, signal: "SIGUSR1", terminated: true })]);
      expect(logger.lines.some((l) => l.includes(`Terminating ${id} (10)`))).toBe(true);
      expect(worker.executor.info().processes).toEqual([child]);
      expect(logger.lines.some((l) => l.includes(`pid:${child} exited`))).toBe(false);
      expect(await (await app.sendTask("ts.pid")).get({ timeout: 10000 })).toBe(child);
    } finally {
      off();
    }
  });
});
