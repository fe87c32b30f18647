/**
 * Celery's autoscaler (`autoscale: { max, min }`, the CLI's `--autoscale MAX,MIN`) on Redis and on
 * RabbitMQ: a prefork worker with max 3, min 1 starts one child, grows to three under a backlog of
 * slow tasks (three run at once, on three children), and goes back to one child once the keepalive
 * (AUTOSCALE_KEEPALIVE=2, set here) has passed with nothing new; `inspect stats` shows Celery's
 * `autoscaler` block and the pool's `max-concurrency` (the size it started with); the `autoscale`
 * command changes the range with Celery's reply and pool_grow / pool_shrink are refused. On the
 * event loop the same autoscaler changes how many tasks run at once.
 */
import { randomUUID } from "node:crypto";
import type { Celery, Worker } from "../../src";
import { captureLogger, startTsappWorker, testApp } from "../support/app";
import { BROKERS, type BrokerLease } from "../support/brokers";
import { logTime } from "../support/cli-worker";
import { waitFor } from "../support/wait";

jest.setTimeout(90_000);

interface Stats {
  pool: { "max-concurrency": number; processes: number[] };
  autoscaler?: { max: number; min: number; current: number; qty: number };
  prefetch_count: number;
}

describe.each(BROKERS)("autoscale on $name", (broker) => {
  let lease: BrokerLease;
  let client: Celery;
  let node: string;
  const logger = captureLogger();
  const started: { app: Celery | null; worker: Worker | null } = { app: null, worker: null };

  beforeAll(async () => {
    // Celery reads AUTOSCALE_KEEPALIVE from the environment; the worker reads it when it is made.
    process.env.AUTOSCALE_KEEPALIVE = "2";
    lease = await broker.open("autoscale", 8);
    node = `autoscale-${randomUUID().slice(0, 8)}@test`;
    const { app } = await startTsappWorker(started, { hostname: node, pool: "prefork", autoscale: { max: 3, min: 1 }, logger, heartbeat: false }, { broker: lease.url });
    client = testApp({ broker: lease.url, taskDefaultQueue: app.conf.taskDefaultQueue });
  });

  afterAll(async () => {
    delete process.env.AUTOSCALE_KEEPALIVE;
    await started.worker?.stop();
    await started.app?.close();
    await client?.close();
    await lease?.close();
  });

  const to = () => ({ destination: [node], timeout: 3, reply: true });
  const stats = async () => (await client.control.inspect({ destination: [node], timeout: 3 }).stats())![node] as Stats;

  test("starts min children; stats: Celery's autoscaler block, max-concurrency the starting size, prefetch max × 4", async () => {
    expect(started.worker?.autoscaler?.keepalive).toBe(2);
    const s = await stats();
    expect(s.autoscaler).toEqual({ max: 3, min: 1, current: 1, qty: 0 });
    expect(s.pool["max-concurrency"]).toBe(1);
    expect(s.pool.processes).toHaveLength(1);
    expect(s.prefetch_count).toBe(12);
  });

  test("a backlog of slow tasks grows the pool to 3 children running at once; 2 s after the last scale-up it shrinks back to 1", async () => {
    const from = logger.lines.length;
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => client.sendTask("ts.sleep", [1.5, `t${i}`])));
    await waitFor(async () => (await stats()).pool.processes.length === 3, 10000, "three children");
    expect((await stats()).autoscaler).toMatchObject({ max: 3, min: 1, current: 3 });
    // Three tasks run at once, each in a child of its own.
    await waitFor(async () => {
      const active = (await client.control.inspect({ destination: [node], timeout: 3 }).active())![node] as Array<{ worker_pid: number }>;
      return new Set(active.map((r) => r.worker_pid)).size === 3;
    }, 10000, "three tasks on three children");
    expect(await Promise.all(results.map((r) => r.get({ timeout: 20000 })))).toEqual(["t0", "t1", "t2", "t3", "t4", "t5"]);
    await waitFor(async () => (await stats()).pool.processes.length === 1, 15000, "back to one child");
    expect((await stats()).autoscaler).toEqual({ max: 3, min: 1, current: 1, qty: 0 });
    const lines = logger.lines.slice(from);
    expect(lines.filter((l) => l.includes("Scaling up")).length).toBeGreaterThan(0);
    // The keepalive holds: the first scale-down comes more than 2 s after the last scale-up (the worker's clock).
    const lastUp = lines.map((l) => l.includes("Scaling up")).lastIndexOf(true);
    const log = lines.slice(lastUp).join("\n");
    expect(logTime(log, "Scaling down") - logTime(log, "Scaling up")).toBeGreaterThanOrEqual(2000);
    expect(await (await client.sendTask("ts.add", [2, 3])).get({ timeout: 10000 })).toBe(5);
  });

  test("the autoscale command: Celery's reply, the new min started at once, prefetch moved by (new max − old) × 4; pool_grow / pool_shrink refused", async () => {
    expect(await client.control.broadcast("autoscale", { ...to(), arguments: { max: 4, min: 2 } })).toEqual([{ [node]: { ok: "autoscale now max=4 min=2" } }]);
    let s = await stats();
    expect(s.autoscaler).toEqual({ max: 4, min: 2, current: 2, qty: 0 });
    expect(s.pool.processes).toHaveLength(2);
    expect(s.prefetch_count).toBe(16);
    expect(await client.control.broadcast("pool_grow", { ...to(), arguments: { n: 1 } })).toEqual([
      { [node]: { error: "pool_grow is not supported with autoscale. Adjust autoscale range instead." } },
    ]);
    expect(await client.control.broadcast("pool_shrink", { ...to(), arguments: { n: 1 } })).toEqual([
      { [node]: { error: "pool_shrink is not supported with autoscale. Adjust autoscale range instead." } },
    ]);
    // A new max below the pool's size shrinks it now; min alone leaves max as it is.
    expect(await client.control.broadcast("autoscale", { ...to(), arguments: { max: 1 } })).toEqual([{ [node]: { ok: "autoscale now max=1 min=2" } }]);
    s = await stats();
    expect(s.autoscaler).toMatchObject({ max: 1, current: 1 });
    expect(s.prefetch_count).toBe(4);
    expect(await client.control.broadcast("autoscale", { ...to(), arguments: { max: "x" } })).toEqual([
      { [node]: { error: "ValueError(\"autoscale max must be a whole number >= 0, got 'x'\")" } },
    ]);
  });

  test("on the event loop it changes how many tasks run at once", async () => {
    const loopNode = `autoscale-loop-${randomUUID().slice(0, 8)}@test`;
    const loop: { app: Celery | null; worker: Worker | null } = { app: null, worker: null };
    try {
      const { app } = await startTsappWorker(loop, { hostname: loopNode, pool: "eventloop", autoscale: { max: 3, min: 1, keepalive: 1 }, logger, heartbeat: false }, { broker: lease.url });
      const loopClient = testApp({ broker: lease.url, taskDefaultQueue: app.conf.taskDefaultQueue });
      try {
        const loopStats = async () => (await loopClient.control.inspect({ destination: [loopNode], timeout: 3 }).stats())![loopNode] as Stats;
        const results = await Promise.all(Array.from({ length: 4 }, (_, i) => loopClient.sendTask("ts.sleep", [1, i])));
        await waitFor(() => loop.worker?.activeRequests.length === 3, 10000, "three at once");
        const s = await loopStats();
        expect(s.autoscaler).toMatchObject({ max: 3, min: 1, current: 3 });
        expect(s.pool.processes).toEqual([process.pid]);
        await Promise.all(results.map((r) => r.get({ timeout: 20000 })));
        await waitFor(async () => (await loopStats()).autoscaler?.current === 1, 10000, "back to one at once");
      } finally {
        await loopClient.close();
      }
    } finally {
      await loop.worker?.stop();
      await loop.app?.close();
    }
  });
});
