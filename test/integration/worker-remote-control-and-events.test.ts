/**
 * Remote control and events of a celeriac worker on Redis and on RabbitMQ (amqp://, a vhost of its
 * own on the private test broker), driven by celeriac's own client (`app.control`, EventReceiver):
 * inspect/control commands, replies with ticket/clock, worker and task events. Then what each broker
 * has of its own: on Redis the pidbox binding + PSUBSCRIBE on /{db}.celeryev/*; on RabbitMQ the pidbox
 * topology as kombu declares it (`celery.pidbox` fanout non-durable, `<node>.celery.pidbox` auto-delete
 * with x-message-ttl 300000 and x-expires 10000, `reply.celery.pidbox` direct non-durable), events on
 * the durable topic exchange `celeryev` (routing keys `worker.heartbeat`, `task.succeeded`, ...), and
 * the pidbox queue declared again after the broker closes every connection.
 */
import { randomUUID } from "node:crypto";
import { AmqpTransport } from "../../src/transport/amqp"; // first: installs the table decoder
import { typedInteger } from "../../src/transport/amqp/header-types";
import * as amqplib from "amqplib";
import { Celery } from "../../src/celery";
import { EventReceiver } from "../../src/events/receiver";
import type { CeleryEvent } from "../../src/events/dispatcher";
import type { Worker } from "../../src/worker/worker";
import { listJson, rabbitmqctl } from "../support/amqp";
import { captureLogger, storedMeta, testApp } from "../support/app";
import { BROKERS, type BrokerLease } from "../support/brokers";
import { rawRedis } from "../support/redis";
import { waitFor } from "../support/wait";

jest.setTimeout(60_000);

interface ExchangeRow {
  name: string;
  type: string;
  durable: boolean;
  auto_delete: boolean;
}
interface QueueRow {
  name: string;
  durable: boolean;
  auto_delete: boolean;
  arguments: unknown[];
}

describe.each(BROKERS)("worker on $name", (broker) => {
  let lease: BrokerLease;
  let app: Celery;
  let worker: Worker;
  let node: string;
  let client: Celery;
  const events: CeleryEvent[] = [];
  let receiver: EventReceiver;
  let snoopConn: amqplib.ChannelModel | undefined;
  const routingKeys: Array<{ key: string; type: string; hostname: string }> = [];
  const vhost = () => lease.vhost as string;

  beforeAll(async () => {
    lease = await broker.open("ctl", 8);
    app = testApp({ broker: lease.url, workerSendTaskEvents: true });
    app.task("c.add", (x: number, y: number) => x + y);
    app.task("c.sleep", async (seconds: number) => {
      await new Promise((r) => setTimeout(r, seconds * 1000));
      return seconds;
    });
    app.task("c.fail", () => {
      throw new Error("boom");
    });
    node = `ctl-${randomUUID().slice(0, 8)}@test`;
    client = testApp({ broker: lease.url, taskDefaultQueue: app.conf.taskDefaultQueue });
    receiver = new EventReceiver(await client.connection(), (e) => {
      if (e.hostname === node) events.push(e);
    });
    await receiver.start();
    if (broker.transport === "amqp") {
      // A raw AMQP consumer bound with "#" records the routing key of every event message.
      snoopConn = await amqplib.connect(lease.url);
      const ch = await snoopConn.createChannel();
      await ch.assertExchange("celeryev", "topic", { durable: true, autoDelete: false });
      const q = await ch.assertQueue("", { exclusive: true, autoDelete: true });
      await ch.bindQueue(q.queue, "celeryev", "#");
      await ch.consume(
        q.queue,
        (m) => {
          if (!m) return;
          try {
            const body = JSON.parse(m.content.toString("utf8")) as Record<string, unknown> | Array<Record<string, unknown>>;
            for (const e of Array.isArray(body) ? body : [body]) routingKeys.push({ key: m.fields.routingKey, type: String(e.type), hostname: String(e.hostname) });
          } catch {
            /* not JSON */
          }
        },
        { noAck: true },
      );
      expect(await client.connection()).toBeInstanceOf(AmqpTransport);
    }
    worker = app.worker({ hostname: node, concurrency: 2, logger: captureLogger(), heartbeatInterval: 0.5 });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop();
    await receiver?.stop();
    await app?.close();
    await client?.close();
    await snoopConn?.close().catch(() => undefined);
    await lease?.close();
  });

  const to = () => ({ destination: [node], timeout: 3 });

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
    expect(stats).toMatchObject({ pid: process.pid, prefetch_count: worker.prefetch, pool: { "max-concurrency": 2 }, broker: { transport: broker.transport } });
    expect(typeof stats.clock).toBe("string");
    const clock = ((await i.clock())![node] as { clock: number }).clock;
    expect(clock).toBeGreaterThan(0);
    expect((await i.conf())![node]).toMatchObject({ worker_send_task_events: true });
    expect((await i.activeQueues())![node]).toEqual([expect.objectContaining({ name: app.conf.taskDefaultQueue, routing_key: app.conf.taskDefaultQueue })]);
    expect(((await i.report())![node] as { ok: string }).ok).toContain(`transport:${broker.transport}`);
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
    expect(JSON.stringify((await storedMeta(r.id))?.result)).toContain("terminated");
    expect((await client.control.inspect(to()).revoked())![node]).toContain(r.id);
  });

  // celery/worker/control.py (5.3+) revoke_by_stamped_headers: ok(f'headers {headers} flagged as revoked, but not
  // terminated') and, with terminate, ok(f'headers {headers} were not terminated') when nothing matched
  test("revoke_by_stamped_headers replies as Celery 5.3+; nothing running is terminated", async () => {
    expect(await client.control.revokeByStampedHeaders({ batch: ["b1", "b2"] }, { reply: true, ...to() })).toEqual([
      { [node]: { ok: "headers {'batch': ['b1', 'b2']} flagged as revoked, but not terminated" } },
    ]);
    expect(await client.control.revokeByStampedHeaders({ batch: "b3" }, { terminate: true, reply: true, ...to() })).toEqual([
      { [node]: { ok: "headers {'batch': 'b3'} were not terminated" } },
    ]);
  });

  // celery/worker/control.py rate_limit / time_limit: ok('new rate limit set successfully'),
  // ok('rate limit disabled successfully'), nok('unknown task'), ok('time limits set successfully')
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
    expect(events.find((e) => e.type === "task-succeeded" && e.uuid === r.id)).toMatchObject({ result: "5", hostname: node });
    expect(events.find((e) => e.type === "task-failed" && e.uuid === f.id)).toMatchObject({ exception: "Error('boom')" });
    const hb = events.find((e) => e.type === "worker-heartbeat")!;
    expect(hb).toMatchObject({ freq: 0.5, sw_sys: expect.any(String) as unknown, hostname: node });
    expect(hb.loadavg).toHaveLength(3);
  });

  test("add_consumer / cancel_consumer", async () => {
    const extra = `extra-${randomUUID().slice(0, 8)}`;
    expect(await client.control.addConsumer(extra, { reply: true, ...to() })).toEqual([{ [node]: { ok: `add consumer ${extra}` } }]);
    const r = await client.sendTask("c.add", [1, 1], {}, { queue: extra });
    expect(await r.get({ timeout: 10000 })).toBe(2);
    expect(await client.control.cancelConsumer(extra, { reply: true, ...to() })).toEqual([{ [node]: { ok: `no longer consuming from ${extra}` } }]);
    expect(worker.queues).not.toContain(extra);
  });

  // Redis only: kombu's Redis transport keeps exchange bindings in _kombu.binding.* sets.
  if (broker.transport === "redis") {
    test("the worker binds its pidbox queue in _kombu.binding.celery.pidbox", async () => {
      const redis = rawRedis(8);
      try {
        const members = await redis.smembers("_kombu.binding.celery.pidbox");
        expect(members).toContain(`\x06\x16\x06\x16${node}.celery.pidbox`);
      } finally {
        redis.disconnect();
      }
    });
  }

  // RabbitMQ only: declared exchanges, queues and bindings, routing keys, and connections the broker closes.
  if (broker.transport === "amqp") {
    // kombu/pidbox.py Mailbox._get_exchange (durable=False) and Node/Mailbox.get_queue (durable=False,
    // auto_delete, expires=queue_expires, message_ttl=queue_ttl) with celery/app/control.py Control's
    // Mailbox(type='fanout', queue_ttl=control_queue_ttl 300.0, queue_expires=control_queue_expires 10.0)
    test("celery.pidbox is a non-durable fanout exchange; the node queue has kombu's TTL/expires; bound with ''", async () => {
      const exchanges = await listJson<ExchangeRow>("exchanges", vhost(), "name", "type", "durable", "auto_delete");
      expect(exchanges.find((e) => e.name === "celery.pidbox")).toEqual({ name: "celery.pidbox", type: "fanout", durable: false, auto_delete: false });
      const queues = await listJson<QueueRow>("queues", vhost(), "name", "durable", "auto_delete", "arguments");
      const q = queues.find((r) => r.name === `${node}.celery.pidbox`);
      // Integers as py-amqp sends them: signed 32-bit ("signedint").
      expect(q).toEqual({ name: `${node}.celery.pidbox`, durable: false, auto_delete: true, arguments: expect.any(Array) as unknown });
      expect(q!.arguments).toHaveLength(2);
      expect(q!.arguments).toEqual(expect.arrayContaining([["x-message-ttl", "signedint", 300000], ["x-expires", "signedint", 10000]]));
      const bindings = await listJson<{ source_name: string; destination_name: string; routing_key: string }>("bindings", vhost(), "source_name", "destination_name", "routing_key");
      expect(bindings).toContainEqual({ source_name: "celery.pidbox", destination_name: `${node}.celery.pidbox`, routing_key: "" });
    });

    test("after a ping the reply exchange is direct non-durable; celeryev is a durable topic exchange", async () => {
      expect(await client.control.ping(to())).toEqual([{ [node]: { ok: "pong" } }]);
      const exchanges = await listJson<ExchangeRow>("exchanges", vhost(), "name", "type", "durable", "auto_delete");
      expect(exchanges.find((e) => e.name === "reply.celery.pidbox")).toEqual({ name: "reply.celery.pidbox", type: "direct", durable: false, auto_delete: false });
      expect(exchanges.find((e) => e.name === "celeryev")).toEqual({ name: "celeryev", type: "topic", durable: true, auto_delete: false });
    });

    test("kombu's own declarations of the pidbox entities (as a Python worker/client makes them) are accepted afterwards", async () => {
      const conn = await amqplib.connect(lease.url);
      try {
        const ch = await conn.createChannel();
        // A PRECONDITION_FAILED (406) would close the channel and reject these.
        await ch.assertExchange("celery.pidbox", "fanout", { durable: false, autoDelete: false });
        await ch.assertQueue(`${node}.celery.pidbox`, {
          durable: false,
          exclusive: false,
          autoDelete: true,
          arguments: { "x-message-ttl": typedInteger(300000), "x-expires": typedInteger(10000) },
        });
        await ch.bindQueue(`${node}.celery.pidbox`, "celery.pidbox", "");
        await ch.assertExchange("reply.celery.pidbox", "direct", { durable: false, autoDelete: false });
        await ch.assertExchange("celeryev", "topic", { durable: true, autoDelete: false });
        await ch.close();
      } finally {
        await conn.close();
      }
      // Still answering after that.
      expect(await client.control.ping(to())).toEqual([{ [node]: { ok: "pong" } }]);
    });

    test("events travel on celeryev with dotted routing keys", async () => {
      await waitFor(() => routingKeys.some((k) => k.type === "task-failed" && k.hostname === node), 5000, "raw task-failed");
      const mine = routingKeys.filter((k) => k.hostname === node);
      for (const k of mine) expect(k.key).toBe(k.type.replace(/-/g, "."));
      const keys = new Set(mine.map((k) => k.key));
      for (const k of ["worker.heartbeat", "task.received", "task.started", "task.succeeded", "task.failed"]) expect(keys).toContain(k);
    });

    test("after the broker closes every connection, the pidbox queue is declared again and the worker still answers", async () => {
      await rabbitmqctl("-q", "close_all_connections", "-p", vhost(), "remote control test");
      // The auto-delete queue goes with its consumer; the transport re-declares its recorded topology.
      let replies: unknown[] = [];
      await waitFor(async () => (replies = await client.control.ping({ destination: [node], timeout: 1 }).catch(() => [])).length === 1, 30000, "ping after reconnect");
      expect(replies).toEqual([{ [node]: { ok: "pong" } }]);
      const queues = await listJson<QueueRow>("queues", vhost(), "name", "durable", "auto_delete", "arguments");
      expect(queues.find((r) => r.name === `${node}.celery.pidbox`)).toMatchObject({ durable: false, auto_delete: true });
    });
  }
});
