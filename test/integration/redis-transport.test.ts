/** RedisTransport against a real redis-server, checked against kombu's captured vectors. */
import { execFileSync } from "node:child_process";
import type Redis from "ioredis";
import { RedisTransport, UndeliverableError, encodeEnvelope } from "../../src/transport/redis";
import { unackedValue } from "../../src/transport/redis/envelope";
import { topicKeyToPattern } from "../../src/transport/redis/keys";
import { pyJsonDumps, pyJsonString } from "../../src/protocol/serializers/json";
import type { RawMessage } from "../../src/protocol/message";
import type { Delivery } from "../../src/transport/types";
import { loadLooseVector, parseEnvelope, type RedisVector } from "../support/vectors";
import { unique } from "../support/app";
import { isKeptSomewhere, rawMessage, rawRedis, record, SEP, testRedisUrl } from "../support/redis";
import { sleep, waitFor } from "../support/wait";

jest.setTimeout(30000);

const DB = 2;
const PREFIX_DB = 3;
let raw: Redis;
const transports: RedisTransport[] = [];

function transport(options: ConstructorParameters<typeof RedisTransport>[1] = {}, db = DB): RedisTransport {
  const t = new RedisTransport(testRedisUrl(db), options);
  transports.push(t);
  return t;
}

beforeAll(async () => {
  // No FLUSHDB: names are unique, and other files of the same run use this database too.
  raw = rawRedis(DB);
});

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

afterAll(() => raw.disconnect());

/**
 * CLIENT IDs of connections blocked in BLMOVE/BRPOP in this test's db (CLIENT LIST shows no keys:
 * the tests run one at a time and close their transports, so these are the current consumer's).
 */
async function blockedClients(db = DB): Promise<string[]> {
  const list = String(await raw.client("LIST"));
  return list
    .split("\n")
    .filter((l) => / flags=b /.test(l) && l.includes(` db=${db} `) && / cmd=(blmove|brpop) /.test(l))
    .map((l) => /(?:^|\s)id=(\d+)/.exec(l)?.[1] ?? "")
    .filter((id) => id !== "");
}

/** The RawMessage a vector's envelope decodes to. */
function messageOfVector(envelope: { [k: string]: unknown }): RawMessage {
  const props = { ...(envelope.properties as { [k: string]: unknown }) };
  delete props.delivery_info;
  delete props.body_encoding;
  delete props.delivery_tag;
  return {
    body: Buffer.from(envelope.body as string, "base64"),
    contentType: envelope["content-type"] as string,
    contentEncoding: envelope["content-encoding"] as string,
    headers: envelope.headers as RawMessage["headers"],
    properties: props as RawMessage["properties"],
  };
}

describe("envelope (R1, R2)", () => {
  test("encodeEnvelope writes kombu's exact bytes for the redis-delay vector", () => {
    const v = loadLooseVector<RedisVector>("redis-delay");
    const env = parseEnvelope(v.raw);
    const out = encodeEnvelope(messageOfVector(env), "", "celery", undefined, env.properties.delivery_tag);
    expect(out.text).toBe(v.raw);
  });

  test("extra properties keep kombu's order (expiration after delivery_mode, leaked options before)", () => {
    for (const name of ["redis-expires-seconds", "redis-options-misc", "redis-worker-retry-message"]) {
      const v = loadLooseVector<{ raw: string | string[] }>(name);
      const rawText = Array.isArray(v.raw) ? v.raw[0] : v.raw;
      const env = parseEnvelope(rawText);
      const di = env.properties.delivery_info;
      const out = encodeEnvelope(messageOfVector(env), di.exchange, di.routing_key, undefined, env.properties.delivery_tag);
      expect(out.text).toBe(rawText);
    }
  });

  test("a message published by RedisTransport has the shape and key order of redis-delay", async () => {
    const t = transport();
    const q = unique();
    const v = loadLooseVector<RedisVector>("redis-delay");
    const vEnv = parseEnvelope(v.raw);
    await t.publish(messageOfVector(vEnv), { exchange: "", routingKey: q });
    const [text] = await raw.lrange(q, 0, -1);
    const ours = parseEnvelope(text);
    expect(Object.keys(ours)).toEqual(Object.keys(vEnv));
    expect(Object.keys(ours.properties)).toEqual(Object.keys(vEnv.properties));
    expect(ours.properties.delivery_tag).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // identical to the vector except the routing key and the delivery tag
    const expected = v.raw
      .replace('"routing_key": "celery"', `"routing_key": "${q}"`)
      .replace(vEnv.properties.delivery_tag, ours.properties.delivery_tag);
    expect(text).toBe(expected);
  });
});

describe("publish / declare (R3, R4, R5, R6)", () => {
  test("declareQueue adds kombu's binding member; publish LPUSHes to the queue list", async () => {
    const t = transport();
    const q = unique();
    await t.declareQueue({ name: q });
    expect(await raw.smembers(`_kombu.binding.${q}`)).toEqual([`${q}${SEP}${SEP}${q}`]);
    // the redis-delay vector shows the same member for the default queue
    const v = loadLooseVector<RedisVector>("redis-delay");
    expect(v.redis_keys_after["_kombu.binding.celery"].value).toEqual([`celery${SEP}${SEP}celery`]);
    await t.publish(rawMessage(), { exchange: "", routingKey: q });
    await t.publish(rawMessage(), { exchange: "", routingKey: q });
    expect(await raw.llen(q)).toBe(2);
  });

  test("publishes of one turn go out together, each settling with its own LPUSH's outcome", async () => {
    const t = transport();
    const [ok1, bad, ok2] = [unique(), unique(), unique()];
    await raw.set(bad, "not a list"); // LPUSH there fails with WRONGTYPE
    const outcomes = await Promise.allSettled([ok1, bad, ok2].map((q, i) => t.publish(rawMessage(`m${i}`), { exchange: "", routingKey: q })));
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    expect([await raw.llen(ok1), await raw.llen(ok2)]).toEqual([1, 1]);
    // one at a time (each written at once after a lone one), in order
    for (let i = 0; i < 3; i++) await t.publish(rawMessage(`seq${i}`), { exchange: "", routingKey: ok1 });
    const bodies = (await raw.lrange(ok1, 0, -1)).map((text) => Buffer.from((JSON.parse(text) as { body: string }).body, "base64").toString());
    expect(bodies).toEqual(["seq2", "seq1", "seq0", "m0"].map((b) => rawMessage(b).body.toString()));
    await raw.del(ok1, bad, ok2);
  });

  test("priority buckets: 0,2 → q; 5 → q␆␖3; 9 → q␆␖9 (redis-priority); lower number served first", async () => {
    const t = transport();
    const q = unique();
    for (const p of [9, 5, 2, 0]) await t.publish(rawMessage(`p${p}`, {}, p), { exchange: "", routingKey: q, priority: p });
    expect(await raw.llen(q)).toBe(2);
    expect(await raw.llen(`${q}${SEP}3`)).toBe(1);
    expect(await raw.llen(`${q}${SEP}6`)).toBe(0);
    expect(await raw.llen(`${q}${SEP}9`)).toBe(1);
    const v = loadLooseVector<RedisVector>("redis-priority");
    expect(v.redis_key).toEqual(["celery", "celery", `celery${SEP}3`, `celery${SEP}9`]);
    const bucket9 = parseEnvelope((await raw.lrange(`${q}${SEP}9`, 0, -1))[0]);
    expect(bucket9.properties.priority).toBe(9);
    const r = await record(t, [q], { autoAck: true });
    await waitFor(() => r.deliveries.length === 4);
    expect(r.deliveries.map((d) => d.message.headers.id)).toEqual(["p2", "p0", "p5", "p9"]);
    // p2 before p0: FIFO inside bucket 0 (2 was published first)
    await r.consumer.cancel();
  });

  test("priority from message.properties when the target has none; clamped to 0..9", async () => {
    const t = transport();
    const q = unique();
    await t.publish(rawMessage("a", {}, 7), { exchange: "", routingKey: q });
    await t.publish(rawMessage("b"), { exchange: "", routingKey: q, priority: 255 });
    expect(await raw.llen(`${q}${SEP}6`)).toBe(1);
    expect(await raw.llen(`${q}${SEP}9`)).toBe(1);
  });

  test("named direct exchange routes through _kombu.binding.<exchange> (redis-custom-queue)", async () => {
    const t = transport();
    const ex = unique("ex");
    const [q1, q2] = [unique(), unique()];
    await t.declareQueue({ name: q1, exchange: ex, routingKey: "a" });
    await t.declareQueue({ name: q2, exchange: ex, routingKey: "b" });
    expect((await raw.smembers(`_kombu.binding.${ex}`)).sort()).toEqual([`a${SEP}${SEP}${q1}`, `b${SEP}${SEP}${q2}`].sort());
    await t.publish(rawMessage("m1"), { exchange: ex, routingKey: "a" });
    expect(await raw.llen(q1)).toBe(1);
    expect(await raw.llen(q2)).toBe(0);
    const env = parseEnvelope((await raw.lrange(q1, 0, -1))[0]);
    expect(env.properties.delivery_info).toEqual({ exchange: ex, routing_key: "a" });
    await expect(t.publish(rawMessage(), { exchange: ex, routingKey: "zzz" })).rejects.toBeInstanceOf(UndeliverableError);
    // a binding written by another process (kombu) is found too
    const t2 = transport();
    await t2.publish(rawMessage("m2"), { exchange: ex, routingKey: "b" });
    expect(await raw.llen(q2)).toBe(1);
  });

  test("topic exchange: kombu's regex pattern in the binding, AMQP-style matching", async () => {
    // kombu 5.2's kombu/transport/virtual/exchange.py TopicExchange.key_to_pattern (Debian's python3);
    // kombu 5.7 writes "^celeryev\\.[^\\.]+$" instead, and both read the pattern stored in the binding
    const keys = ["celeryev.*", "a.#", "task.*"];
    const kombu52 = JSON.parse(
      execFileSync("/usr/bin/python3", ["-c", `import json\nfrom kombu.transport.virtual.exchange import TopicExchange\nprint(json.dumps([TopicExchange(None).key_to_pattern(k) for k in ${JSON.stringify(keys)}]))`], { encoding: "utf8" }),
    ) as string[];
    expect(keys.map((k) => topicKeyToPattern(k))).toEqual(kombu52);
    expect(topicKeyToPattern("celeryev.*")).toBe("^celeryev\\..*?[^\\.]$");
    expect(topicKeyToPattern("a.#")).toBe("^a\\..*?$");
    const t = transport();
    const ex = unique("topic");
    const [qa, qb] = [unique(), unique()];
    await t.declareQueue({ name: qa, exchange: ex, exchangeType: "topic", routingKey: "task.*" });
    await t.declareQueue({ name: qb, exchange: ex, exchangeType: "topic", routingKey: "#" });
    expect(await raw.smembers(`_kombu.binding.${ex}`)).toContain(`task.*${SEP}^task\\..*?[^\\.]$${SEP}${qa}`);
    await t.publish(rawMessage(), { exchange: ex, routingKey: "task.sent" });
    await t.publish(rawMessage(), { exchange: ex, routingKey: "other" });
    expect(await raw.llen(qa)).toBe(1);
    expect(await raw.llen(qb)).toBe(2);
  });
});

describe("consuming and ack emulation (R7, R8)", () => {
  test("a kombu envelope from a vector is consumed and decoded; unacked entry is byte-identical to kombu's", async () => {
    const t = transport();
    const q = unique();
    const v = loadLooseVector<RedisVector>("redis-unacked-eta");
    const kombuValue = v.raw; // [envelope, "", "celery"] as kombu wrote it
    const envText = v.decoded ? JSON.stringify(v.decoded.entry[0]) : "";
    expect(envText).not.toBe("");
    // take the exact envelope text out of the kombu value
    const envelopeRaw = kombuValue.slice(1, kombuValue.length - ', "", "celery"]'.length);
    const env = parseEnvelope(envelopeRaw);
    await raw.del("unacked", "unacked_index");
    await raw.lpush(q, envelopeRaw);
    const r = await record(t, [q]);
    await waitFor(() => r.deliveries.length === 1);
    const d = r.deliveries[0];
    expect(d.queue).toBe(q);
    expect(d.exchange).toBe("");
    expect(d.routingKey).toBe("celery");
    expect(d.redelivered).toBe(false);
    expect(d.deliveryTag).toBe(env.properties.delivery_tag);
    expect(d.message.body.toString()).toBe(Buffer.from(env.body, "base64").toString());
    expect(d.message.headers).toEqual(env.headers);
    expect(d.message.contentType).toBe("application/json");
    expect(d.message.contentEncoding).toBe("utf-8");
    expect(d.message.properties).toEqual({ correlation_id: env.properties.correlation_id, reply_to: env.properties.reply_to, delivery_mode: 2, priority: 0 });
    expect(await raw.hget("unacked", d.deliveryTag)).toBe(kombuValue);
    const score = Number(await raw.zscore("unacked_index", d.deliveryTag));
    expect(Math.abs(score - Date.now() / 1000)).toBeLessThan(5);
    await d.ack();
    expect(await raw.hget("unacked", d.deliveryTag)).toBeNull();
    expect(await raw.zscore("unacked_index", d.deliveryTag)).toBeNull();
    await r.consumer.cancel();
  });

  test("the blocking-wait path (queue empty when polling starts) also records unacked before delivery", async () => {
    const t = transport();
    const q = unique();
    const r = await record(t, [q]);
    await sleep(150); // the consumer is now blocked waiting (BLMOVE)
    await t.publish(rawMessage("late"), { exchange: "", routingKey: q });
    await waitFor(() => r.deliveries.length === 1, 5000);
    const d = r.deliveries[0];
    expect(d.message.headers.id).toBe("late");
    expect(await raw.hget("unacked", d.deliveryTag)).toContain('"late"');
    expect(await raw.zscore("unacked_index", d.deliveryTag)).not.toBeNull();
    await d.ack();
    expect(await raw.hexists("unacked", d.deliveryTag)).toBe(0);
    await r.consumer.cancel();
  });

  test("Lua and TypeScript write the same unacked value for unusual exchange/routing keys", async () => {
    const t = transport();
    const q = unique();
    const rk = 'k/é"\\\t\u0001\u007f😀中';
    const env = encodeEnvelope(rawMessage("odd"), "ex/ü", rk);
    await raw.lpush(q, env.text);
    const r = await record(t, [q]);
    await waitFor(() => r.deliveries.length === 1);
    expect(await raw.hget("unacked", env.deliveryTag)).toBe(unackedValue(env.text, "ex/ü", rk));
    expect(unackedValue(env.text, "ex/ü", rk)).toBe(`[${env.text}, ${pyJsonString("ex/ü")}, ${pyJsonString(rk)}]`);
    expect(pyJsonString(rk)).toBe('"k/\\u00e9\\"\\\\\\t\\u0001\\u007f\\ud83d\\ude00\\u4e2d"');
    await r.settle(r.deliveries[0]);
    await r.consumer.cancel();
  });

  test("the FETCH records the tag of the envelope's own properties whatever the key order, and never a nested or quoted decoy's", async () => {
    const t = transport();
    const q = unique();
    const decoy = { delivery_tag: "decoy", delivery_info: { exchange: "decoy-ex", routing_key: "decoy-rk" } };
    const base = JSON.parse(encodeEnvelope(rawMessage("base"), "", q).text) as { [k: string]: unknown; properties: { [k: string]: unknown } };
    const variants = [
      // properties first (not kombu's order): the whole envelope is decoded
      (tag: string) => ({ properties: { ...base.properties, delivery_tag: tag }, body: base.body, "content-encoding": "utf-8", "content-type": "application/json", headers: { id: tag } }),
      // a nested "properties" object in the headers before the real one, at the end of the envelope
      (tag: string) => ({ ...base, headers: { id: tag, properties: decoy }, properties: { ...base.properties, delivery_tag: tag } }),
      // a header whose text holds what looks like a properties object
      (tag: string) => ({ ...base, headers: { id: tag, note: `"properties": ${JSON.stringify(decoy)}}` }, properties: { ...base.properties, delivery_tag: tag } }),
      // headers last, ending in a nested "properties" object
      (tag: string) => ({ body: base.body, properties: { ...base.properties, delivery_tag: tag }, headers: { id: tag, properties: decoy } }),
    ];
    const tags = variants.map((_, i) => `${q}-tag-${i}`);
    for (let i = 0; i < variants.length; i++) await raw.lpush(q, pyJsonDumps(variants[i](tags[i])));
    const r = await record(t, [q]);
    await waitFor(() => r.deliveries.length === variants.length);
    expect(r.deliveries.map((d) => d.deliveryTag)).toEqual(tags);
    for (const d of r.deliveries) {
      expect(d.routingKey).toBe(q);
      expect(await raw.zscore("unacked_index", d.deliveryTag)).not.toBeNull();
      expect((JSON.parse((await raw.hget("unacked", d.deliveryTag)) ?? "[]") as unknown[])[2]).toBe(q);
    }
    expect(await raw.hexists("unacked", "decoy")).toBe(0);
    for (const d of r.deliveries) await r.settle(d);
    await r.consumer.cancel();
  });

  test("several queues are consumed fairly (round robin), batch fetch", async () => {
    const t = transport();
    const qs = [unique(), unique(), unique()];
    for (const q of qs) for (let i = 0; i < 30; i++) await t.publish(rawMessage(`${q}:${i}`), { exchange: "", routingKey: q });
    const r = await record(t, qs, { prefetch: 7, autoAck: true });
    await waitFor(() => r.deliveries.length === 90);
    const first30 = r.deliveries.slice(0, 30).map((d) => d.queue);
    for (const q of qs) expect(first30.filter((x) => x === q).length).toBe(10);
    // FIFO within each queue
    for (const q of qs) {
      const ids = r.deliveries.filter((d) => d.queue === q).map((d) => d.message.headers.id);
      expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => `${q}:${i}`));
    }
    await r.consumer.cancel();
  });

  test("several queues are consumed fairly without capacity() (one message per round trip)", async () => {
    const t = transport();
    const qs = [unique(), unique()];
    for (const q of qs) for (let i = 0; i < 10; i++) await t.publish(rawMessage(`${q}:${i}`), { exchange: "", routingKey: q });
    const r = await record(t, qs, { prefetch: 1, autoAck: true, batch: false });
    await waitFor(() => r.deliveries.length === 20);
    expect(r.deliveries.map((d) => d.queue)).toEqual(Array.from({ length: 20 }, (_, i) => qs[i % 2]));
    expect(r.maxUnsettled()).toBe(1);
    await r.consumer.cancel();
  });

  test("queueOrderStrategy priority: the first queue is drained first", async () => {
    const t = transport({ queueOrderStrategy: "priority" });
    const [a, b] = [unique(), unique()];
    for (const q of [a, b]) for (let i = 0; i < 5; i++) await t.publish(rawMessage(`${q}:${i}`), { exchange: "", routingKey: q });
    const r = await record(t, [a, b], { prefetch: 1, autoAck: true, batch: false });
    await waitFor(() => r.deliveries.length === 10);
    expect(r.deliveries.map((d) => d.queue)).toEqual([a, a, a, a, a, b, b, b, b, b]);
    await r.consumer.cancel();
  });

  test("prefetch is respected: never more unsettled deliveries than capacity allows", async () => {
    const t = transport();
    const q = unique();
    for (let i = 0; i < 20; i++) await t.publish(rawMessage(`m${i}`), { exchange: "", routingKey: q });
    const r = await record(t, [q], { prefetch: 5 });
    await waitFor(() => r.deliveries.length === 5);
    await sleep(300);
    expect(r.deliveries.length).toBe(5);
    expect(await raw.llen(q)).toBe(15);
    await r.settle(r.deliveries[0]);
    await r.settle(r.deliveries[1]);
    await waitFor(() => r.deliveries.length === 7);
    await sleep(200);
    expect(r.deliveries.length).toBe(7);
    expect(r.maxUnsettled()).toBe(5);
    let settled = 2;
    while (settled < 20) {
      await waitFor(() => r.deliveries.length > settled);
      await r.settle(r.deliveries[settled++]);
    }
    expect(r.deliveries.length).toBe(20);
    expect(r.maxUnsettled()).toBe(5);
    await r.consumer.cancel();
  });

  test("addQueue / removeQueue at run time", async () => {
    const t = transport();
    const [a, b] = [unique(), unique()];
    const r = await record(t, [a], { autoAck: true });
    await t.publish(rawMessage("b1"), { exchange: "", routingKey: b });
    await sleep(200);
    expect(r.deliveries.length).toBe(0);
    r.consumer.addQueue(b);
    await waitFor(() => r.deliveries.length === 1, 5000);
    expect(r.deliveries[0].queue).toBe(b);
    await r.consumer.cancel();
  });

  test("cancel() ends a pending blocking wait at once, closes its connections and loses nothing", async () => {
    const t = transport({ pollTimeout: 5 });
    const q = unique();
    const r = await record(t, [q]);
    await sleep(150); // blocked in BLMOVE for up to 5 s
    expect((await blockedClients()).length).toBe(4); // one per priority bucket
    const t0 = Date.now();
    await r.consumer.cancel();
    expect(Date.now() - t0).toBeLessThan(3000); // not the 5 s poll timeout
    await waitFor(async () => (await blockedClients()).length === 0, 2000, "BLMOVE connections closed");
    await t.publish(rawMessage("after-cancel"), { exchange: "", routingKey: q });
    await sleep(100);
    expect(r.deliveries.length).toBe(0);
    expect(await raw.llen(q)).toBe(1);
  });
});

describe("no message loss while the consumer waits (the wake pops into a held list)", () => {
  test("a message pushed while the consumer waits is always in its list, a held list or unacked, and in unacked once delivered", async () => {
    const t = transport();
    const q = unique();
    const r = await record(t, [q]);
    const watcher = rawRedis(DB);
    try {
      for (let i = 0; i < 20; i++) {
        await waitFor(async () => (await blockedClients()).length > 0, 2000, "consumer blocked");
        const env = encodeEnvelope(rawMessage(`watched-${i}`), "", q);
        const tag = env.deliveryTag;
        const snapshots: boolean[] = [];
        await raw.lpush(q, env.text);
        // from the push on: atomic snapshots (one script) of the list, unacked and the held lists, as fast as possible
        let stop = false;
        const watching = (async () => {
          while (!stop) snapshots.push(await isKeptSomewhere(watcher, q, env.text, tag));
        })();
        await waitFor(() => r.deliveries.length === i + 1, 5000, `delivery ${i}`);
        await sleep(5);
        stop = true;
        await watching;
        expect(snapshots.length).toBeGreaterThan(0);
        expect(snapshots.filter((ok) => !ok).length).toBe(0);
        expect(await raw.hexists("unacked", tag)).toBe(1);
        await r.settle(r.deliveries[i]);
      }
    } finally {
      watcher.disconnect();
      await r.consumer.cancel();
    }
  });

  test("connections killed at the instant a message arrives lose nothing (the SIGKILL window)", async () => {
    const t = transport();
    const q = unique();
    const r = await record(t, [q]);
    for (let i = 0; i < 10; i++) {
      let ids: string[] = [];
      await waitFor(async () => (ids = await blockedClients()).length > 0, 5000, "consumer blocked");
      const env = encodeEnvelope(rawMessage(`killed-${i}`), "", q);
      // one pipeline: the push serves the blocked clients, then their connections die before they
      // can read the reply (what a SIGKILLed worker's sockets do)
      const p = raw.pipeline().lpush(q, env.text);
      for (const id of ids) p.client("KILL", "ID", id);
      await p.exec();
      // in its list, or in the consumer's held list (its pop's reply was lost), or in unacked
      expect(await isKeptSomewhere(raw, q, env.text, env.deliveryTag)).toBe(true);
      // the consumer reconnects and takes it (what its held list holds goes back first)
      await waitFor(() => r.deliveries.length === i + 1, 10000, `delivery ${i}`);
      expect(r.deliveries[i].deliveryTag).toBe(env.deliveryTag);
      await r.settle(r.deliveries[i]);
    }
    await r.consumer.cancel();
  });

  test("a message a dead consumer popped into its held list goes back, redelivered, once that consumer's deadline has passed", async () => {
    const t = transport({ visibilityTimeout: 2 });
    const q = unique();
    const [deadList, liveList] = [`celeriac.held.${unique()}`, `celeriac.held.${unique()}`];
    const [dead, live] = [encodeEnvelope(rawMessage("popped-by-the-dead"), "", q), encodeEnvelope(rawMessage("popped-by-the-living"), "", q)];
    await raw.lpush(deadList, dead.text);
    await raw.lpush(liveList, live.text);
    const now = Date.now() / 1000;
    // deadlines: when each consumer last said it was alive plus its own visibility timeout
    await raw.zadd("celeriac.held", now - 5, deadList, now + 100, liveList);
    try {
      expect(await t.restoreVisible()).toBeGreaterThanOrEqual(1);
      const back = (await raw.lrange(q, 0, -1)).map((text) => JSON.parse(text) as { headers: { id: string; redelivered?: boolean } });
      expect(back.map((e) => [e.headers.id, e.headers.redelivered])).toEqual([["popped-by-the-dead", true]]);
      expect(await raw.llen(deadList)).toBe(0);
      expect(await raw.zscore("celeriac.held", deadList)).toBeNull(); // emptied: out of the registry
      expect(await raw.lrange(liveList, 0, -1)).toEqual([live.text]); // its consumer said it was alive
    } finally {
      await raw.zrem("celeriac.held", deadList, liveList);
      await raw.del(liveList, q);
    }
  });

  test("a message a pop brings when the room is gone goes back to the front of its list, and is delivered once there is room again", async () => {
    const t = transport({ pollTimeout: 10 });
    const q = unique();
    let full = false;
    const got: Delivery[] = [];
    const consumer = await t.consume({ queues: [q], hasCapacity: () => !full, capacity: () => (full ? 0 : 4), onDelivery: (d) => got.push(d) });
    try {
      await waitFor(async () => (await blockedClients()).length === 4, 5000, "consumer blocked");
      full = true; // the room shrinks while the pop waits (a pool giving up slots, say)
      const [older, newer] = [encodeEnvelope(rawMessage("older"), "", q), encodeEnvelope(rawMessage("newer"), "", q)];
      await raw.lpush(q, older.text, newer.text);
      await sleep(200);
      expect(got).toHaveLength(0);
      expect(await raw.lrange(q, 0, -1)).toEqual([newer.text, older.text]); // order kept: the oldest is served first
      for (const list of await raw.zrange("celeriac.held", 0, -1)) expect(await raw.llen(list)).toBe(0);
      full = false;
      consumer.poke();
      await waitFor(() => got.length === 2, 5000, "both delivered once there is room");
      expect(got.map((d) => d.deliveryTag)).toEqual([older.deliveryTag, newer.deliveryTag]);
      for (const d of got) await d.ack();
    } finally {
      await consumer.cancel();
    }
  });

  test("the track script is safe to run twice (a resend after a lost reply): the tracked entry counts as recorded, and nothing is recorded for a drop", async () => {
    const t = transport();
    const q = unique();
    const list = `celeriac.held.${unique()}`;
    const [kept, dropped] = [encodeEnvelope(rawMessage("kept"), "", q), encodeEnvelope(rawMessage("dropped"), "", q)];
    await raw.lpush(list, kept.text, dropped.text);
    const value = unackedValue(kept.text, "", q);
    const args = ["1700000000.0000000", "t", kept.text, kept.deliveryTag, value, "d", dropped.text, dropped.deliveryTag, ""];
    try {
      expect(await t.cmd.celeriacTrack(list, "unacked", "unacked_index", ...args)).toEqual([1, 1]);
      expect(await t.cmd.celeriacTrack(list, "unacked", "unacked_index", ...args)).toEqual([1, 0]);
      expect(await raw.llen(list)).toBe(0);
      expect(await raw.hget("unacked", kept.deliveryTag)).toBe(value);
      expect(await raw.zscore("unacked_index", kept.deliveryTag)).toBe("1700000000");
      expect(await raw.hexists("unacked", dropped.deliveryTag)).toBe(0);
    } finally {
      await raw.hdel("unacked", kept.deliveryTag);
      await raw.zrem("unacked_index", kept.deliveryTag);
    }
  });

  test("a popped message acked at once leaves no trace, and one requeued at once is back in its list: neither waits for nor outruns its track", async () => {
    const t = transport({ pollTimeout: 10 });
    const [q1, q2] = [unique(), unique()];
    const acked = await record(t, [q1], { autoAck: true });
    const requeued: Delivery[] = [];
    const r2 = await t.consume({ queues: [q2], hasCapacity: () => requeued.length === 0, onDelivery: (d) => requeued.push(d) && void d.reject(true) });
    try {
      await waitFor(async () => (await blockedClients()).length === 8, 5000, "both consumers blocked");
      for (let i = 0; i < 3; i++) {
        await t.publish(rawMessage(`acked-${i}`), { exchange: "", routingKey: q1 });
        await waitFor(() => acked.deliveries.length === i + 1, 5000, `delivery ${i}`);
      }
      await t.publish(rawMessage("requeued"), { exchange: "", routingKey: q2 });
      await waitFor(() => requeued.length === 1, 5000, "the requeued one delivered");
      await waitFor(async () => (await raw.llen(q2)) === 1, 5000, "the requeued one back in its list");
      await sleep(50);
      const tags = [...acked.deliveries, ...requeued].map((d) => d.deliveryTag);
      expect(await Promise.all(tags.map((tag) => raw.hexists("unacked", tag)))).toEqual([0, 0, 0, 0]);
      for (const list of await raw.zrange("celeriac.held", 0, -1)) expect(await raw.llen(list)).toBe(0);
      expect((JSON.parse((await raw.lrange(q2, 0, -1))[0]) as { headers: { redelivered: boolean } }).headers.redelivered).toBe(true);
    } finally {
      await acked.consumer.cancel();
      await r2.cancel();
    }
  });

  test("a lone message costs no FETCH: the wake pops it; none after a fetch that found the queue empty, nor when capacity frees", async () => {
    const t = transport({ pollTimeout: 10 });
    const q = unique();
    // FETCH calls on the command connection and on the blocking ones (none is sent there now: the wake pops)
    let fetches = 0;
    const counted = <C extends { celeriacFetch: (...args: never[]) => unknown }>(conn: C): C => {
      const fetch = conn.celeriacFetch.bind(conn);
      conn.celeriacFetch = (...args: never[]) => {
        fetches++;
        return fetch(...args);
      };
      return conn;
    };
    counted(t.cmd);
    const open = t.newBlockingConnection.bind(t);
    t.newBlockingConnection = () => counted(open());
    const r = await record(t, [q], { prefetch: 4 });
    try {
      await waitFor(async () => (await blockedClients()).length > 0, 5000, "consumer blocked");
      for (let i = 0; i < 3; i++) {
        await t.publish(rawMessage(`lone-${i}`), { exchange: "", routingKey: q });
        await waitFor(() => r.deliveries.length === i + 1, 5000, `delivery ${i}`);
        await r.settle(r.deliveries[i]); // capacity frees: the consumer is told (poke)
        await sleep(100);
      }
      // the first FETCH found the queue empty; then every message came with the pop that woke the consumer
      expect(fetches).toBe(1);
      expect(await raw.hlen("unacked")).toBe(0);
    } finally {
      await r.consumer.cancel();
    }
  });

  test("while the consumer waits, a message on a priority bucket or a second queue is delivered at once, with one FETCH at most", async () => {
    const t = transport({ pollTimeout: 10 });
    const [q1, q2] = [unique(), unique()];
    let fetches = 0;
    const fetch = t.cmd.celeriacFetch.bind(t.cmd);
    t.cmd.celeriacFetch = (...args: Parameters<typeof fetch>) => {
      fetches++;
      return fetch(...args);
    };
    const r = await record(t, [q1, q2], { prefetch: 8 });
    try {
      // 4 bucket keys per queue, each with its waiter
      await waitFor(async () => (await blockedClients()).length === 8, 5000, "consumer blocked on every bucket");
      const sends: Array<[string, number | undefined, string]> = [
        [q1, 9, "q1 priority 9"],
        [q2, undefined, "q2"],
        [q2, 5, "q2 priority 5"],
        [q1, undefined, "q1"],
      ];
      for (const [i, [queue, priority, body]] of sends.entries()) {
        const before = fetches;
        await t.publish(rawMessage(body), { exchange: "", routingKey: queue, priority });
        await waitFor(() => r.deliveries.length === i + 1, 5000, `delivery of ${body}`);
        expect(r.deliveries[i].message.body.toString()).toBe(rawMessage(body).body.toString());
        await r.settle(r.deliveries[i]);
        await sleep(100);
        // the FETCH behind the first key's BLMOVE takes it, or one FETCH on the command connection:
        // never a loop of FETCHes that cannot reach it (a wake's FETCH reading the first list only did)
        expect(fetches - before).toBeLessThanOrEqual(1);
      }
      expect(await raw.hlen("unacked")).toBe(0);
    } finally {
      await r.consumer.cancel();
    }
  });

  test("messages that arrive together while the consumer waits are delivered oldest first (the wait does not reorder the list)", async () => {
    const t = transport({ pollTimeout: 10 });
    const q = unique();
    const r = await record(t, [q]);
    try {
      await waitFor(async () => (await blockedClients()).length > 0, 5000, "consumer blocked");
      // one LPUSH of three: the list holds all of them when the blocked BLMOVE is served
      const envs = ["first", "second", "third"].map((b) => encodeEnvelope(rawMessage(b), "", q).text);
      await raw.lpush(q, ...envs);
      await waitFor(() => r.deliveries.length === 3, 5000, "three deliveries");
      expect(r.deliveries.map((d) => d.message.body.toString())).toEqual(["first", "second", "third"].map((b) => rawMessage(b).body.toString()));
      for (const d of r.deliveries) await r.settle(d);
    } finally {
      await r.consumer.cancel();
    }
  });

  test("a message a wake took counts its visibility from when it arrived, not from when the wait began", async () => {
    const t = transport({ pollTimeout: 10 });
    const q = unique();
    const r = await record(t, [q]);
    try {
      await waitFor(async () => (await blockedClients()).length > 0, 5000, "consumer blocked");
      await sleep(1500); // the wait began 1.5 s before the message comes
      const env = encodeEnvelope(rawMessage("late"), "", q);
      await raw.lpush(q, env.text);
      await waitFor(() => r.deliveries.length === 1, 5000, "delivery");
      const arrived = Date.now() / 1000;
      await waitFor(async () => Math.abs(Number(await raw.zscore("unacked_index", env.deliveryTag)) - arrived) < 0.5, 2000, "score of the arrival");
      await r.settle(r.deliveries[0]);
    } finally {
      await r.consumer.cancel();
    }
  });

  test("without BLMOVE (Redis < 6.2) the consumer falls back to BRPOP and warns once", async () => {
    const warnings: string[] = [];
    const t = transport({ onError: (err) => warnings.push(err.message) });
    const open = t.newBlockingConnection.bind(t);
    t.newBlockingConnection = () => {
      const conn = open();
      (conn as unknown as { blmove: () => Promise<never> }).blmove = () =>
        Promise.reject(new Error("ERR unknown command 'blmove', with args beginning with: "));
      return conn;
    };
    const q = unique();
    const r = await record(t, [q]);
    await sleep(150);
    await t.publish(rawMessage("old-redis"), { exchange: "", routingKey: q });
    await waitFor(() => r.deliveries.length === 1, 5000);
    expect(await raw.hexists("unacked", r.deliveries[0].deliveryTag)).toBe(1);
    await r.settle(r.deliveries[0]);
    await t.publish(rawMessage("old-redis-2"), { exchange: "", routingKey: q });
    await waitFor(() => r.deliveries.length === 2, 5000);
    await r.settle(r.deliveries[1]);
    expect(warnings.filter((w) => w.includes("BLMOVE"))).toHaveLength(1);
    expect(r.errors).toHaveLength(0);
    await r.consumer.cancel();
  });
});

describe("reject, release and restore (R9, R10)", () => {
  test("reject(false) drops; reject(true) puts the message back at the END (LPUSH) with redelivered flags", async () => {
    const t = transport();
    const q = unique();
    await t.publish(rawMessage("first"), { exchange: "", routingKey: q });
    const r = await record(t, [q], { prefetch: 1 });
    await waitFor(() => r.deliveries.length === 1);
    await t.publish(rawMessage("second"), { exchange: "", routingKey: q });
    const d = r.deliveries[0];
    // pause consuming while we look at the list
    await r.consumer.cancel();
    await r.settle(d, "requeue");
    expect(await raw.hexists("unacked", d.deliveryTag)).toBe(0);
    const list = await raw.lrange(q, 0, -1); // index 0 = LPUSH end = served last
    expect(list.length).toBe(2);
    const back = parseEnvelope(list[0]);
    expect(back.headers.id).toBe("first");
    expect(back.headers.redelivered).toBe(true);
    expect(back.properties.delivery_info).toEqual({ exchange: "", routing_key: q, redelivered: true });
    const r2 = await record(t, [q], { prefetch: 10 });
    await waitFor(() => r2.deliveries.length === 2);
    expect(r2.deliveries.map((x) => x.message.headers.id)).toEqual(["second", "first"]);
    expect(r2.deliveries[1].redelivered).toBe(true);
    await r2.settle(r2.deliveries[0], "drop");
    await r2.settle(r2.deliveries[1], "drop");
    expect(await raw.hexists("unacked", r2.deliveries[1].deliveryTag)).toBe(0);
    expect(await raw.llen(q)).toBe(0);
    await r2.consumer.cancel();
  });

  test("release() gives a message back to the FRONT of its queue (RPUSH, kombu warm shutdown)", async () => {
    const t = transport();
    const q = unique();
    await t.publish(rawMessage("held"), { exchange: "", routingKey: q });
    const r = await record(t, [q], { prefetch: 1 });
    await waitFor(() => r.deliveries.length === 1);
    await r.consumer.cancel();
    await t.publish(rawMessage("newer"), { exchange: "", routingKey: q });
    await r.deliveries[0].release!();
    const list = await raw.lrange(q, 0, -1);
    expect(parseEnvelope(list[list.length - 1]).headers.id).toBe("held"); // RPOP end: served next
    expect(await raw.hexists("unacked", r.deliveries[0].deliveryTag)).toBe(0);
  });

  test("restore_visible reproduces kombu's restored message byte for byte (redis-restored-message)", async () => {
    const t = transport({ visibilityTimeout: 5 });
    const eta = loadLooseVector<RedisVector>("redis-unacked-eta");
    const restored = loadLooseVector<RedisVector>("redis-restored-message");
    const tag = eta.hash_field;
    await raw.del("celery", "unacked", "unacked_index", "unacked_mutex");
    await raw.hset("unacked", tag, eta.raw);
    await raw.zadd("unacked_index", String(Date.now() / 1000 - 60), tag);
    expect(await t.restoreUnacked()).toBe(1);
    expect(await raw.lrange("celery", 0, -1)).toEqual([restored.raw]);
    expect(await raw.hexists("unacked", tag)).toBe(0);
    expect(await raw.zscore("unacked_index", tag)).toBeNull();
    expect(await raw.exists("unacked_mutex")).toBe(0);
    await raw.del("celery");
  });

  test("restore_visible skips entries younger than the visibility timeout and is locked by unacked_mutex", async () => {
    const t = transport({ visibilityTimeout: 5 });
    await raw.del("unacked", "unacked_index", "unacked_mutex");
    const q = unique();
    const env = encodeEnvelope(rawMessage("young"), "", q);
    await raw.hset("unacked", env.deliveryTag, unackedValue(env.text, "", q));
    await raw.zadd("unacked_index", String(Date.now() / 1000), env.deliveryTag);
    expect(await t.restoreUnacked()).toBe(0);
    await raw.zadd("unacked_index", String(Date.now() / 1000 - 10), env.deliveryTag);
    await raw.set("unacked_mutex", "someone-else", "PX", 300000);
    expect(await t.restoreUnacked()).toBe(0); // another process is restoring
    expect(await raw.get("unacked_mutex")).toBe("someone-else");
    await raw.del("unacked_mutex");
    expect(await t.restoreUnacked()).toBe(1);
    expect(await raw.llen(q)).toBe(1);
  });

  test("a delivered message never acked comes back after the visibility timeout, redelivered", async () => {
    const t1 = transport({ visibilityTimeout: 1, unackedRestoreInterval: 0.3 });
    const q = unique();
    await t1.publish(rawMessage("lost-worker"), { exchange: "", routingKey: q });
    const r1 = await record(t1, [q]);
    await waitFor(() => r1.deliveries.length === 1);
    expect(r1.deliveries[0].redelivered).toBe(false);
    await r1.consumer.cancel(); // "worker dies": the delivery is never settled
    await t1.close();
    const t2 = transport({ visibilityTimeout: 1, unackedRestoreInterval: 0.3 });
    const r2 = await record(t2, [q]);
    await waitFor(() => r2.deliveries.length === 1, 5000, "restored delivery");
    const d = r2.deliveries[0];
    expect(d.message.headers.id).toBe("lost-worker");
    expect(d.redelivered).toBe(true);
    expect(d.message.headers.redelivered).toBe(true);
    expect(d.deliveryTag).toBe(r1.deliveries[0].deliveryTag);
    await r2.settle(d);
    await r2.consumer.cancel();
  });

  test("what a fetch cut by a lost connection recorded but never delivered is put back at once (restoreFetched)", async () => {
    const t = transport();
    const q = unique();
    await t.declareQueue({ name: q });
    // what a FETCH whose answer was lost leaves behind: entries under its score, one of them delivered by its resend
    const score = (Date.now() / 1000).toFixed(7);
    const envs = ["lost-a", "lost-b", "held"].map((id) => encodeEnvelope(rawMessage(`${id}-${q}`), q, q));
    for (const e of envs) {
      await raw.zadd("unacked_index", score, e.deliveryTag);
      await raw.hset("unacked", e.deliveryTag, unackedValue(e.text, q, q));
    }
    const held = envs[2].deliveryTag;
    expect(await t.restoreFetched(score, new Set([held]), (err) => { throw err; })).toBe(2);
    const back = (await raw.lrange(q, 0, -1)).map((text) => (JSON.parse(text) as { properties: { delivery_tag: string } }).properties.delivery_tag);
    expect(back.sort()).toEqual([envs[0].deliveryTag, envs[1].deliveryTag].sort());
    expect(await raw.hexists("unacked", held)).toBe(1);
    await t.ack(held);
  });

  test("restored messages keep their priority bucket", async () => {
    const t = transport({ visibilityTimeout: 1 });
    const q = unique();
    await t.publish(rawMessage("p9", {}, 9), { exchange: "", routingKey: q, priority: 9 });
    const r = await record(t, [q]);
    await waitFor(() => r.deliveries.length === 1);
    await r.consumer.cancel();
    await sleep(1100);
    expect(await t.restoreUnacked()).toBeGreaterThanOrEqual(1);
    expect(await raw.llen(`${q}${SEP}9`)).toBe(1);
  });
});

describe("bad envelopes are kept, reported and skipped", () => {
  test("unreadable messages go to celeriac.bad-envelopes; the consumer goes on", async () => {
    const t = transport();
    const q = unique();
    await raw.del("celeriac.bad-envelopes");
    await raw.lpush(q, "this is not json");
    await raw.lpush(q, pyJsonDumps({ body: "", headers: {}, properties: { delivery_info: {} } })); // no delivery_tag
    const badBody = encodeEnvelope(rawMessage("bad-body"), "", q);
    const badBodyText = badBody.text.replace(/"body": "[^"]*"/, '"body": 42');
    await raw.lpush(q, badBodyText); // readable by Lua, rejected by the decoder
    // not JSON before well-formed trailing properties: the FETCH reads only those, the decoder refuses it
    const brokenHead = encodeEnvelope(rawMessage("broken-head"), "", q);
    const brokenHeadText = brokenHead.text.replace('"headers": {', '"headers": {{');
    await raw.lpush(q, brokenHeadText);
    await t.publish(rawMessage("good"), { exchange: "", routingKey: q });
    const r = await record(t, [q], { autoAck: true });
    await waitFor(() => r.deliveries.length === 1 && r.errors.length === 4);
    expect(r.deliveries[0].message.headers.id).toBe("good");
    expect(r.errors.map((e) => e.error.name)).toEqual(["BadEnvelopeError", "BadEnvelopeError", "BadEnvelopeError", "BadEnvelopeError"]);
    expect(r.errors[0].raw).toBe("this is not json");
    const kept = await raw.lrange("celeriac.bad-envelopes", 0, -1);
    expect(kept.sort()).toEqual(["this is not json", badBodyText, brokenHeadText, pyJsonDumps({ body: "", headers: {}, properties: { delivery_info: {} } })].sort());
    expect(await raw.hexists("unacked", badBody.deliveryTag)).toBe(0);
    expect(await raw.hexists("unacked", brokenHead.deliveryTag)).toBe(0);
    expect(await raw.zscore("unacked_index", brokenHead.deliveryTag)).toBeNull();
    await r.consumer.cancel();
  });

  test("a bad message arriving while the consumer waits is kept too", async () => {
    const t = transport();
    const q = unique();
    await raw.del("celeriac.bad-envelopes");
    const r = await record(t, [q], { autoAck: true });
    await sleep(150);
    await raw.lpush(q, "{broken");
    await waitFor(() => r.errors.length === 1, 5000);
    expect(await raw.lrange("celeriac.bad-envelopes", 0, -1)).toEqual(["{broken"]);
    await r.consumer.cancel();
  });
});

describe("global_keyprefix (R13)", () => {
  test("prefix on list, binding set, unacked keys and channels; stripped from what the consumer sees", async () => {
    const praw = rawRedis(PREFIX_DB);
    try {
      const t = transport({ globalKeyprefix: "myapp:" }, PREFIX_DB);
      const q = unique();
      await t.declareQueue({ name: q });
      expect(await praw.smembers(`myapp:_kombu.binding.${q}`)).toEqual([`${q}${SEP}${SEP}${q}`]);
      await t.publish(rawMessage("x", {}, 3), { exchange: "", routingKey: q, priority: 3 });
      expect(await praw.llen(`myapp:${q}${SEP}3`)).toBe(1);
      expect(await praw.exists(`${q}${SEP}3`)).toBe(0);
      const env = parseEnvelope((await praw.lrange(`myapp:${q}${SEP}3`, 0, -1))[0]);
      expect(env.properties.delivery_info.routing_key).toBe(q); // no prefix inside the message
      const r = await record(t, [q]);
      await waitFor(() => r.deliveries.length === 1);
      expect(r.deliveries[0].queue).toBe(q);
      expect(await praw.hexists("myapp:unacked", r.deliveries[0].deliveryTag)).toBe(1);
      expect(await praw.zscore("myapp:unacked_index", r.deliveries[0].deliveryTag)).not.toBeNull();
      await r.settle(r.deliveries[0]);
      expect(await praw.hexists("myapp:unacked", r.deliveries[0].deliveryTag)).toBe(0);
      // blocking-wait path: the queue name is the unprefixed one
      await sleep(150);
      await t.publish(rawMessage("y"), { exchange: "", routingKey: q });
      await waitFor(() => r.deliveries.length === 2, 5000);
      expect(r.deliveries[1].queue).toBe(q);
      await r.settle(r.deliveries[1]);
      await r.consumer.cancel();
      // fanout channel
      const sub = rawRedis(PREFIX_DB);
      const got: string[] = [];
      sub.on("pmessage", (_p, channel) => got.push(channel));
      await sub.psubscribe("myapp:*");
      await t.broadcast("celery.pidbox", "", rawMessage("bc"));
      await waitFor(() => got.length === 1);
      expect(got).toEqual([`myapp:/${PREFIX_DB}.celery.pidbox`]);
      sub.disconnect();
      expect(await t.purge([q])).toBe(0);
    } finally {
      praw.disconnect();
    }
  });
});

describe("fanout (R12)", () => {
  test("broadcast PUBLISHes on /{db}.<exchange>/<routing key>; subscribe PSUBSCRIBEs with # → *", async () => {
    const t = transport();
    const ex = unique("ev");
    const seen: string[] = [];
    const probe = rawRedis(DB);
    probe.on("pmessage", (_p, channel, message) => seen.push(`${channel} ${parseEnvelope(message).properties.delivery_info.routing_key}`));
    await probe.psubscribe(`/${DB}.${ex}*`);
    const got: { id: unknown; rk: string }[] = [];
    const unsubscribe = await t.subscribe(ex, "#", (m, rk) => got.push({ id: m.headers.id, rk }));
    expect(await raw.pubsub("NUMPAT")).toBeGreaterThanOrEqual(2);
    await t.broadcast(ex, "worker.heartbeat", rawMessage("hb"));
    await waitFor(() => got.length === 1 && seen.length === 1);
    expect(got).toEqual([{ id: "hb", rk: "worker.heartbeat" }]);
    expect(seen).toEqual([`/${DB}.${ex}/worker.heartbeat worker.heartbeat`]);
    await unsubscribe();
    await t.broadcast(ex, "worker.heartbeat", rawMessage("hb2"));
    await waitFor(() => seen.length === 2);
    await sleep(50);
    expect(got.length).toBe(1);
    probe.disconnect();
  });

  test("an exact subscription (pidbox style) and a fanout exchange declared locally", async () => {
    const t = transport();
    const ex = unique("pidbox");
    const q = unique("node");
    await t.declareQueue({ name: q, exchange: ex, exchangeType: "fanout", routingKey: "" });
    const got: unknown[] = [];
    await t.subscribe(ex, "", (m) => got.push(m.headers.id));
    await t.publish(rawMessage("ping"), { exchange: ex, routingKey: "" });
    await waitFor(() => got.length === 1);
    expect(got).toEqual(["ping"]);
    expect(await raw.llen(q)).toBe(0);
  });
});

describe("purge", () => {
  test("purge deletes every bucket and returns the count", async () => {
    const t = transport();
    const [a, b] = [unique(), unique()];
    for (const p of [0, 3, 6, 9, 0]) await t.publish(rawMessage(), { exchange: "", routingKey: a, priority: p });
    await t.publish(rawMessage(), { exchange: "", routingKey: b });
    expect(await t.purge([a, b])).toBe(6);
    expect(await raw.exists(a, `${a}${SEP}3`, `${a}${SEP}6`, `${a}${SEP}9`, b)).toBe(0);
    expect(await t.purge([a])).toBe(0);
  });
});

// Speed is measured in bench/; this only checks that a large backlog is delivered completely, within a generous bound.
describe("a large backlog", () => {
  test("10,000 published messages are each delivered and acked exactly once, leaving the queue empty, within 60 s", async () => {
    const t = transport();
    const q = unique("bulk");
    const N = 10000;
    const started = Date.now();
    const pubs: Promise<void>[] = [];
    for (let i = 0; i < N; i++) pubs.push(t.publish(rawMessage(`m${i}`), { exchange: "", routingKey: q }));
    await Promise.all(pubs);
    const seen = new Map<string, number>();
    let acked = 0;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    let unsettled = 0;
    const prefetch = 200;
    const consumer = await t.consume({
      queues: [q],
      hasCapacity: () => unsettled < prefetch,
      capacity: () => prefetch - unsettled,
      onDelivery: (d: Delivery) => {
        unsettled++;
        const id = d.message.headers.id as string;
        seen.set(id, (seen.get(id) ?? 0) + 1);
        void d.ack().then(() => {
          unsettled--;
          acked++;
          consumer.poke();
          if (acked === N) done();
        });
      },
    });
    await finished;
    await sleep(200); // a duplicate delivery would show up here
    await consumer.cancel();
    expect(Date.now() - started).toBeLessThan(60000);
    expect(acked).toBe(N);
    expect(seen.size).toBe(N);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(await raw.llen(q)).toBe(0);
  });
});
