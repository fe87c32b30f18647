/**
 * Remote control and events of a celeriac worker on Redis, driven by celeriac's own client
 * (`app.control`, EventReceiver): pidbox binding + PSUBSCRIBE, replies with ticket/clock,
 * inspect/control commands, worker and task events on /{db}.celeryev/*.
 */
import { randomUUID } from "node:crypto";
import { Celery } from "../../src/app";
import { EventReceiver } from "../../src/events/receiver";
import type { CeleryEvent } from "../../src/events/dispatcher";
import { setWorkerControlOptions } from "../../src/worker/control";
import type { Worker } from "../../src/worker/worker";
import { captureLogger, storedMeta, testApp } from "../support/app";
import { rawRedis } from "../support/redis";
import { waitFor } from "../support/wait";

let app: Celery;
let worker: Worker;
let node: string;
let client: Celery;
const events: CeleryEvent[] = [];
let receiver: EventReceiver;

beforeAll(async () => {
  app = testApp({ workerSendTaskEvents: true });
  app.task("c.add", (x: number, y: number) => x + y);
  app.task("c.sleep", async (seconds: number) => {
    await new Promise((r) => setTimeout(r, seconds * 1000));
    return seconds;
  });
  app.task("c.fail", () => {
    throw new Error("boom");
  });
  node = `ctl-${randomUUID().slice(0, 8)}@test`;
  client = testApp({ taskDefaultQueue: app.conf.taskDefaultQueue });
  receiver = new EventReceiver(await client.connection(), (e) => {
    if (e.hostname === node) events.push(e);
  });
  await receiver.start();
  worker = app.worker({ hostname: node, concurrency: 2, logger: captureLogger() });
  setWorkerControlOptions(worker, { heartbeatInterval: 0.5 });
  await worker.start();
});

afterAll(async () => {
  await worker.stop();
  await receiver.stop();
  await app.close();
  await client.close();
});

const to = () => ({ destination: [node], timeout: 3 });

test("the worker binds its pidbox queue in _kombu.binding.celery.pidbox", async () => {
  const redis = rawRedis(8);
  try {
    const members = await redis.smembers("_kombu.binding.celery.pidbox");
    expect(members).toContain(`\x06\x16\x06\x16${node}.celery.pidbox`);
  } finally {
    redis.disconnect();
  }
});

test("ping → {node: {ok: pong}}; a destination elsewhere gets no reply", async () => {
  expect(await client.control.ping(to())).toEqual([{ [node]: { ok: "pong" } }]);
  expect(await client.control.ping({ destination: ["nobody@nowhere"], timeout: 0.5 })).toEqual([]);
});

test("pattern + matcher glob / pcre select the node", async () => {
  const prefix = node.split("@")[0];
  const glob = await client.control.broadcast("ping", { pattern: `${prefix}@*`, matcher: "glob", reply: true, timeout: 1, limit: 1 });
  expect(glob).toEqual([{ [node]: { ok: "pong" } }]);
  const pcre = await client.control.broadcast("ping", { pattern: `${prefix}@te`, matcher: "pcre", reply: true, timeout: 1, limit: 1 });
  expect(pcre).toEqual([{ [node]: { ok: "pong" } }]);
  const miss = await client.control.broadcast("ping", { pattern: `zz${prefix}*`, matcher: "glob", reply: true, timeout: 0.5 });
  expect(miss).toEqual([]);
});

test("unknown method → {error: KeyError(...)}", async () => {
  const r = await client.control.broadcast("no_such_cmd", { ...to(), reply: true });
  expect(r).toEqual([{ [node]: { error: "KeyError('no_such_cmd')" } }]);
});

test("registered, stats, clock, conf, active_queues, report", async () => {
  const i = client.control.inspect(to());
  expect(await i.registered()).toEqual({ [node]: ["c.add", "c.fail", "c.sleep"] });
  const stats = (await i.stats())![node] as Record<string, unknown>;
  expect(stats).toMatchObject({ pid: process.pid, prefetch_count: worker.prefetch, pool: { "max-concurrency": 2 }, broker: { transport: "redis" } });
  expect(typeof stats.clock).toBe("string");
  const clock = ((await i.clock())![node] as { clock: number }).clock;
  expect(clock).toBeGreaterThan(0);
  expect((await i.conf())![node]).toMatchObject({ worker_send_task_events: true });
  expect((await i.activeQueues())![node]).toEqual([expect.objectContaining({ name: app.conf.taskDefaultQueue, routing_key: app.conf.taskDefaultQueue })]);
  expect(((await i.report())![node] as { ok: string }).ok).toContain("transport:redis");
});

test("active during a long task, query_task, then revoke --terminate → REVOKED terminated", async () => {
  const r = await client.sendTask("c.sleep", [30]);
  await waitFor(() => worker.activeRequests.length === 1, 10000, "task running");
  const active = (await client.control.inspect(to()).active())![node] as Array<Record<string, unknown>>;
  expect(active).toEqual([
    expect.objectContaining({ id: r.id, name: "c.sleep", type: "c.sleep", args: [30], kwargs: {}, hostname: node, acknowledged: true, worker_pid: process.pid }),
  ]);
  const q = (await client.control.inspect(to()).queryTask(r.id))![node] as Record<string, unknown>;
  expect(q[r.id]).toEqual(["active", expect.objectContaining({ id: r.id })]);
  const reply = await client.control.revoke(r.id, { terminate: true, reply: true, ...to() });
  expect(reply).toEqual([{ [node]: { ok: `terminate: ${r.id}` } }]);
  await waitFor(async () => (await storedMeta(r.id))?.status === "REVOKED", 10000, "REVOKED");
  expect((await client.control.inspect(to()).revoked())![node]).toContain(r.id);
});

test("revoke_by_stamped_headers replies as Celery 5.3+; nothing running is terminated", async () => {
  expect(await client.control.revokeByStampedHeaders({ batch: ["b1", "b2"] }, { reply: true, ...to() })).toEqual([
    { [node]: { ok: "headers {'batch': ['b1', 'b2']} flagged as revoked, but not terminated" } },
  ]);
  expect(await client.control.revokeByStampedHeaders({ batch: "b3" }, { terminate: true, reply: true, ...to() })).toEqual([
    { [node]: { ok: "headers {'batch': 'b3'} were not terminated" } },
  ]);
});

test("rate_limit / time_limit replies as Celery's", async () => {
  expect(await client.control.rateLimit("c.add", "10/m", { reply: true, ...to() })).toEqual([{ [node]: { ok: "new rate limit set successfully" } }]);
  expect((await client.control.inspect(to()).registered())![node]).toContain("c.add [rate_limit=10/m]");
  expect(await client.control.rateLimit("c.add", null, { reply: true, ...to() })).toEqual([{ [node]: { ok: "rate limit disabled successfully" } }]);
  expect(await client.control.rateLimit("c.nope", "1/s", { reply: true, ...to() })).toEqual([{ [node]: { error: "unknown task" } }]);
  expect(await client.control.timeLimit("c.add", 10, 20, { reply: true, ...to() })).toEqual([{ [node]: { ok: "time limits set successfully" } }]);
});

test("enable/disable events replies", async () => {
  expect(await client.control.enableEvents({ reply: true, ...to() })).toEqual([{ [node]: { ok: "task events already enabled" } }]);
  expect(await client.control.disableEvents({ reply: true, ...to() })).toEqual([{ [node]: { ok: "task events disabled" } }]);
  expect(await client.control.enableEvents({ reply: true, ...to() })).toEqual([{ [node]: { ok: "task events enabled" } }]);
});

test("worker-online, worker-heartbeat and task events reach a receiver", async () => {
  const r = await client.sendTask("c.add", [2, 3]);
  const f = await client.sendTask("c.fail", []);
  await waitFor(() => events.some((e) => e.type === "task-succeeded" && e.uuid === r.id), 10000, "task-succeeded");
  await waitFor(() => events.some((e) => e.type === "task-failed" && e.uuid === f.id), 10000, "task-failed");
  await waitFor(() => events.some((e) => e.type === "worker-heartbeat"), 5000, "heartbeat");
  const types = events.filter((e) => e.uuid === r.id).map((e) => e.type);
  expect(types).toEqual(["task-received", "task-started", "task-succeeded"]);
  const received = events.find((e) => e.type === "task-received" && e.uuid === r.id)!;
  expect(received).toMatchObject({ name: "c.add", args: "(2, 3)", kwargs: "{}", retries: 0, eta: null, expires: null, hostname: node, pid: process.pid });
  expect(events.find((e) => e.type === "task-succeeded" && e.uuid === r.id)).toMatchObject({ result: "5" });
  expect(events.find((e) => e.type === "task-failed" && e.uuid === f.id)).toMatchObject({ exception: "Error('boom')" });
  const hb = events.find((e) => e.type === "worker-heartbeat")!;
  expect(hb).toMatchObject({ freq: 0.5, sw_sys: expect.any(String) });
  expect(hb.loadavg).toHaveLength(3);
});

test("add_consumer / cancel_consumer", async () => {
  const extra = `extra-${randomUUID().slice(0, 8)}`;
  expect(await client.control.addConsumer(extra, { reply: true, ...to() })).toEqual([{ [node]: { ok: `add consumer ${extra}` } }]);
  const r = await client.sendTask("c.add", [1, 1], { queue: extra });
  expect(await r.get({ timeout: 10000 })).toBe(2);
  expect(await client.control.cancelConsumer(extra, { reply: true, ...to() })).toEqual([{ [node]: { ok: `no longer consuming from ${extra}` } }]);
  expect(worker.queues).not.toContain(extra);
});
