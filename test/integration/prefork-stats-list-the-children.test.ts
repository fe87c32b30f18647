/**
 * Prefork pool and remote control: `inspect stats` lists the children's pids in `pool.processes`
 * with `max-concurrency` and `max-tasks-per-child`, as Celery's prefork pool does (Flower shows
 * them); pool_grow / pool_shrink start and stop children; pool_restart (worker_pool_restarts)
 * replaces them; maxTasksPerChild recycles a child.
 */
import { randomUUID } from "node:crypto";
import type { Celery, Worker } from "../../src";
import { captureLogger, startTsappWorker, testApp } from "../support/app";
import { waitFor } from "../support/wait";

let client: Celery;
let node: string;
const logger = captureLogger();
const started: { app: Celery | null; worker: Worker | null } = { app: null, worker: null };

beforeAll(async () => {
  node = `prefork-${randomUUID().slice(0, 8)}@test`;
  const { app } = await startTsappWorker(
    started,
    { hostname: node, pool: "prefork", concurrency: 2, maxTasksPerChild: 3, logger, heartbeat: false },
    { workerPoolRestarts: true },
  );
  client = testApp({ taskDefaultQueue: app.conf.taskDefaultQueue });
});

afterAll(async () => {
  await started.worker?.stop();
  await started.app?.close();
  await client.close();
});

const to = () => ({ destination: [node], timeout: 3, reply: true });
const stats = async () => (await client.control.inspect({ destination: [node], timeout: 3 }).stats())![node] as { pool: Record<string, unknown> };

test("stats: implementation celeriac:prefork, the children's pids, max-concurrency, max-tasks-per-child", async () => {
  const pool = (await stats()).pool;
  expect(pool).toMatchObject({ implementation: "celeriac:prefork", "max-concurrency": 2, "max-tasks-per-child": 3 });
  const processes = pool.processes as number[];
  expect(processes).toHaveLength(2);
  expect(processes).not.toContain(process.pid);
  const ran = await (await client.sendTask("ts.pid")).get({ timeout: 10000 });
  expect(processes).toContain(ran);
});

test("pool_grow starts children, pool_shrink stops them", async () => {
  expect(await client.control.broadcast("pool_grow", { ...to(), arguments: { n: 1 } })).toEqual([{ [node]: { ok: "pool will grow" } }]);
  let pool = (await stats()).pool;
  expect(pool["max-concurrency"]).toBe(3);
  expect(pool.processes).toHaveLength(3);
  expect(await client.control.broadcast("pool_shrink", { ...to(), arguments: { n: 2 } })).toEqual([{ [node]: { ok: "pool will shrink" } }]);
  pool = (await stats()).pool;
  expect(pool["max-concurrency"]).toBe(1);
  expect(pool.processes).toHaveLength(1);
  expect(await (await client.sendTask("ts.add", [1, 2])).get({ timeout: 10000 })).toBe(3);
});

test("maxTasksPerChild: a child is replaced after 3 tasks, without an error line", async () => {
  const pids: unknown[] = [];
  for (let i = 0; i < 6; i++) pids.push(await (await client.sendTask("ts.pid")).get({ timeout: 10000 }));
  expect(new Set(pids).size).toBeGreaterThan(1);
  await waitFor(() => logger.lines.some((l) => l.includes("reached max tasks per child (3)")), 5000, "recycle line");
  expect(logger.lines.some((l) => l.includes("ERROR") && l.includes("ForkPoolWorker"))).toBe(false);
});

test("pool_restart (worker_pool_restarts on): every child is replaced, Celery's reply", async () => {
  const before = (await stats()).pool.processes as number[];
  expect(await client.control.broadcast("pool_restart", { ...to(), arguments: { modules: null, reload: false } })).toEqual([{ [node]: { ok: "reload started" } }]);
  await waitFor(async () => {
    const now = (await stats()).pool.processes as number[];
    return now.length === before.length && now.every((p) => !before.includes(p));
  }, 10000, "new children");
  expect(await (await client.sendTask("ts.add", [2, 2])).get({ timeout: 10000 })).toBe(4);
});
