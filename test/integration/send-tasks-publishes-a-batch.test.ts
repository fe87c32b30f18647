/**
 * `app.sendTasks([...])`: many task messages in one call (Redis: one pipeline; RabbitMQ: every
 * publish, then the confirms), each the message `sendTask` would send, with the results in order.
 * Redis broker: db 8, backend db 9 (unique queues); RabbitMQ: a vhost of its own.
 */
import type { BoundTaskContext, Celery } from "../../src";
import { Celery as CeleryApp } from "../../src";
import type { Delivery, Transport } from "../../src/transport/types";
import { captureLogger, storedMeta, unique } from "../support/app";
import { BROKERS, type BrokerLease } from "../support/brokers";
import { testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";

/** Every message waiting in `queue`, taken off it (acked) through the transport. */
async function drain(transport: Transport, queue: string, count: number): Promise<Delivery[]> {
  const got: Delivery[] = [];
  const consumer = await transport.consume({ queues: [queue], hasCapacity: () => true, onDelivery: (d) => got.push(d) });
  try {
    await waitFor(() => got.length >= count, 10000, `${count} messages on ${queue}`);
  } finally {
    await consumer.cancel();
  }
  await Promise.all(got.map((d) => d.ack()));
  return got;
}

describe.each(BROKERS)("sendTasks on $name", (broker) => {
  let lease: BrokerLease;
  let app: Celery;

  beforeAll(async () => {
    lease = await broker.open("send-tasks", 8);
  });
  afterAll(async () => {
    await lease?.close();
  });
  afterEach(async () => {
    await app?.close();
  });

  const newApp = (): Celery => new CeleryApp("batch", { broker: lease.url, backend: testRedisUrl(9), taskDefaultQueue: unique("batch") });

  test("a batch of 300 runs on a worker and its results come back in the order sent", async () => {
    app = newApp();
    app.task("batch.mul", (x: number, y: number) => x * y);
    const worker = app.worker({ concurrency: 8, logger: captureLogger() });
    await worker.start();
    try {
      const results = await app.sendTasks<number>(Array.from({ length: 300 }, (_, i) => ({ name: "batch.mul", args: [i, 3] })));
      expect(new Set(results.map((r) => r.id)).size).toBe(300);
      expect(await Promise.all(results.map((r) => r.get({ timeout: 20000 })))).toEqual(Array.from({ length: 300 }, (_, i) => i * 3));
    } finally {
      await worker.stop();
    }
  });

  test("each message is the one sendTask sends for the same call, options included", async () => {
    app = newApp();
    const queue = app.conf.taskDefaultQueue;
    const sameId = unique("batch-id");
    const options = { eta: new Date(Date.now() + 3600_000), expires: new Date(Date.now() + 7200_000), priority: 3, headers: { custom: "h" }, shadow: "shown" };
    await app.sendTask("batch.any", [1, "a"], { k: [true, null] }, { ...options, taskId: sameId });
    const otherQueue = unique("batch-other");
    const [fromBatch, other] = await app.sendTasks([
      { name: "batch.any", args: [1, "a"], kwargs: { k: [true, null] }, options: { ...options, taskId: sameId } },
      { name: "batch.other", options: { queue: otherQueue } },
    ]);
    expect(fromBatch.id).toBe(sameId);
    const transport = await app.connection();
    const [a, b] = await drain(transport, queue, 2);
    expect(b.message.headers).toEqual(a.message.headers);
    expect(b.message.body.equals(a.message.body)).toBe(true);
    // the transport's own tag differs; `expiration` is milliseconds left when each was encoded
    const { delivery_tag: _a, expiration: expA, ...propsA } = a.message.properties as { delivery_tag?: unknown; expiration?: unknown };
    const { delivery_tag: _b, expiration: expB, ...propsB } = b.message.properties as { delivery_tag?: unknown; expiration?: unknown };
    expect(propsB).toEqual(propsA);
    expect(Math.abs(Number(expB) - Number(expA))).toBeLessThan(5000);
    // the other call went to its own queue, by its own options
    const [o] = await drain(transport, otherQueue, 1);
    expect(o.message.headers).toMatchObject({ id: other.id, task: "batch.other" });
  });

  test("sent from a running task, every task of a batch is one of its children", async () => {
    app = newApp();
    app.task("batch.child", (x: number) => x + 1);
    app.task(
      "batch.parent",
      async (ctx: BoundTaskContext, n: number) => {
        const sent = await app.sendTasks(Array.from({ length: n }, (_, i) => ({ name: "batch.child", args: [i] })));
        return sent.map((r) => r.id);
      },
      { bind: true },
    );
    const worker = app.worker({ concurrency: 4, logger: captureLogger() });
    await worker.start();
    try {
      const parent = await app.sendTask("batch.parent", [5]);
      const ids = await parent.get({ timeout: 20000 });
      const meta = await storedMeta(parent.id);
      expect(meta?.children).toEqual((ids as string[]).map((id) => [[id, null], null]));
      expect(await Promise.all((ids as string[]).map((id) => app.AsyncResult(id).get({ timeout: 20000 })))).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await worker.stop();
    }
  });

  test("an empty batch sends nothing and resolves to no results", async () => {
    app = newApp();
    expect(await app.sendTasks([])).toEqual([]);
  });

  // Redis routes a named exchange through its binding set, and publishMany checks every route
  // before it pushes anything; RabbitMQ has no publishMany (its batch is concurrent publishes) and
  // drops an unroutable message (mandatory=false), as kombu.
  if (broker.transport === "redis") {
    test("Redis: one unroutable message fails the batch before any message is pushed", async () => {
      app = newApp();
      const queue = app.conf.taskDefaultQueue;
      const transport = await app.connection();
      await transport.declareQueue({ name: queue });
      const message = { body: Buffer.from("[]"), contentType: "application/json", contentEncoding: "utf-8", headers: {}, properties: {} };
      await expect(
        transport.publishMany!([
          { message, target: { exchange: "", routingKey: queue } },
          { message, target: { exchange: unique("nowhere"), routingKey: "x" } },
        ]),
      ).rejects.toThrow(/no queue bound/);
      expect(await transport.purge([queue])).toBe(0);
    });
  }
});
