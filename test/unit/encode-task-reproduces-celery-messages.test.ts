import { decodeTask } from "../../src/protocol/decode";
import { encodeBody, encodeTask, type TaskSpec } from "../../src/protocol/encode";
import { decodeMessageBody } from "../../src/protocol/decode";
import { serializerNameFor, type SerializerName } from "../../src/protocol/serializers";
import { pyJsonDumps } from "../../src/protocol/serializers/json";
import type { DecodedTask, WireValue } from "../../src/protocol/message";
import { loadVector, messagesOf, vectorNames, type WireObject } from "../support/vectors";

const ACCEPT = ["json", "msgpack", "yaml"];
const STANDARD = new Set([
  "lang", "task", "id", "shadow", "eta", "expires", "group", "group_index", "retries", "timelimit",
  "root_id", "parent_id", "argsrepr", "kwargsrepr", "origin", "ignore_result", "compression",
  "replaced_task_nesting", "stamped_headers", "stamps",
]);

function specFrom(t: DecodedTask): TaskSpec {
  const extra: { [k: string]: WireValue } = {};
  for (const [k, v] of Object.entries(t.headers)) if (!STANDARD.has(k) && v !== undefined) extra[k] = v;
  return {
    id: t.id,
    task: t.task,
    args: t.args,
    kwargs: t.kwargs,
    embed: t.embed,
    eta: t.eta,
    expires: t.expires,
    group: t.group,
    groupIndex: t.groupIndex,
    retries: t.retries,
    timelimit: t.timelimit,
    rootId: t.rootId,
    parentId: t.parentId,
    shadow: (t.headers.shadow as string | null) ?? null,
    argsrepr: t.argsrepr,
    kwargsrepr: t.kwargsrepr,
    origin: t.origin ?? "",
    ignoreResult: t.ignoreResult,
    replyTo: t.replyTo,
    priority: t.priority,
    headers: extra,
  };
}

const v2Vectors = vectorNames().filter((n) => {
  const v = loadVector(n);
  if ((v.transport !== "redis" && v.transport !== "amqp") || v.raw === null) return false;
  return messagesOf(v).every(({ raw }) => raw.headers.task !== undefined && raw.contentType !== "application/x-python-serialize");
});

describe("encodeTask", () => {
  test.each(v2Vectors)("%s: decode → encode → decode gives the same task", (name) => {
    for (const { raw } of messagesOf(loadVector(name))) {
      const t = decodeTask(raw, { accept: ACCEPT });
      const serializer = serializerNameFor(raw.contentType) as SerializerName;
      const compression = (raw.headers.compression as string | undefined) ?? null;
      const again = encodeTask(specFrom(t), { serializer, compression });
      const t2 = decodeTask(again, { accept: ACCEPT });
      expect({ ...t2, headers: null }).toEqual({ ...t, headers: null });

      // Headers: same keys in the same order with the same values (eta/expires at ms precision).
      const strip = (h: { [k: string]: WireValue | undefined }): string =>
        pyJsonDumps({ ...h, eta: h.eta ? "<t>" : null, expires: h.expires ? "<t>" : null });
      if (t.origin !== null && !("replaced_task_nesting" in raw.headers)) {
        expect(strip(again.headers)).toBe(strip(raw.headers));
      }
      // JSON bodies are byte-identical to what Python sent.
      // (handmade vectors send an empty embed {}; Celery always writes all four keys)
      if (serializer === "json" && !compression && !name.includes("handmade")) expect(again.body.equals(raw.body)).toBe(true);
      expect(again.properties.correlation_id).toBe(raw.properties.correlation_id);
      expect(again.properties.reply_to).toBe(raw.properties.reply_to ?? "");
      expect(again.properties.delivery_mode).toBe(2);
    }
  });

  test("add.delay(2, 2) is reproduced exactly (redis-delay)", () => {
    const v = loadVector("redis-delay");
    const env = (v.decoded as WireObject).envelope as WireObject;
    const h = env.headers as WireObject;
    const p = env.properties as WireObject;
    const m = encodeTask(
      { id: h.id as string, task: "tasks.add", args: [2, 2], kwargs: {}, origin: h.origin as string, replyTo: p.reply_to as string },
      { serializer: "json" },
    );
    expect(pyJsonDumps(m.headers)).toBe(pyJsonDumps(h));
    expect(m.body.toString("base64")).toBe(env.body);
    expect(m.properties).toEqual({ correlation_id: h.id, reply_to: p.reply_to, delivery_mode: 2, priority: 0 });
    expect(m.contentType).toBe("application/json");
    expect(m.contentEncoding).toBe("utf-8");
  });

  test("expires in seconds gives the expires header and expiration property like Python", () => {
    const now = new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678));
    const m = encodeTask({ id: "i", task: "t", args: [], kwargs: {}, origin: "o", replyTo: "r", expires: 60, countdown: 10 }, { serializer: "json", now });
    expect(m.headers.expires).toBe("2030-01-02T03:05:05.678000+00:00");
    expect(m.headers.eta).toBe("2030-01-02T03:04:15.678000+00:00");
    expect(m.properties.expiration).toBe("60000");
    // a past datetime: celery/app/base.py Celery.send_task sets expires_s = 0, and kombu/messaging.py
    // Producer.publish writes properties['expiration'] = str(int(expiration * 1000))
    const past = encodeTask({ id: "i", task: "t", args: [], kwargs: {}, origin: "o", replyTo: "r", expires: new Date(now.getTime() - 5000) }, { serializer: "json", now });
    expect(past.properties.expiration).toBe("0");
    // Celery 5.2's add.apply_async((1, 2), expires=60) on Redis (vector redis-expires-seconds): same
    // expiration, same property order (delivery_info, body_encoding, delivery_tag are the transport's)
    const captured = JSON.parse(loadVector("redis-expires-seconds").raw as string) as { headers: Record<string, string>; properties: Record<string, unknown> };
    expect(captured.properties.expiration).toBe("60000");
    const transportOwn = ["delivery_info", "body_encoding", "delivery_tag"];
    expect(Object.keys(m.properties)).toEqual(Object.keys(captured.properties).filter((k) => !transportOwn.includes(k)));
    expect(captured.headers.expires).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
  });

  test("protocolExtras 5.3 adds the three headers after ignore_result, custom headers follow, compression is last", () => {
    const m = encodeTask(
      { id: "i", task: "t", args: [1], kwargs: {}, origin: "o", replyTo: "r", headers: { "x-custom": "v" }, stamps: { s: 1 }, stampedHeaders: ["s"] },
      { serializer: "json", protocolExtras: "5.3", compression: "gzip" },
    );
    const keys = Object.keys(m.headers);
    expect(keys.slice(15)).toEqual(["ignore_result", "replaced_task_nesting", "stamped_headers", "stamps", "x-custom", "compression"]);
    expect(m.headers.compression).toBe("application/x-gzip");
    const t = decodeTask(m, { accept: ["json"] });
    expect([t.args, t.stamps, t.stampedHeaders, t.replacedTaskNesting]).toEqual([[1], { s: 1 }, ["s"], 0]);
  });

  test("5.2 layout carries replaced_task_nesting as a property, like Celery 5.2 retries", () => {
    const m = encodeTask({ id: "i", task: "t", args: [], kwargs: {}, origin: "o", replyTo: "r", replacedTaskNesting: 1 }, { serializer: "json" });
    // Celery 5.2's worker-published retry (vector redis-worker-retry-message) has it among the
    // properties, not the headers
    const captured = ((loadVector("redis-worker-retry-message").decoded as WireObject).envelope as WireObject);
    expect("replaced_task_nesting" in (captured.headers as WireObject)).toBe(false);
    expect("replaced_task_nesting" in (captured.properties as WireObject)).toBe(true);
    expect("replaced_task_nesting" in m.headers).toBe(false);
    expect(m.properties.replaced_task_nesting).toBe(1);
    expect(decodeTask(m, { accept: ["json"] }).replacedTaskNesting).toBe(1);
  });

  test("priority null omits the property; big ints survive encode → decode", () => {
    const m = encodeTask({ id: "i", task: "t", args: [9007199254740993n], kwargs: {}, origin: "o", replyTo: "r", priority: null }, { serializer: "json" });
    expect("priority" in m.properties).toBe(false);
    expect(m.body.toString()).toContain("[9007199254740993]");
    expect(decodeTask(m, { accept: ["json"] }).args).toEqual([9007199254740993n]);
  });

  test("encodeBody serializes and compresses any body", () => {
    const b = encodeBody({ hostname: "w@h" }, "json", "bzip2");
    expect(b.compression).toBe("application/x-bz2");
    expect(
      decodeMessageBody(
        { body: b.body, contentType: b.contentType, contentEncoding: b.contentEncoding, headers: { compression: b.compression }, properties: {} },
        ["json"],
      ),
    ).toEqual({ hostname: "w@h" });
  });
});
