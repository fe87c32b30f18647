/**
 * The rpc:// result backend (docs/protocol.md §6.1, §7.9; docs/protocol-checklist.md B18, B19) on the Redis broker and on
 * RabbitMQ: the reply messages equal the captured vectors, the
 * client's reply queue, correlation, latest-state-wins, out-of-band buffering, and a celeriac
 * worker + client end to end.
 *
 * Redis: db 1 of the private test Redis, every queue/oid unique (the db is never flushed).
 * RabbitMQ: a vhost of its own on the test broker (test/support/brokers.ts), unique auto-delete queues.
 */
import { randomUUID } from "node:crypto";
import * as amqplib from "amqplib";
import { Celery, chain, chord, group } from "../../src";
import type { CelerySettings, Worker } from "../../src";
import { RpcBackend, rpcReplyQueue } from "../../src/backend/rpc";
import type { Delivery, Transport } from "../../src/transport/types";
import { buildResultMeta } from "../../src/protocol/result-meta";
import type { ResultMeta } from "../../src/protocol/result-meta";
import type { WireValue } from "../../src/protocol/message";
import { pyJsonLoads } from "../../src/protocol/serializers/json";
import { loadVector, parseEnvelope } from "../support/vectors";
import { captureLogger, unique } from "../support/app";
import { BROKERS, type BrokerLease } from "../support/brokers";
import { rawRedis } from "../support/redis";
import { waitFor } from "../support/wait";

const REDIS_DB = 1;

interface VectorRaw {
  body_base64: string;
  properties: { [k: string]: WireValue };
  headers: { [k: string]: WireValue };
  delivery_info: { exchange: string; routing_key: string };
}

function vectorRaw(name: string): VectorRaw[] {
  return loadVector(name).raw as unknown as VectorRaw[];
}

function vectorBody(raw: VectorRaw): { [k: string]: WireValue } {
  return pyJsonLoads(Buffer.from(raw.body_base64, "base64").toString("utf8")) as { [k: string]: WireValue };
}

/** The meta the worker would build for a vector message (ready states get a date_done, not sent in 5.2). */
function metaOf(raw: VectorRaw): ResultMeta {
  const b = vectorBody(raw);
  return buildResultMeta({ taskId: b.task_id as string, status: b.status as string, result: b.result, traceback: b.traceback as string | null });
}

/** Collects what arrives on a queue, through the transport (no-ack consumer, as a client does). */
async function collect(transport: Transport, queue: string): Promise<{ deliveries: Delivery[]; stop: () => Promise<void> }> {
  await transport.declareQueue(rpcReplyQueue(queue, 60));
  const deliveries: Delivery[] = [];
  const consumer = await transport.consume({
    queues: [queue],
    noAck: true,
    hasCapacity: () => true,
    onDelivery: (d) => {
      deliveries.push(d);
      void d.ack();
    },
  });
  return { deliveries, stop: () => consumer.cancel() };
}

describe.each(BROKERS)("rpc:// backend on $name", (broker) => {
  const d = describe;
  let lease: BrokerLease;
  beforeAll(async () => {
    lease = await broker.open("rpc", REDIS_DB);
  });
  const apps: Celery[] = [];
  const workers: Worker[] = [];
  const taskQueues: string[] = [];

  function rpcApp(settings: CelerySettings = {}): Celery {
    const queue = unique("rpc");
    taskQueues.push(queue);
    const app = new Celery("rpc", { broker: lease.url, backend: "rpc://", taskDefaultQueue: queue, ...settings });
    apps.push(app);
    return app;
  }

  async function rpcBackend(app: Celery): Promise<RpcBackend> {
    const b = await app.backend();
    expect(b).toBeInstanceOf(RpcBackend);
    return b as RpcBackend;
  }

  afterAll(async () => {
    for (const w of workers) await w.stop();
    // unconsumed task messages of the tests without a worker
    if (apps.length) {
      const t = await apps[0].connection();
      for (const q of taskQueues) await t.purge([q]).catch(() => undefined);
    }
    for (const a of apps) await a.close();
    await lease?.close();
  });

  d("worker side (B18)", () => {
    test.each(["backend-rpc-success", "backend-rpc-failure"])("store() publishes %s byte for byte: STARTED then the ready state", async (name) => {
      const app = rpcApp();
      const backend = await rpcBackend(app);
      const transport = await app.connection();
      const replyTo = `vec-reply-${randomUUID()}`;
      const sink = await collect(transport, replyTo);
      const raws = vectorRaw(name);
      const taskId = vectorBody(raws[0]).task_id as string;
      for (const raw of raws) await backend.store(taskId, metaOf(raw), { replyTo, correlationId: taskId });
      await waitFor(() => sink.deliveries.length === raws.length, 10000, "both replies");
      await sink.stop();
      sink.deliveries.forEach((got, i) => {
        const want = raws[i];
        expect(got.message.body.toString("base64")).toBe(want.body_base64);
        expect(got.message.contentType).toBe(want.properties.content_type);
        expect(got.message.contentEncoding).toBe(want.properties.content_encoding);
        expect(got.message.headers).toEqual({});
        expect(got.message.properties).toMatchObject({ correlation_id: taskId, delivery_mode: 1, priority: 0 });
        expect(got.message.properties.reply_to).toBeUndefined();
        expect(got.exchange).toBe("");
        expect(got.routingKey).toBe(replyTo);
      });
    });

    // celery/backends/rpc.py RPCBackend.store_result: `if not routing_key: return` (routing_key = request.reply_to)
    test("nothing is sent without a reply_to (as Celery)", async () => {
      const app = rpcApp();
      const backend = await rpcBackend(app);
      const meta = buildResultMeta({ taskId: "t", status: "SUCCESS", result: 1 });
      await expect(backend.store("t", meta)).resolves.toBeUndefined();
      await expect(backend.store("t", meta, { replyTo: "", correlationId: "t" })).resolves.toBeUndefined();
    });

    if (broker.transport === "redis") {
      test("on Redis the reply is LPUSHed to list <reply_to> with kombu's envelope via the anonymous exchange", async () => {
        const app = rpcApp();
        const backend = await rpcBackend(app);
        const replyTo = `vec-reply-${randomUUID()}`;
        const raw = vectorRaw("backend-rpc-success")[1];
        const taskId = vectorBody(raw).task_id as string;
        await backend.store(taskId, metaOf(raw), { replyTo, correlationId: taskId });
        const redis = rawRedis(REDIS_DB);
        try {
          const items = await redis.lrange(replyTo, 0, -1);
          await redis.del(replyTo);
          expect(items).toHaveLength(1);
          const env = parseEnvelope(items[0]);
          // kombu/transport/virtual/base.py Channel.prepare_message builds {body, content-encoding, content-type, headers, properties}
          expect(Object.keys(env)).toEqual(["body", "content-encoding", "content-type", "headers", "properties"]);
          expect(env.body).toBe(raw.body_base64);
          expect(env.headers).toEqual({});
          expect(Object.keys(env.properties)).toEqual(["correlation_id", "delivery_mode", "delivery_info", "priority", "body_encoding", "delivery_tag"]);
          expect(env.properties).toMatchObject({
            correlation_id: taskId,
            delivery_mode: 1,
            delivery_info: { exchange: "", routing_key: replyTo },
            priority: 0,
            body_encoding: "base64",
          });
        } finally {
          redis.disconnect();
        }
      });
    }

    test("resultSerializer msgpack is used for the reply body", async () => {
      const app = rpcApp({ resultSerializer: "msgpack", acceptContent: ["json", "msgpack"] });
      const worker = await rpcBackend(app);
      const client = rpcApp({ acceptContent: ["json", "msgpack"] });
      const r = await client.sendTask("tasks.none", [], {}, {});
      await worker.store(r.id, buildResultMeta({ taskId: r.id, status: "SUCCESS", result: { a: [1, "b"] } }), { replyTo: client.oid, correlationId: r.id });
      expect(await r.get({ timeout: 10000 })).toEqual({ a: [1, "b"] });
    });
  });

  d("client side (B19)", () => {
    /** A "worker" app that only publishes states with store(). */
    async function publisher(): Promise<RpcBackend> {
      return rpcBackend(rpcApp());
    }
    const state = (taskId: string, status: string, result: WireValue = null): ResultMeta => buildResultMeta({ taskId, status, result });

    test("sendTask declares and consumes the reply queue <oid> before publishing; get() reads the reply", async () => {
      const client = rpcApp();
      const worker = await publisher();
      const r = await client.sendTask("tasks.add", [2, 2]);
      const route = { replyTo: client.oid, correlationId: r.id };
      const rb = await rpcBackend(client);
      expect(rb.replyQueue).toEqual({ name: client.oid, exchange: "", routingKey: client.oid, durable: false, autoDelete: true, expires: 86400000 });
      await worker.store(r.id, state(r.id, "STARTED", { pid: 1, hostname: "w@h" }), route);
      await worker.store(r.id, state(r.id, "SUCCESS", 4), route);
      expect(await r.get({ timeout: 10000 })).toBe(4);
      expect(await r.state()).toBe("SUCCESS");
    });

    if (broker.transport === "amqp") {
      // celery/backends/rpc.py RPCBackend.binding: Queue(self.oid, ..., durable=False, auto_delete=True, expires=self.expires)
      test("on RabbitMQ the reply queue exists with Celery's properties (durable=false, auto_delete, x-expires)", async () => {
        const client = rpcApp({ resultExpires: 3600 });
        await client.sendTask("tasks.add", [1, 1]);
        const conn = await amqplib.connect(lease.url);
        try {
          const ch = await conn.createChannel();
          ch.on("error", () => undefined);
          // an equivalent declaration passes...
          await ch.assertQueue(client.oid, { durable: false, autoDelete: true, arguments: { "x-expires": { "!": "int", value: 3600000 } } });
          await ch.close();
          // ...a different one is refused (PRECONDITION_FAILED), so these are the queue's properties
          const ch2 = await conn.createChannel();
          ch2.on("error", () => undefined);
          await expect(ch2.assertQueue(client.oid, { durable: true, autoDelete: true, arguments: { "x-expires": { "!": "int", value: 3600000 } } })).rejects.toThrow(/PRECONDITION_FAILED/);
        } finally {
          await conn.close().catch(() => undefined);
        }
      });
    }

    test("several tasks in flight: each reply reaches its own AsyncResult by correlation_id", async () => {
      const client = rpcApp();
      const worker = await publisher();
      const results = await Promise.all([1, 2, 3, 4, 5].map((n) => client.sendTask("tasks.n", [n])));
      const waiting = results.map((r) => r.get({ timeout: 10000 }));
      // answered in reverse order, with STARTED states interleaved
      for (const r of [...results].reverse()) await worker.store(r.id, state(r.id, "STARTED"), { replyTo: client.oid, correlationId: r.id });
      for (const [i, r] of [...results.entries()].reverse()) {
        await worker.store(r.id, state(r.id, "SUCCESS", `result-${i + 1}`), { replyTo: client.oid, correlationId: r.id });
      }
      expect(await Promise.all(waiting)).toEqual(["result-1", "result-2", "result-3", "result-4", "result-5"]);
    });

    test("a reply carrying another correlation_id does not wake the waiter", async () => {
      const client = rpcApp();
      const worker = await publisher();
      const a = await client.sendTask("tasks.a");
      const b = await client.sendTask("tasks.b");
      await worker.store(a.id, state(a.id, "SUCCESS", "for-b"), { replyTo: client.oid, correlationId: b.id });
      expect(await b.get({ timeout: 10000 })).toBe("for-b");
      await expect(a.get({ timeout: 300 })).rejects.toMatchObject({ name: "TimeoutError" });
    });

    test("only the latest state is kept; a SUCCESS is never replaced", async () => {
      const client = rpcApp();
      const worker = await publisher();
      const r = await client.sendTask("tasks.progress");
      const route = { replyTo: client.oid, correlationId: r.id };
      await worker.store(r.id, state(r.id, "STARTED"), route);
      await worker.store(r.id, state(r.id, "PROGRESS", { done: 1 }), route);
      await worker.store(r.id, state(r.id, "PROGRESS", { done: 2 }), route);
      await waitFor(async () => (await r.result()) !== null && JSON.stringify(await r.result()) === '{"done":2}', 10000, "PROGRESS 2");
      expect(await r.state()).toBe("PROGRESS");
      await worker.store(r.id, state(r.id, "SUCCESS", "done"), route);
      await worker.store(r.id, state(r.id, "STARTED"), route); // a late duplicate
      expect(await r.get({ timeout: 10000 })).toBe("done");
      const other = client.AsyncResult(r.id); // no local cache
      await new Promise((res) => setTimeout(res, 300));
      expect(await other.state()).toBe("SUCCESS");
    });

    test("out-of-band replies are kept for a later get(), even of a result created afterwards", async () => {
      const client = rpcApp();
      const worker = await publisher();
      const r1 = await client.sendTask("tasks.x");
      const r2 = await client.sendTask("tasks.y");
      const route = (id: string) => ({ replyTo: client.oid, correlationId: id });
      await worker.store(r2.id, state(r2.id, "SUCCESS", "y"), route(r2.id));
      await worker.store(r1.id, state(r1.id, "FAILURE", { exc_type: "ValueError", exc_message: ["bad value", 42], exc_module: "builtins" }), route(r1.id));
      // nobody waited so far; give the consumer time to take both off the queue
      await new Promise((res) => setTimeout(res, 500));
      expect(await client.AsyncResult(r2.id).get({ timeout: 5000 })).toBe("y");
      await expect(client.AsyncResult(r1.id).get({ timeout: 5000 })).rejects.toMatchObject({ name: "ValueError", excMessage: ["bad value", 42] });
      expect(await client.AsyncResult(r1.id).state()).toBe("FAILURE");
    });

    test("a task sent by another client: its result never arrives here, the timeout says why", async () => {
      const sender = rpcApp();
      const other = rpcApp();
      const worker = await publisher();
      const r = await sender.sendTask("tasks.elsewhere");
      await worker.store(r.id, state(r.id, "SUCCESS", 1), { replyTo: sender.oid, correlationId: r.id });
      expect(await r.get({ timeout: 10000 })).toBe(1);
      const rb = await rpcBackend(other);
      await expect(rb.waitForReady(r.id, 300)).rejects.toThrow(/only to the client that sent the task/);
      await expect(other.AsyncResult(r.id).get({ timeout: 300 })).rejects.toMatchObject({ name: "TimeoutError" });
      expect(await other.AsyncResult(r.id).state()).toBe("PENDING");
    });

    test("forget drops the kept state; groups are not supported", async () => {
      const client = rpcApp();
      const worker = await publisher();
      const r = await client.sendTask("tasks.f");
      await worker.store(r.id, state(r.id, "SUCCESS", 1), { replyTo: client.oid, correlationId: r.id });
      expect(await r.get({ timeout: 10000 })).toBe(1);
      await r.forget();
      expect(await client.AsyncResult(r.id).state()).toBe("PENDING");
      const rb = await rpcBackend(client);
      await expect(rb.saveGroup("g", { result: [["g", null], []] })).rejects.toMatchObject({ name: "NotImplementedError" });
      await expect(rb.restoreGroup("g")).rejects.toMatchObject({ name: "NotImplementedError" });
      await expect(rb.deleteGroup("g")).rejects.toMatchObject({ name: "NotImplementedError" });
      expect(() => rb.ensureChordsAllowed()).toThrow(/does not support chords/);
    });

    test("close() rejects waiters", async () => {
      const client = rpcApp();
      const rb = await rpcBackend(client);
      const rejected = expect(rb.waitForReady(randomUUID(), null)).rejects.toThrow(/closed/);
      await rb.close();
      await rejected;
    });
  });

  d("celeriac worker + celeriac client end to end (needs the worker to pass reply_to/correlation_id to store)", () => {
    let workerApp: Celery;
    let client: Celery;

    beforeAll(async () => {
      workerApp = rpcApp({ taskTrackStarted: true });
      client = rpcApp({ taskDefaultQueue: workerApp.conf.taskDefaultQueue });
      workerApp.task("tasks.add", (x: number, y: number) => x + y);
      workerApp.task("tasks.fail", () => {
        throw new RangeError("no way");
      });
      workerApp.task(
        "tasks.progress",
        async (ctx, n: number) => {
          await ctx.updateState("PROGRESS", { n });
          await new Promise((r) => setTimeout(r, 300));
          return n * 2;
        },
        { bind: true },
      );
      const worker = workerApp.worker({ concurrency: 4, logger: captureLogger() });
      workers.push(worker);
      await worker.start();
    });

    test("results of several tasks come back to the sending client", async () => {
      const rs = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => client.sendTask<number>("tasks.add", [n, n])));
      expect(await Promise.all(rs.map((r) => r.get({ timeout: 15000 })))).toEqual([2, 4, 6, 8, 10, 12]);
    });

    test("a failure arrives with its exception and traceback", async () => {
      const r = await client.sendTask("tasks.fail");
      const err = await r.get({ timeout: 15000 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ name: "RangeError", excMessage: ["no way"] });
      expect(await r.traceback()).toMatch(/^Traceback \(most recent call last\):\n/);
      expect(await r.state()).toBe("FAILURE");
    });

    test("custom states are seen while the task runs (latest state)", async () => {
      const r = await client.sendTask("tasks.progress", [21]);
      await waitFor(async () => (await r.state()) === "PROGRESS", 10000, "PROGRESS");
      expect(await r.result()).toEqual({ n: 21 });
      expect(await r.get({ timeout: 15000 })).toBe(42);
    });

    // celery/backends/rpc.py E_NO_CHORD_SUPPORT, raised by RPCBackend.ensure_chords_allowed as NotImplementedError(E_NO_CHORD_SUPPORT.strip())
    test("chord and chain(x, group, y) are refused with Celery's E_NO_CHORD_SUPPORT before anything is sent", async () => {
      const idle = rpcApp();
      const transport = await idle.connection();
      await transport.declareQueue({ name: idle.conf.taskDefaultQueue });
      const add = (x: number) => idle.signature("tasks.add", [x, 1]);
      const refused = { name: "NotImplementedError", message: expect.stringMatching(/^The "rpc" result backend does not support chords!\n\nNote that a group chained/) as unknown };
      await expect(chord([add(1), add(2)], add(3)).applyAsync()).rejects.toMatchObject(refused);
      await expect(chain(add(1), group(add(2), add(3)), add(4)).applyAsync()).rejects.toMatchObject(refused);
      expect(await transport.purge([idle.conf.taskDefaultQueue])).toBe(0);
      // a plain chain and a group still work on rpc://
      await chain(add(1), idle.signature("tasks.add", [10])).applyAsync();
      expect(await transport.purge([idle.conf.taskDefaultQueue])).toBe(1);
    });

    test("the worker app's own backend does not consume replies meant for the client", async () => {
      const r = await client.sendTask<number>("tasks.add", [20, 22]);
      expect(await r.get({ timeout: 15000 })).toBe(42);
      await expect((await rpcBackend(workerApp)).waitForReady(r.id, 200)).rejects.toMatchObject({ name: "TimeoutError" });
    });
  });
});
