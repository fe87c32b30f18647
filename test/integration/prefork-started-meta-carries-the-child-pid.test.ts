/**
 * With task_track_started, a prefork worker stores STARTED with the pid of the child that runs the
 * task, as Celery does (the tracer runs in the pool process: `{"pid": os.getpid(), "hostname": ...}`,
 * checked against Celery 5.2 and the newest), and states the handler sets come after it. The
 * `task-started` event carries the main process's pid, as Celery's (it is sent by the main
 * process's event dispatcher, Request.on_accepted).
 */
import { randomUUID } from "node:crypto";
import type { Celery } from "../../src/celery";
import type { CeleryEvent } from "../../src/events/dispatcher";
import { EventReceiver } from "../../src/events/receiver";
import type { Worker } from "../../src/worker/worker";
import { captureLogger, mirrorAppTasks, storedMeta, testApp, TSAPP } from "../support/app";
import { BROKERS, type BrokerLease } from "../support/brokers";
import { waitFor } from "../support/wait";

jest.setTimeout(60_000);

describe.each(BROKERS)("prefork worker on $name", (broker) => {
  let lease: BrokerLease;
  let app: Celery;
  let worker: Worker;
  let receiver: EventReceiver;
  const events: CeleryEvent[] = [];
  const node = `started-${randomUUID().slice(0, 8)}@test`;

  beforeAll(async () => {
    lease = await broker.open("started-pid", 8);
    app = testApp({ broker: lease.url, taskTrackStarted: true, workerSendTaskEvents: true });
    mirrorAppTasks(TSAPP, app);
    receiver = new EventReceiver(await app.connection(), (e) => {
      if (e.hostname === node) events.push(e);
    });
    await receiver.start();
    worker = app.worker({ pool: "prefork", appModule: TSAPP, concurrency: 2, hostname: node, logger: captureLogger() });
    await worker.start();
  });
  afterAll(async () => {
    await worker?.stop();
    await receiver?.stop();
    await app?.close();
    await lease?.close();
  });

  test("STARTED meta has the pid of the child running the task, not the main process's; task-started has the main pid", async () => {
    const r = await app.sendTask("ts.sleep", [1, "slept"]);
    await waitFor(async () => (await storedMeta(r.id))?.status === "STARTED", 10000, "STARTED stored");
    const meta = (await storedMeta(r.id))?.result as { pid: number; hostname: string };
    expect(meta.hostname).toBe(node);
    expect(meta.pid).not.toBe(process.pid);
    expect(worker.executor.info().processes).toContain(meta.pid);
    expect(worker.activeRequests.map((req) => req.workerPid)).toEqual([meta.pid]);
    expect(await r.get({ timeout: 10000 })).toBe("slept");
    await waitFor(() => events.some((e) => e.type === "task-started" && e.uuid === r.id), 5000, "task-started");
    expect(events.find((e) => e.type === "task-started" && e.uuid === r.id)?.pid).toBe(process.pid);
  });

  test("states the handler sets from its child are stored after STARTED", async () => {
    const r = await app.sendTask("ts.progress", [3]);
    const seen: string[] = [];
    await waitFor(async () => {
      const status = String((await storedMeta(r.id))?.status);
      if (seen[seen.length - 1] !== status) seen.push(status);
      return status === "SUCCESS";
    }, 15000, "SUCCESS");
    expect(seen).toContain("PROGRESS");
    expect(seen.slice(seen.indexOf("PROGRESS"))).not.toContain("STARTED");
  });
});
