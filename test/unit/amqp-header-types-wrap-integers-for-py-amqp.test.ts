/**
 * Header tables for py-amqp (docs/protocol.md §6.3, vectors/amqp-header-type-interop.json): every integer is
 * explicitly typed (I / l / d), recursively; decoding unwraps amqplib's {"!": …} values.
 */
import { decodeFieldTable, decodeFieldValue, encodeFieldTable, encodeFieldValue } from "../../src/transport/amqp/header-types";
import { parseAmqpUrl, redactAmqpUrl, isAmqpUrl } from "../../src/transport/amqp/url";
import { publishProperties, rawMessageFrom } from "../../src/transport/amqp/message";
import { taskQueueTopology } from "../../src/transport/amqp/topology";
import { pyFloat } from "../../src/protocol/serializers/json";

describe("encodeFieldValue", () => {
  test.each([
    [5, { "!": "int", value: 5 }],
    [300, { "!": "int", value: 300 }],
    [-1, { "!": "int", value: -1 }],
    [2147483647, { "!": "int", value: 2147483647 }],
    [-2147483648, { "!": "int", value: -2147483648 }],
    [2147483648, { "!": "long", value: 2147483648 }],
    [2 ** 40, { "!": "long", value: 2 ** 40 }],
    [-(2 ** 40), { "!": "double", value: -(2 ** 40) }],
    [1.5, { "!": "double", value: 1.5 }],
    [10n, { "!": "int", value: 10 }],
    [2n ** 40n, { "!": "long", value: 2 ** 40 }],
  ])("%p → %p", (input, expected) => {
    expect(encodeFieldValue(input)).toEqual(expected);
  });

  test("strings, bools, null, buffers pass through; Date becomes a timestamp", () => {
    expect(encodeFieldValue("x")).toBe("x");
    expect(encodeFieldValue(true)).toBe(true);
    expect(encodeFieldValue(null)).toBeNull();
    const b = Buffer.from([1, 2]);
    expect(encodeFieldValue(b)).toBe(b);
    expect(encodeFieldValue(new Date(1704164645000))).toEqual({ "!": "timestamp", value: 1704164645 });
  });

  test("timelimit [300, 240] and nested tables are typed recursively (the py-amqp FrameSyntaxError case)", () => {
    expect(
      encodeFieldTable({ timelimit: [300, 240], retries: 0, stamps: { a: [1, { b: 70000 }], s: "v" }, n: null, u: undefined }),
    ).toEqual({
      timelimit: [{ "!": "int", value: 300 }, { "!": "int", value: 240 }],
      retries: { "!": "int", value: 0 },
      stamps: { a: [{ "!": "int", value: 1 }, { b: { "!": "int", value: 70000 } }], s: "v" },
      n: null,
    });
  });

  // kombu/pidbox.py Mailbox._publish: 'expires': time() + timeout (a Python float, sent by py-amqp as a double)
  test("a PyFloat is a double even when integral (kombu's pidbox `expires: time() + timeout`)", () => {
    expect(encodeFieldValue(pyFloat(1765000000))).toEqual({ "!": "double", value: 1765000000 });
    expect(encodeFieldTable({ clock: 3, expires: pyFloat(1765000000.25) })).toEqual({ clock: { "!": "int", value: 3 }, expires: { "!": "double", value: 1765000000.25 } });
  });

  test("an explicitly tagged value is kept", () => {
    expect(encodeFieldValue({ "!": "long", value: 7 })).toEqual({ "!": "long", value: 7 });
  });
});

describe("decodeFieldValue", () => {
  test("unwraps amqplib's timestamp/decimal wrappers (the py-amqp → amqplib cases of the vector)", () => {
    expect(decodeFieldValue({ "!": "timestamp", value: 1704164645 })).toEqual(new Date(1704164645000));
    expect(decodeFieldValue({ "!": "decimal", value: { places: 1, digits: 15 } })).toBe(1.5);
    expect(decodeFieldValue({ "!": "decimal", value: { places: 1, digits: 4294967281 } })).toBe(-1.5);
    expect(decodeFieldValue({ "!": "int", value: 3 })).toBe(3);
  });

  test("tables and arrays recursively; encode → decode is the identity on plain values", () => {
    const plain = { a: [1, null, true, "x", { b: 2 ** 40, c: -5, d: 1.25 }], e: { f: {} } };
    expect(decodeFieldTable(encodeFieldTable(plain))).toEqual(plain);
  });
});

describe("parseAmqpUrl", () => {
  test.each([
    ["amqp://guest:guest@localhost:5672//", { protocol: "amqp", hostname: "localhost", port: 5672, username: "guest", password: "guest", vhost: "/" }],
    ["amqp://u:p%40ss@h:1234/%2F", { hostname: "h", port: 1234, username: "u", password: "p@ss", vhost: "/" }],
    ["amqp://u:p@h/", { vhost: "/", port: 5672 }],
    ["amqp://u:p@h", { vhost: "/" }],
    ["amqp://u:p@h/myvhost", { vhost: "myvhost" }],
    ["pyamqp://u:p@h:5673/v", { protocol: "amqp", port: 5673, vhost: "v" }],
    ["amqps://u:p@h/v", { protocol: "amqps", port: 5671 }],
    ["amqp://h/v?heartbeat=30", { username: "guest", password: "guest", heartbeat: 30 }],
  ])("%s", (url, expected) => {
    expect(parseAmqpUrl(url)).toMatchObject(expected);
  });

  test("scheme check and password redaction", () => {
    expect(isAmqpUrl("pyamqp://x")).toBe(true);
    expect(isAmqpUrl("redis://x")).toBe(false);
    expect(() => parseAmqpUrl("redis://x")).toThrow(/not an AMQP URL/);
    expect(redactAmqpUrl("amqp://u:secret@h/v")).toBe("amqp://u:**@h/v");
  });
});

describe("properties and topology", () => {
  // The property set is checked byte for byte against Celery's captures (amqp-delay, amqp-priority,
  // amqp-options-misc) in test/integration/amqp-transport.test.ts; this case checks the mapping.
  test("publishProperties: Celery's properties only, ints typed, priority from the target", () => {
    const props = publishProperties(
      {
        body: Buffer.from("[]"),
        contentType: "application/json",
        contentEncoding: "utf-8",
        headers: { retries: 0, task: "t" },
        properties: { correlation_id: "c", reply_to: "r", delivery_mode: 2, priority: 3, expiration: "60000", delivery_info: { exchange: "" } },
      },
      7,
    );
    expect(props).toEqual({
      contentType: "application/json",
      contentEncoding: "utf-8",
      headers: { retries: { "!": "int", value: 0 }, task: "t" },
      deliveryMode: 2,
      priority: 7,
      correlationId: "c",
      replyTo: "r",
      expiration: "60000",
    });
  });

  // The names are py-amqp's (amqp/basic_message.py Message.PROPERTIES), which kombu/transport/pyamqp.py
  // Message passes on as its properties; the amqp-* vectors' "properties" use the same names.
  test("rawMessageFrom maps amqplib properties back to Celery's names", () => {
    const raw = rawMessageFrom({
      content: Buffer.from("x"),
      properties: { contentType: "application/json", contentEncoding: "utf-8", headers: { a: { "!": "timestamp", value: 1 } }, deliveryMode: 2, priority: 0, correlationId: "c", replyTo: "r", messageId: undefined },
    });
    expect(raw.properties).toEqual({ correlation_id: "c", reply_to: "r", delivery_mode: 2, priority: 0 });
    expect(raw.headers).toEqual({ a: new Date(1000) });
  });

  test("taskQueueTopology: Celery's celery exchange/queue/binding, x-max-priority, quorum", () => {
    // kombu/entity.py Exchange/Queue defaults (direct, durable, not auto_delete) as celery/app/amqp.py
    // AMQP.Queues builds the default queue; Queues._set_max_priority adds x-max-priority and
    // task_default_queue_type='quorum' adds x-queue-type (checked with Celery 5.7: app.amqp.queues[...]).
    expect(taskQueueTopology({ name: "celery" }, { queueMaxPriority: null, defaultQueueType: "classic" })).toEqual({
      exchange: { name: "celery", type: "direct", durable: true, autoDelete: false },
      queue: { name: "celery", durable: true, exclusive: false, autoDelete: false, arguments: {} },
      binding: { queue: "celery", exchange: "celery", routingKey: "celery" },
    });
    expect(taskQueueTopology({ name: "q" }, { queueMaxPriority: null, defaultQueueType: "quorum" }).queue.arguments).toEqual({ "x-queue-type": "quorum" });
    // Celery computes { x-max-priority, x-queue-type: quorum } here, which RabbitMQ refuses (406
    // "invalid arg 'x-max-priority' ... of queue type rabbit_quorum_queue"): refused first, by name
    expect(() => taskQueueTopology({ name: "q" }, { queueMaxPriority: 10, defaultQueueType: "quorum" })).toThrow("quorum queues do not support priorities");
    expect(taskQueueTopology({ name: "q", exchange: "" }, { queueMaxPriority: null, defaultQueueType: "classic" }).binding).toBeNull();
    // an rpc reply queue (kombu.Queue options): no task-queue priority/quorum arguments
    expect(taskQueueTopology({ name: "oid", exchange: "", durable: false, autoDelete: true, expires: 86400000 }, { queueMaxPriority: 10, defaultQueueType: "quorum" })).toEqual({
      exchange: null,
      queue: { name: "oid", durable: false, exclusive: false, autoDelete: true, arguments: { "x-expires": 86400000 } },
      binding: null,
    });
  });
});

describe("table decoder (py-amqp's L tag)", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by this describe block
  const { decodeFieldTableBytes } = require("../../src/transport/amqp/table-decoder") as typeof import("../../src/transport/amqp/table-decoder");
  function entry(key: string, tag: string, payload: Buffer): Buffer {
    return Buffer.concat([Buffer.from([Buffer.byteLength(key)]), Buffer.from(key), Buffer.from(tag), payload]);
  }
  test("L (signed 64) is read; beyond 2^53 exactly as bigint; I/S/A/V/t as amqplib", () => {
    const big = Buffer.alloc(8);
    big.writeBigInt64BE(2n ** 40n);
    const huge = Buffer.alloc(8);
    huge.writeBigInt64BE(2n ** 62n + 1n);
    const neg = Buffer.alloc(8);
    neg.writeBigInt64BE(-5n);
    const i = Buffer.alloc(4);
    i.writeInt32BE(300);
    const s = Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from("py")]);
    const arr = Buffer.concat([Buffer.from([0, 0, 0, 10]), Buffer.from("I"), i, Buffer.from("I"), i]);
    const bytes = Buffer.concat([
      entry("big", "L", big),
      entry("huge", "L", huge),
      entry("neg", "l", neg),
      entry("int", "I", i),
      entry("str", "S", s),
      entry("arr", "A", arr),
      entry("none", "V", Buffer.alloc(0)),
      entry("yes", "t", Buffer.from([1])),
    ]);
    expect(decodeFieldTableBytes(bytes)).toEqual({ big: 2 ** 40, huge: 2n ** 62n + 1n, neg: -5, int: 300, str: "py", arr: [300, 300], none: null, yes: true });
  });

  test("values come out plain, as decodeFieldValue makes amqplib's: T a Date, D a signed number, x a Buffer, F a table", () => {
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(1700000000n);
    const dec = Buffer.alloc(5);
    dec.writeUInt8(2, 0);
    dec.writeInt32BE(-12345, 1);
    const inner = entry("k", "S", Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from("v")]));
    const nested = Buffer.concat([Buffer.from([0, 0, 0, inner.length]), inner]);
    const bytes = Buffer.concat([
      entry("when", "T", ts),
      entry("dec", "D", dec),
      entry("raw", "x", Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from([1, 2])])),
      entry("tbl", "F", nested),
      entry("ü", "S", Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from("é")])),
    ]);
    const got = decodeFieldTableBytes(bytes);
    expect(got).toEqual({ when: new Date(1700000000 * 1000), dec: -123.45, raw: Buffer.from([1, 2]), tbl: { k: "v" }, ü: "é" });
    // the same bytes, as amqplib's own decoder gives them, unwrapped by header-types: same values
    expect(decodeFieldTable({ when: { "!": "timestamp", value: 1700000000 }, dec: { "!": "decimal", value: { places: 2, digits: 2 ** 32 - 12345 } } })).toEqual({
      when: got.when,
      dec: got.dec,
    });
  });

  test("keys of the same length, first and last byte are told apart (the key cache compares every byte)", () => {
    const t = Buffer.from([0, 0, 0, 1]);
    for (let i = 0; i < 3; i++) {
      const got = decodeFieldTableBytes(Buffer.concat([entry("ab_xd", "S", Buffer.concat([t, Buffer.from("1")])), entry("ab_yd", "S", Buffer.concat([t, Buffer.from("2")]))]));
      expect(got).toEqual({ ab_xd: "1", ab_yd: "2" });
    }
  });

  test("a `__proto__` key is an own entry, never the table's prototype", () => {
    const inner = entry("polluted", "t", Buffer.from([1]));
    const got = decodeFieldTableBytes(entry("__proto__", "F", Buffer.concat([Buffer.from([0, 0, 0, inner.length]), inner])));
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.keys(got)).toEqual(["__proto__"]);
    expect((got as { polluted?: boolean }).polluted).toBeUndefined();
  });

  test("truncated or unknown input throws (amqplib then fails the frame), never reads past the table", () => {
    const s = Buffer.concat([Buffer.from([0, 0, 0, 9]), Buffer.from("py")]); // says 9 bytes, has 2
    expect(() => decodeFieldTableBytes(entry("str", "S", s))).toThrow(/truncated|out of range/);
    expect(() => decodeFieldTableBytes(entry("int", "I", Buffer.from([0, 1])))).toThrow(/truncated|out of range/);
    expect(() => decodeFieldTableBytes(entry("arr", "A", Buffer.from([0, 0, 0, 8, 0x56])))).toThrow(/truncated|out of range/);
    expect(() => decodeFieldTableBytes(Buffer.from([5, 0x61]))).toThrow(/truncated|out of range/); // key longer than the table
    expect(() => decodeFieldTableBytes(entry("q", "Q", Buffer.alloc(0)))).toThrow(/Unexpected type tag "Q"/);
  });
});
