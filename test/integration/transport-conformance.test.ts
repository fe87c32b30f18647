/**
 * One suite of transport behaviours, run against EVERY transport: RedisTransport (test redis,
 * db 2, a unique global_keyprefix per run), AmqpTransport (test RabbitMQ, a vhost of its own) and
 * MemoryTransport (`memory://`, this process's broker; queue names are unique). Where they differ
 * the subject states its rule:
 *
 *   priority  Redis (kombu buckets 0/3/6/9): LOWER numbers are served first.
 *             AMQP (x-max-priority queue):     HIGHER numbers are served first.
 *             memory (kombu's has none):       publish order.
 */
import { randomUUID } from "node:crypto";
import type { QueueDeclaration, Transport } from "../../src/transport/types";
import { RedisTransport } from "../../src/transport/redis";
import { AmqpTransport } from "../../src/transport/amqp";
import { MemoryTransport } from "../../src/transport/memory";
import { amqpUrl, createVhost, deleteVhost } from "../support/amqp";
import { unique } from "../support/app";
import { rawMessage, record, testRedisUrl } from "../support/redis";
import { sleep, waitFor } from "../support/wait";

interface Subject {
  name: "redis" | "amqp" | "memory";
  /** A new transport on this run's namespace (prefix / vhost). */
  make(): Transport;
  /**
   * Messages of `queue` that still exist after every transport that saw them was closed: ready
   * ones plus delivered-but-never-settled ones (Redis: restored from `unacked` first; AMQP: the
   * broker requeued them when the channel closed).
   */
  leftover(queue: string): Promise<number>;
  /** A queue declaration with priorities. */
  priorityQueue(name: string): QueueDeclaration;
  /** Serving order of priorities [0, 5, 9] published in that order. */
  priorityOrder: number[];
  setup(): Promise<void>;
  teardown(): Promise<void>;
}

const silent = (): void => undefined;

function redisSubject(): Subject {
  const prefix = `conf-${randomUUID().slice(0, 8)}.`;
  const url = testRedisUrl(2);
  return {
    name: "redis",
    make: () => new RedisTransport(url, { globalKeyprefix: prefix, onError: silent }),
    async leftover(queue) {
      const t = new RedisTransport(url, { globalKeyprefix: prefix, visibilityTimeout: 0.001, onError: silent });
      try {
        await sleep(20);
        await t.restoreVisible();
        return await t.purge([queue]);
      } finally {
        await t.close();
      }
    },
    priorityQueue: (name) => ({ name }),
    priorityOrder: [0, 5, 9], // lower first
    setup: async () => undefined,
    teardown: async () => undefined,
  };
}

function amqpSubject(): Subject {
  let vhost = "";
  const s: Subject = {
    name: "amqp",
    make: () => new AmqpTransport(amqpUrl(vhost), { onWarning: silent, retryIntervalStart: 0.1, retryIntervalStep: 0.1, retryIntervalMax: 0.5 }),
    async leftover(queue) {
      const t = s.make();
      try {
        return await t.purge([queue]);
      } finally {
        await t.close();
      }
    },
    priorityQueue: (name) => ({ name, maxPriority: 10 }),
    priorityOrder: [9, 5, 0], // higher first
    async setup() {
      vhost = await createVhost("conformance");
    },
    async teardown() {
      await deleteVhost(vhost);
    },
  };
  return s;
}

function memorySubject(): Subject {
  return {
    name: "memory",
    make: () => new MemoryTransport(),
    async leftover(queue) {
      // Closing a transport gave its unsettled messages back to the process's broker.
      const t = new MemoryTransport();
      try {
        return await t.purge([queue]);
      } finally {
        await t.close();
      }
    },
    priorityQueue: (name) => ({ name, maxPriority: 10 }),
    priorityOrder: [0, 5, 9], // publish order: no priorities
    setup: async () => undefined,
    teardown: async () => undefined,
  };
}

const SUBJECTS: Subject[] = [redisSubject(), amqpSubject(), memorySubject()];

const PRIORITY_RULE = { redis: "LOWER numbers first", amqp: "HIGHER numbers first", memory: "publish order" } as const;

describe.each(SUBJECTS.map((s) => [s.name, s] as const))("transport conformance: %s", (_name, subject) => {
  let t: Transport;
  const extra: Transport[] = [];

  beforeAll(async () => {
    await subject.setup();
  });
  afterAll(async () => {
    await subject.teardown();
  });
  beforeEach(async () => {
    t = subject.make();
    await t.connect();
  });
  afterEach(async () => {
    await t.close();
    for (const x of extra.splice(0)) await x.close();
  });

  async function queueWith(n = 0, decl?: QueueDeclaration): Promise<string> {
    const q = decl?.name ?? unique("conf");
    await t.declareQueue(decl ?? { name: q });
    for (let i = 0; i < n; i++) await t.publish(rawMessage(`m${i}`), { exchange: "", routingKey: q });
    return q;
  }

  test("publish/consume round trip keeps body, headers (ints, nested, unicode, null) and properties", async () => {
    const q = await queueWith();
    const headers = {
      retries: 0,
      timelimit: [300, 240],
      group_index: null,
      big: 2 ** 40,
      negative: -7,
      short: 300,
      float: 1.5,
      nested: { a: [1, { b: "ü€😀" }, null, true], n: 70000 },
      unicode: "héllo – 世界",
      empty: "",
      flag: false,
    };
    const msg = rawMessage("id-1", headers, 5);
    msg.properties.expiration = "60000";
    await t.publish(msg, { exchange: "", routingKey: q });
    const r = await record(t, [q]);
    await waitFor(() => r.deliveries.length === 1, 10000, "delivery");
    const d = r.deliveries[0];
    expect(d.queue).toBe(q);
    expect(d.routingKey).toBe(q);
    expect(d.exchange).toBe("");
    expect(d.redelivered).toBe(false);
    expect(typeof d.deliveryTag).toBe("string");
    expect(d.message.body.equals(msg.body)).toBe(true);
    expect(d.message.contentType).toBe("application/json");
    expect(d.message.contentEncoding).toBe("utf-8");
    expect(d.message.headers).toEqual({ lang: "py", task: "tasks.add", id: "id-1", ...headers });
    expect(d.message.properties).toMatchObject({ correlation_id: "id-1", reply_to: "reply-oid", delivery_mode: 2, priority: 5, expiration: "60000" });
    await r.settle(d);
    await r.consumer.cancel();
  });

  test("ack removes the message", async () => {
    const q = await queueWith(1);
    const r = await record(t, [q]);
    await waitFor(() => r.deliveries.length === 1, 10000, "delivery");
    await r.settle(r.deliveries[0], "ack");
    await sleep(100);
    await t.close();
    expect(await subject.leftover(q)).toBe(0);
  });

  test("a delivered, never settled message is not lost when the transport goes away", async () => {
    const q = await queueWith(1);
    const r = await record(t, [q]);
    await waitFor(() => r.deliveries.length === 1, 10000, "delivery");
    await t.close();
    expect(await subject.leftover(q)).toBe(1);
  });

  test("reject(false) drops the message", async () => {
    const q = await queueWith(1);
    const r = await record(t, [q]);
    await waitFor(() => r.deliveries.length === 1, 10000, "delivery");
    await r.settle(r.deliveries[0], "drop");
    await sleep(300);
    expect(r.deliveries).toHaveLength(1);
    await t.close();
    expect(await subject.leftover(q)).toBe(0);
  });

  test("reject(true) redelivers the message with redelivered=true", async () => {
    const q = await queueWith(1);
    const r = await record(t, [q]);
    await waitFor(() => r.deliveries.length === 1, 10000, "first delivery");
    const first = r.deliveries[0];
    expect(first.redelivered).toBe(false);
    await r.settle(first, "requeue");
    await waitFor(() => r.deliveries.length === 2, 10000, "redelivery");
    const again = r.deliveries[1];
    expect(again.redelivered).toBe(true);
    expect(again.message.headers.id).toBe(first.message.headers.id);
    await r.settle(again, "ack");
  });

  test("the prefetch window (hasCapacity/capacity) is never exceeded", async () => {
    const q = await queueWith(20);
    const r = await record(t, [q], { prefetch: 3 });
    // settle slowly, one at a time, while the transport keeps pushing
    const settled = new Set<unknown>();
    const end = Date.now() + 20000;
    while (settled.size < 20 && Date.now() < end) {
      const open = r.deliveries.filter((d) => !settled.has(d));
      expect(open.length).toBeLessThanOrEqual(3);
      if (open.length > 0) {
        settled.add(open[0]);
        await sleep(5);
        await r.settle(open[0]);
      } else await sleep(10);
    }
    expect(settled.size).toBe(20);
    expect(r.maxUnsettled()).toBeLessThanOrEqual(3);
    expect(r.maxUnsettled()).toBeGreaterThanOrEqual(2);
  });

  test("several queues are consumed, each delivery names its queue", async () => {
    const qa = await queueWith(3);
    const qb = await queueWith(2);
    const r = await record(t, [qa, qb], { autoAck: true });
    await waitFor(() => r.deliveries.length === 5, 10000, "5 deliveries");
    expect(r.deliveries.filter((d) => d.queue === qa)).toHaveLength(3);
    expect(r.deliveries.filter((d) => d.queue === qb)).toHaveLength(2);
  });

  test(`priority order on a priority queue (${subject.name}: ${PRIORITY_RULE[subject.name]})`, async () => {
    const q = unique("prio");
    await t.declareQueue(subject.priorityQueue(q));
    for (const p of [0, 5, 9]) await t.publish(rawMessage(`p${p}`, {}, p), { exchange: "", routingKey: q, priority: p });
    const r = await record(t, [q], { prefetch: 1 });
    const order: number[] = [];
    for (let i = 0; i < 3; i++) {
      await waitFor(() => r.deliveries.length === i + 1, 10000, `delivery ${i}`);
      order.push(r.deliveries[i].message.properties.priority as number);
      await r.settle(r.deliveries[i]);
    }
    expect(order).toEqual(subject.priorityOrder);
  });

  test("broadcast reaches every subscriber whose pattern matches", async () => {
    const ex = unique("bcast");
    const a: string[] = [];
    const b: string[] = [];
    const unsubA = await t.subscribe(ex, "#", (m, rk) => a.push(`${rk}:${m.headers.id as string}`));
    const other = subject.make();
    extra.push(other);
    const unsubB = await other.subscribe(ex, "#", (m, rk) => b.push(`${rk}:${m.headers.id as string}`));
    await sleep(100);
    await t.broadcast(ex, "task.succeeded", rawMessage("ev-1"));
    await waitFor(() => a.length === 1 && b.length === 1, 10000, "both subscribers");
    expect(a).toEqual(["task.succeeded:ev-1"]);
    expect(b).toEqual(["task.succeeded:ev-1"]);
    await unsubB();
    await t.broadcast(ex, "task.failed", rawMessage("ev-2"));
    await waitFor(() => a.length === 2, 10000, "second event");
    await sleep(100);
    expect(b).toHaveLength(1);
    await unsubA();
  });

  test("purge returns how many messages it removed", async () => {
    const q = await queueWith(3);
    const q2 = await queueWith(2);
    expect(await t.purge([q, q2])).toBe(5);
    expect(await t.purge([q, q2])).toBe(0);
  });

  test("cancel stops delivering; the message stays in the queue", async () => {
    const q = await queueWith();
    const r = await record(t, [q]);
    await r.consumer.cancel();
    await t.publish(rawMessage("late"), { exchange: "", routingKey: q });
    await sleep(subject.name === "redis" ? 1500 : 300);
    expect(r.deliveries).toHaveLength(0);
    expect(await t.purge([q])).toBe(1);
  });
});
