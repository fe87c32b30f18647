/**
 * AMQP-only behaviour of AmqpTransport against the private test RabbitMQ (one vhost per test
 * file; the outage tests use a SECOND private node of their own on CELERIAC_TEST_AMQP_PORT+1 so
 * `stop_app` never disturbs the other test files).
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { AmqpTransport, PublishTimeoutError, publishProperties } from "../../src/transport/amqp"; // first: installs the table decoder
import * as amqplib from "amqplib";
import type { RawMessage, WireValue } from "../../src/protocol/message";
import type { AmqpTransportOptions } from "../../src/transport/amqp";
import { ChannelAcks } from "../../src/transport/amqp/channel-acks";
import { createTransport } from "../../src/connections";
import { resolveConfig } from "../../src/settings";
import { loadLooseVector } from "../support/vectors";
import { amqpBase, amqpUrl, createVhost, deleteVhost, listJson, PRIVATE_RABBITMQ, rabbitmqctl } from "../support/amqp";
import { unique } from "../support/app";
import { rawMessage, record } from "../support/redis";
import { sleep, waitFor } from "../support/wait";

// amqplib's internal frame encoders (untyped CommonJS modules, no .d.ts), typed as this file calls them.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const apiArgs = require("amqplib/lib/api_args") as { publish(exchange: string, routingKey: string, options: object): object };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const defs = require("amqplib/lib/defs") as {
  BasicProperties: number;
  encodeProperties(id: number, channel: number, size: number, fields: object): Buffer;
};

/** An AMQP capture: the message as Celery published it and the broker's topology after. */
interface AmqpVector {
  raw: {
    body_base64: string;
    properties: { content_type: string; content_encoding: string; [key: string]: WireValue };
    headers: { [key: string]: WireValue };
    content_header_properties_base64: string;
  };
  broker_state: { queues: unknown[]; bindings: unknown[]; exchanges: unknown[] };
}

let vhost: string;
const transports: AmqpTransport[] = [];
let warnings: string[] = [];

function transport(options: AmqpTransportOptions = {}, url = amqpUrl(vhost)): AmqpTransport {
  const t = new AmqpTransport(url, {
    onWarning: (m) => warnings.push(m),
    retryIntervalStart: 0.1,
    retryIntervalStep: 0.2,
    retryIntervalMax: 0.5,
    ...options,
  });
  transports.push(t);
  return t;
}

beforeAll(async () => {
  vhost = await createVhost("amqp-transport");
});
afterAll(async () => {
  await deleteVhost(vhost);
});
beforeEach(() => {
  warnings = [];
});
afterEach(async () => {
  for (const t of transports.splice(0)) await t.close();
});

/** The RawMessage of a captured vector (headers and properties as Celery sent them). */
function vectorMessage(name: string): RawMessage {
  const v = loadLooseVector<AmqpVector>(name);
  return {
    body: Buffer.from(v.raw.body_base64, "base64"),
    contentType: v.raw.properties.content_type,
    contentEncoding: v.raw.properties.content_encoding,
    headers: v.raw.headers,
    properties: v.raw.properties,
  };
}

/** What the broker lists for a vhost, in the vector's broker_state shape (amq.* exchanges left out). */
async function brokerState(vh: string): Promise<{ queues: unknown[]; bindings: unknown[]; exchanges: unknown[] }> {
  const byName = (a: { name?: string; destination_name?: string; source_name?: string }, b: typeof a): number =>
    `${a.source_name ?? ""}/${a.name ?? a.destination_name}`.localeCompare(`${b.source_name ?? ""}/${b.name ?? b.destination_name}`);
  const queues = await listJson<{ name: string }>("queues", vh, "name", "durable", "auto_delete", "arguments");
  const exchanges = (await listJson<{ name: string }>("exchanges", vh, "name", "type", "durable", "auto_delete")).filter((e) => !e.name.startsWith("amq."));
  const bindings = await listJson<{ source_name: string; destination_name: string }>("bindings", vh);
  return { queues: queues.sort(byName), bindings: bindings.sort(byName), exchanges: exchanges.sort(byName) };
}

function sortedState(state: { queues: unknown[]; bindings: unknown[]; exchanges: unknown[] }): typeof state {
  const key = (x: unknown): string => {
    const o = x as { name?: string; destination_name?: string; source_name?: string };
    return `${o.source_name ?? ""}/${o.name ?? o.destination_name}`;
  };
  const sort = (a: unknown[]): unknown[] => [...a].sort((x, y) => key(x).localeCompare(key(y)));
  return { queues: sort(state.queues), bindings: sort(state.bindings), exchanges: sort(state.exchanges) };
}

describe("topology (docs/protocol.md §6.1)", () => {
  test("declareQueue('celery') creates exactly amqp-delay.json's broker_state", async () => {
    const vh = await createVhost("topo");
    try {
      const t = transport({}, amqpUrl(vh));
      await t.declareQueue({ name: "celery" });
      const expected = loadLooseVector<AmqpVector>("amqp-delay").broker_state;
      expect(await brokerState(vh)).toEqual(sortedState(expected));
    } finally {
      await deleteVhost(vh);
    }
  });

  test("queueMaxPriority (task_queue_max_priority=10) declares x-max-priority as signedint: amqp-priority.json's broker_state", async () => {
    const vh = await createVhost("topo-prio");
    try {
      const t = transport({ queueMaxPriority: 10 }, amqpUrl(vh));
      await t.declareQueue({ name: "celery" });
      expect(await brokerState(vh)).toEqual(sortedState(loadLooseVector<AmqpVector>("amqp-priority").broker_state));
    } finally {
      await deleteVhost(vh);
    }
  });

  test("defaultQueueType quorum (task_default_queue_type) declares x-queue-type=quorum; consuming uses non-global qos", async () => {
    const t = transport({ defaultQueueType: "quorum" });
    const q = unique("quorum");
    await t.declareQueue({ name: q });
    const queues = await listJson<{ name: string; type: string; arguments: unknown }>("queues", vhost, "name", "type", "arguments");
    expect(queues.find((x) => x.name === q)).toEqual({ name: q, type: "quorum", arguments: [["x-queue-type", "longstr", "quorum"]] });
    await t.publish(rawMessage("qq"), { exchange: "", routingKey: q });
    const r = await record(t, [q], { prefetch: 2 });
    await waitFor(() => r.deliveries.length === 1, 10000, "delivery from the quorum queue");
    await r.settle(r.deliveries[0]);
  });

  test("quorum queues refuse what RabbitMQ's quorum queues lack, by name: priorities (x-max-priority) and global QoS", async () => {
    const t = transport({ defaultQueueType: "quorum", queueMaxPriority: 10 });
    const q = unique("quorum-prio");
    await expect(t.declareQueue({ name: q })).rejects.toThrow(`quorum queues do not support priorities: queue '${q}' has x-max-priority 10`);
    const g = transport({ defaultQueueType: "quorum", globalQos: true });
    const q2 = unique("quorum-global");
    await g.declareQueue({ name: q2 });
    await expect(record(g, [q2])).rejects.toThrow(`global QoS is not supported by quorum queues (queue '${q2}')`);
  });

  test("a queue that exists with other arguments is used as it is (passive declare) with a warning", async () => {
    const q = unique("passive");
    const conn = await amqplib.connect(amqpUrl(vhost));
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue(q, { durable: true, arguments: { "x-max-priority": 5 } });
      await ch.assertExchange(q, "topic", { durable: false });
      await ch.close();
    } finally {
      await conn.close();
    }
    const t = transport({ queueMaxPriority: 10 });
    await t.declareQueue({ name: q }); // exchange: direct durable wanted, topic non-durable there; queue: 10 wanted, 5 there
    expect(warnings.some((w) => w.includes(`exchange '${q}'`) && w.includes("using it as it is"))).toBe(true);
    expect(warnings.some((w) => w.includes(`queue '${q}'`) && w.includes("PRECONDITION_FAILED"))).toBe(true);
    const queues = await listJson<{ name: string; arguments: unknown }>("queues", vhost, "name", "arguments");
    expect(queues.find((x) => x.name === q)?.arguments).toEqual([["x-max-priority", "byte", 5]]);
    // the transport keeps working after the channel the failed declare closed
    await t.publish(rawMessage("after-fallback"), { exchange: q, routingKey: q });
    const r = await record(t, [q]);
    await waitFor(() => r.deliveries.length === 1, 10000, "delivery");
    expect(r.deliveries[0].exchange).toBe(q);
    await r.settle(r.deliveries[0]);
  });

  test("createTransport returns AmqpTransport for amqp://, amqps://, pyamqp:// with the broker settings in its options", () => {
    for (const url of ["amqp://h//", "amqps://h/v", "pyamqp://u:p@h:5672/v"]) {
      const t = createTransport(resolveConfig({ broker: url, taskQueueMaxPriority: 7, brokerHeartbeat: 30, brokerTransportOptions: { publishTimeout: 3 } }));
      expect(t).toBeInstanceOf(AmqpTransport);
      const a = t as AmqpTransport;
      expect(a.options).toMatchObject({ queueMaxPriority: 7, heartbeat: 30, publishTimeout: 3, confirmPublish: true, defaultQueueType: "classic" });
    }
  });
});

describe("properties and headers on the wire (docs/protocol.md §6.2, §6.3)", () => {
  test.each(["amqp-delay", "amqp-priority", "amqp-options-misc"])(
    "%s: our content-header property bytes equal content_header_properties_base64",
    (name) => {
      const msg = vectorMessage(name);
      const fields = apiArgs.publish("", "celery", publishProperties(msg));
      const frame = defs.encodeProperties(defs.BasicProperties, 1, msg.body.length, fields);
      // frame: type(1) channel(2) size(4) | class(2) weight(2) body-size(8) | flags+list | 0xCE
      const props = frame.subarray(7 + 12, frame.length - 1);
      expect(props.toString("base64")).toBe(loadLooseVector<AmqpVector>(name).raw.content_header_properties_base64);
    },
  );

  test("a delivered Celery message (amqp-options-misc) round-trips with typed headers intact", async () => {
    const t = transport();
    const q = unique("wire");
    await t.declareQueue({ name: q });
    const msg = vectorMessage("amqp-options-misc");
    await t.publish(msg, { exchange: "", routingKey: q });
    const r = await record(t, [q]);
    await waitFor(() => r.deliveries.length === 1, 10000, "delivery");
    const got = r.deliveries[0].message;
    expect(got.headers).toEqual(msg.headers);
    expect(got.headers.timelimit).toEqual([300, 240]);
    const { content_type: ct, content_encoding: ce, ...props } = msg.properties as { [k: string]: WireValue };
    expect([got.contentType, got.contentEncoding]).toEqual([ct, ce]);
    expect(got.properties).toEqual(props);
    await r.settle(r.deliveries[0]);
  });
});

describe("publisher confirms and errors", () => {
  test("publish resolves once RabbitMQ holds the message (confirm channel)", async () => {
    const t = transport();
    const q = unique("confirm");
    await t.declareQueue({ name: q });
    for (let i = 0; i < 5; i++) await t.publish(rawMessage(`c${i}`), { exchange: "", routingKey: q });
    const conn = await amqplib.connect(amqpUrl(vhost));
    try {
      const ch = await conn.createChannel();
      expect((await ch.checkQueue(q)).messageCount).toBe(5);
    } finally {
      await conn.close();
    }
  });

  test("publish to an exchange that does not exist fails clearly (never dropped silently); the transport keeps working", async () => {
    const t = transport();
    await expect(t.publish(rawMessage("x"), { exchange: unique("no-such-exchange"), routingKey: "k" })).rejects.toThrow(/NOT_FOUND - no exchange/);
    const q = unique("after-404");
    await t.declareQueue({ name: q });
    await t.publish(rawMessage("y"), { exchange: "", routingKey: q });
    expect(await t.purge([q])).toBe(1);
  });

  test("setPrefetch sends basic.qos again: the window grows", async () => {
    const t = transport();
    const q = unique("qos");
    await t.declareQueue({ name: q });
    for (let i = 0; i < 4; i++) await t.publish(rawMessage(`q${i}`), { exchange: "", routingKey: q });
    let handed = 0;
    const held: import("../../src/transport/types").Delivery[] = [];
    const consumer = await t.consume({ queues: [q], prefetch: 1, hasCapacity: () => true, onDelivery: (d) => { handed++; held.push(d); } });
    await sleep(300);
    expect(handed).toBe(1); // broker window 1
    consumer.setPrefetch(3);
    await waitFor(() => handed === 3, 5000, "window of 3");
    await sleep(200);
    expect(handed).toBe(3);
    for (const d of held) await d.ack();
    await waitFor(() => handed === 4, 5000, "last message");
    await held[3].ack();
  });
});

describe("the prefetch window: the single consumer's until it changes, then the channel's (global, as Celery)", () => {
  type Held = import("../../src/transport/types").Delivery;
  /** The window RabbitMQ keeps: our consumers' own prefetch and the vhost's channels with consumers. */
  async function windows(queues: string[]): Promise<{ consumers: number[]; global: number[]; unacked: number }> {
    const consumers = await listJson<{ queue_name: string; prefetch_count: number }>("consumers", vhost, "queue_name", "prefetch_count");
    const channels = await listJson<{ vhost: string; consumer_count: number; global_prefetch_count: number; messages_unacknowledged: number }>(
      "channels", vhost, "vhost", "consumer_count", "global_prefetch_count", "messages_unacknowledged");
    const ours = channels.filter((c) => c.vhost === vhost && c.consumer_count > 0);
    return {
      consumers: consumers.filter((c) => queues.includes(c.queue_name)).map((c) => c.prefetch_count),
      global: ours.map((c) => c.global_prefetch_count),
      unacked: ours.reduce((n, c) => n + c.messages_unacknowledged, 0),
    };
  }
  async function consumeHolding(t: AmqpTransport, queues: string[], prefetch: number): Promise<{ held: Held[]; consumer: Awaited<ReturnType<AmqpTransport["consume"]>> }> {
    const held: Held[] = [];
    const consumer = await t.consume({ queues, prefetch, hasCapacity: () => true, onDelivery: (d) => held.push(d) });
    return { held, consumer };
  }

  test("one queue: the consumer's window (global=false) holds the same bound; setPrefetch makes it the channel's, consumed again, the bound held throughout", async () => {
    const t = transport();
    const q = unique("window");
    await t.declareQueue({ name: q });
    for (let i = 0; i < 7; i++) await t.publish(rawMessage(`w${i}`), { exchange: "", routingKey: q });
    const { held, consumer } = await consumeHolding(t, [q], 2);
    await waitFor(() => held.length === 2, 5000, "window of 2");
    await sleep(300);
    expect(held.length).toBe(2);
    expect(await windows([q])).toEqual({ consumers: [2], global: [0], unacked: 2 });
    consumer.setPrefetch(4);
    await waitFor(() => held.length === 4, 5000, "window of 4");
    await sleep(300);
    expect(held.length).toBe(4); // the new consumer did not get a window of its own on top
    expect(await windows([q])).toEqual({ consumers: [0], global: [4], unacked: 4 });
    consumer.setPrefetch(3); // lowered: nothing more until fewer than 3 are unacked
    await sleep(100);
    await held[0].ack();
    await held[1].ack();
    await waitFor(() => held.length === 5, 5000, "one more once 2 of 4 were acked");
    await sleep(300);
    expect(held.length).toBe(5);
    for (const d of held.slice(2)) await d.ack();
    await waitFor(() => held.length === 7, 5000, "the rest");
    for (const d of held.slice(5)) await d.ack();
    await consumer.cancel();
  });

  test("two queues: the channel's window from the start; a queue added to a one-queue consumer makes it the channel's first", async () => {
    const t = transport();
    const [a, b] = [unique("win-a"), unique("win-b")];
    for (const q of [a, b]) {
      await t.declareQueue({ name: q });
      for (let i = 0; i < 3; i++) await t.publish(rawMessage(`${q}-${i}`), { exchange: "", routingKey: q });
    }
    const both = await consumeHolding(t, [a, b], 2);
    await waitFor(() => both.held.length === 2, 5000, "window of 2 over two queues");
    await sleep(300);
    expect(both.held.length).toBe(2);
    expect(await windows([a, b])).toEqual({ consumers: [0, 0], global: [2], unacked: 2 });
    await both.consumer.cancel();
    for (const d of both.held) await d.reject(true);

    const one = await consumeHolding(t, [a], 2);
    await waitFor(() => one.held.length === 2, 5000, "window of 2 on one queue");
    one.consumer.addQueue(b);
    await waitFor(async () => (await windows([a, b])).consumers.length === 2, 5000, "both queues consumed");
    await sleep(300);
    expect(one.held.length).toBe(2);
    expect(await windows([a, b])).toEqual({ consumers: [0, 0], global: [2], unacked: 2 });
    for (const d of one.held) await d.ack();
    await waitFor(() => one.held.length === 4, 5000, "two more over both queues");
    await one.consumer.cancel();
    for (const d of one.held.slice(2)) await d.reject(true);
  });
});

describe("acks sent together (basic.ack multiple=true for the oldest run)", () => {
  /** The queue's ready and unacked counts as RabbitMQ reports them. */
  async function counts(q: string): Promise<{ ready: number; unacked: number }> {
    const rows = await listJson<{ name: string; messages_ready: number; messages_unacknowledged: number }>("queues", vhost, "name", "messages_ready", "messages_unacknowledged");
    const row = rows.find((r) => r.name === q);
    return { ready: row?.messages_ready ?? -1, unacked: row?.messages_unacknowledged ?? -1 };
  }

  test("a delivery still running is never acked by a later one's ack; a rejected one stays rejected; close sends the last acks", async () => {
    const t = transport();
    const q = unique("acks");
    await t.declareQueue({ name: q });
    for (let i = 0; i < 7; i++) await t.publish(rawMessage(`m${i}`), { exchange: "", routingKey: q });
    const r = await record(t, [q], { prefetch: 10 });
    await waitFor(() => r.deliveries.length === 7, 10000, "7 deliveries");
    const byId = (id: string): import("../../src/transport/types").Delivery => {
      const d = r.deliveries.find((x) => x.message.headers.id === id);
      if (!d) throw new Error(`no delivery ${id}`);
      return d;
    };
    // m0, m1: the oldest run; m2 still running (a gap); m3 rejected; m4, m5 acked above the gap; m6 running
    await r.settle(byId("m1"));
    await r.settle(byId("m0"));
    await r.settle(byId("m3"), "drop");
    await r.settle(byId("m5"));
    await r.settle(byId("m4"));
    await waitFor(async () => (await counts(q)).unacked === 2, 10000, "only m2 and m6 unacked");
    expect(await counts(q)).toEqual({ ready: 0, unacked: 2 });
    // m6 acked, then at once the transport closes: that ack still reaches the broker before the channel closes
    await r.settle(byId("m6"));
    await t.close();
    await waitFor(async () => (await counts(q)).ready === 1, 10000, "m2 back in the queue");
    expect(await counts(q)).toEqual({ ready: 1, unacked: 0 });
    const t2 = transport();
    const r2 = await record(t2, [q]);
    await waitFor(() => r2.deliveries.length === 1, 10000, "m2 redelivered");
    expect(r2.deliveries[0].message.headers.id).toBe("m2");
    expect(r2.deliveries[0].redelivered).toBe(true);
    await r2.settle(r2.deliveries[0]);
  });
});

describe("settlement frames leave when they are sent (not at amqplib's next setImmediate)", () => {
  test("a flush's basic.ack(multiple) and a basic.nack are on the socket when the call returns, and RabbitMQ settles them", async () => {
    const q = unique("direct-acks");
    const conn = await amqplib.connect(amqpUrl(vhost));
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue(q, { durable: false });
      for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
      const acks = new ChannelAcks(ch);
      const got: amqplib.ConsumeMessage[] = [];
      await ch.prefetch(10, true);
      await ch.consume(q, (m) => {
        if (!m) return;
        acks.delivered(m.fields.deliveryTag);
        got.push(m);
      });
      await waitFor(() => got.length === 4, 10000, "4 deliveries");
      // every write to the connection's socket, as [class, method, delivery tag, flags] of a basic method frame
      const stream = (conn as unknown as { connection: { stream: { write: (b: Buffer, ...rest: unknown[]) => boolean } } }).connection.stream;
      const written: number[][] = [];
      const write = stream.write;
      stream.write = function (this: unknown, b: Buffer, ...rest: unknown[]): boolean {
        if (b.length === 21 && b[0] === 1) written.push([b.readUInt16BE(7), b.readUInt16BE(9), Number(b.readBigUInt64BE(11)), b[19]]);
        return write.call(this, b, ...rest);
      };
      acks.release(got[3]);
      expect(written).toEqual([[60, 120, got[3].fields.deliveryTag, 2]]); // basic.nack, requeue
      for (const m of got.slice(0, 3)) acks.ack(m);
      expect(written.length).toBe(1); // noted, not sent before the flush
      acks.flush();
      expect(written[1]).toEqual([60, 80, got[2].fields.deliveryTag, 1]); // basic.ack multiple=true up to m2
      stream.write = write;
      await waitFor(() => got.length === 5, 10000, "m3 delivered again");
      expect(got[4].content.toString()).toBe("m3");
      expect(got[4].fields.redelivered).toBe(true);
      acks.delivered(got[4].fields.deliveryTag);
      acks.ack(got[4]);
      acks.flush();
      await waitFor(async () => {
        const rows = await listJson<{ name: string; messages: number }>("queues", vhost, "name", "messages");
        return rows.find((r) => r.name === q)?.messages === 0;
      }, 10000, "queue empty: every message settled");
    } finally {
      await conn.close();
    }
  });
});

describe("connection loss (same node: close_all_connections of the vhost)", () => {
  test("a message in flight is redelivered (redelivered=true) and consuming resumes", async () => {
    const t = transport();
    const q = unique("loss");
    await t.declareQueue({ name: q });
    await t.publish(rawMessage("inflight"), { exchange: "", routingKey: q });
    const r = await record(t, [q]);
    await waitFor(() => r.deliveries.length === 1, 10000, "first delivery");
    await rabbitmqctl("-q", "close_all_connections", "-p", vhost, "test: connection loss");
    await waitFor(() => r.deliveries.length === 2, 20000, "redelivery after reconnect");
    expect(r.deliveries[1].message.headers.id).toBe("inflight");
    expect(r.deliveries[1].redelivered).toBe(true);
    await expect(r.deliveries[0].ack()).rejects.toThrow(/redeliver/); // stale delivery of the lost channel
    await r.deliveries[1].ack();
    await t.publish(rawMessage("after"), { exchange: "", routingKey: q });
    await waitFor(() => r.deliveries.length === 3, 10000, "delivery after reconnect");
    expect(r.deliveries[2].message.headers.id).toBe("after");
    await r.deliveries[2].ack();
    expect(warnings.some((w) => /lost/.test(w))).toBe(true);
  });

  test("auto-delete subscription queues are re-declared after a reconnect", async () => {
    const t = transport();
    const got: WireValue[] = [];
    const ex = unique("ev");
    await t.subscribe(ex, "#", (m) => got.push(m.headers.id ?? null));
    await rabbitmqctl("-q", "close_all_connections", "-p", vhost, "test: subscription");
    await sleep(300);
    await waitFor(async () => {
      await t.broadcast(ex, "a.b", rawMessage("ping"));
      await sleep(100);
      return got.length > 0;
    }, 20000, "event after reconnect");
  });
});

describe("broker outage: stop_app / start_app on a node of this file's own", () => {
  const port = Number(process.env.CELERIAC_TEST_AMQP_PORT ?? 5682) + 1;
  const dir = path.resolve(__dirname, "..", "..", ".tmp", `rabbitmq-${port}-outage`);
  let startedHere = false;
  const script = (...args: string[]): Promise<string> =>
    new Promise((resolve, reject) =>
      execFile("bash", [PRIVATE_RABBITMQ, ...args.slice(0, 1), String(port), dir, ...args.slice(1)], { timeout: 90_000 }, (err, out, errOut) =>
        err ? reject(new Error(`${args.join(" ")}: ${err.message}\n${errOut}`)) : resolve(out.trim()),
      ),
    );
  const url = amqpBase().replace(/:\d+$/, `:${port}`);

  beforeAll(async () => {
    startedHere = (await script("start")) === "started";
  }, 90_000);
  afterAll(async () => {
    await script("ctl", "-q", "start_app").catch(() => undefined);
    if (startedHere) await script("stop");
  }, 90_000);

  test("no message lost: consuming resumes after start_app; a publish during the outage waits and then succeeds", async () => {
    const t = transport({ publishTimeout: 60 }, url);
    const q = unique("outage");
    await t.declareQueue({ name: q });
    await t.publish(rawMessage("before"), { exchange: "", routingKey: q });
    const r = await record(t, [q]);
    await waitFor(() => r.deliveries.length === 1, 10000, "first delivery");
    await script("ctl", "-q", "stop_app");
    const during = t.publish(rawMessage("during"), { exchange: "", routingKey: q });
    let settled = false;
    during.then(() => (settled = true), () => (settled = true));
    await sleep(1000);
    expect(settled).toBe(false); // waiting for the broker, not dropped
    await script("ctl", "-q", "start_app");
    await during;
    await waitFor(() => r.deliveries.length >= 3, 30000, "redelivery + the message published during the outage");
    const ids = r.deliveries.slice(1).map((d) => d.message.headers.id).sort();
    expect(ids).toEqual(["before", "during"]);
    expect(r.deliveries.find((d, i) => i > 0 && d.message.headers.id === "before")?.redelivered).toBe(true);
    for (const d of r.deliveries.slice(1)) await d.ack();
  }, 90_000);

  test("a publish during an outage fails with PublishTimeoutError after publishTimeout", async () => {
    const t = transport({ publishTimeout: 1.5 }, url);
    const q = unique("outage-timeout");
    await t.declareQueue({ name: q });
    await script("ctl", "-q", "stop_app");
    try {
      const began = Date.now();
      await sleep(300);
      const err = await t.publish(rawMessage("lost?"), { exchange: "", routingKey: q }).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(PublishTimeoutError);
      expect(String((err as Error).message)).toMatch(/unreachable for 1.5s \(publishTimeout\); the message was NOT sent/);
      expect(Date.now() - began).toBeLessThan(10000);
    } finally {
      await script("ctl", "-q", "start_app");
    }
    // and the transport recovers by itself
    await t.publish(rawMessage("later"), { exchange: "", routingKey: q });
    expect(await t.purge([q])).toBe(1);
  }, 90_000);
});
