/**
 * A celeriac CLI worker killed with SIGKILL mid-task under acksLate loses nothing, on Redis and on
 * RabbitMQ: another worker finishes the task and Python (newest Celery and 5.2) reads the result
 * (Redis backend). How the message comes back differs: on Redis after the visibility timeout
 * (TSAPP_VISIBILITY 2 s), on RabbitMQ at once, when the broker sees the connection gone.
 * Needs `npm run build` (spawns dist/cli/main.js with interop-tests/apps/tsapp.js).
 */
import { unique } from "../test/support/app";
import { BROKERS, type BrokerLease } from "../test/support/brokers";
import { type CliWorker, startCliWorker } from "../test/support/cli-worker";
import { pyClient, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

jest.setTimeout(120_000);
const BACKEND = testRedisUrl(15);

describe.each(BROKERS)("on $name", (broker) => {
  let lease: BrokerLease;
  beforeAll(async () => {
    lease = await broker.open("sigkill", 14);
  });
  afterAll(async () => {
    await lease?.close();
  });

  test.each(PYTHONS)("SIGKILL mid-task under acksLate: another worker finishes it (Python $label reads it)", async (py) => {
    const queue = unique("kill");
    const env = { PYAPP_BROKER: lease.url, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: queue };
    const start = (name: string): CliWorker =>
      startCliWorker(lease.url, BACKEND, name, [], { TSAPP_QUEUE: queue, TSAPP_ACKS_LATE: "1", ...(broker.transport === "redis" ? { TSAPP_VISIBILITY: "2" } : {}) });
    const ready = (w: CliWorker) => waitFor(() => w.output().includes("ready."), 20000, `${w.node} ready`);
    const first = start(`victim-${py.label}`);
    // RabbitMQ hands the message to a worker already consuming when the victim's connection dies;
    // on Redis the rescuer restores it after the visibility timeout, so it may come afterwards.
    let second: CliWorker | null = broker.transport === "amqp" ? start(`rescuer-${py.label}`) : null;
    try {
      await ready(first);
      if (second) await ready(second);
      const sent = (await pyClient(py, ["send", "ts.sleep", "--args", JSON.stringify([2, "finished"]), "--options", JSON.stringify({ queue })], env)) as { id: string };
      const received = (w: CliWorker) => waitFor(() => w.output().includes(`[${sent.id}] received`), 15000, "task received").then(() => w);
      const holder = await Promise.race(second ? [received(first), received(second)] : [received(first)]);
      const killedAt = Date.now();
      holder.child.kill("SIGKILL");
      second ??= start(`rescuer-${py.label}`);
      const other = holder === first ? second : first;
      const out = (await pyClient(py, ["get", sent.id, "--timeout", "30"], env)) as { state: string; result: unknown };
      expect(out).toMatchObject({ state: "SUCCESS", result: "finished" });
      expect(other.output()).toContain(`[${sent.id}] succeeded`);
      // RabbitMQ only: redelivered on connection loss, not after some timeout (2 s task + start-up slack).
      if (broker.transport === "amqp") expect(Date.now() - killedAt).toBeLessThan(10000);
    } finally {
      first.child.kill("SIGKILL");
      second?.child.kill("SIGKILL");
    }
  });
});
