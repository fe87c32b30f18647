import { decodeMessageBody, decodeTask, InvalidTaskError } from "../../src/protocol/decode";
import { ContentDisallowed } from "../../src/protocol/serializers";
import type { RawMessage, WireValue } from "../../src/protocol/message";
import { serialize } from "../../src/protocol/serializers";
import { pyJsonDumps } from "../../src/protocol/serializers/json";
import { loadVector, messagesOf, vectorNames, type WireObject } from "../support/vectors";

const ACCEPT = ["json", "msgpack", "yaml"] as const;

/** Python's reading of an ISO string (naive = UTC), at JS millisecond precision. */
function isoToDate(s: WireValue | undefined): Date | null {
  if (typeof s !== "string") return null;
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$/.exec(s) as RegExpExecArray;
  const frac = (m[2] ?? "").padEnd(3, "0").slice(0, 3);
  return new Date(`${m[1]}.${frac}${m[3] || "Z"}`);
}

const taskVectors = vectorNames().filter((n) => {
  const v = loadVector(n);
  return (v.transport === "redis" || v.transport === "amqp") && v.raw !== null;
});

function emptyEmbed(e: WireValue | undefined): WireObject {
  const o = (e ?? {}) as WireObject;
  return { callbacks: o.callbacks ?? null, errbacks: o.errbacks ?? null, chain: o.chain ?? null, chord: o.chord ?? null };
}

describe("decodeTask decodes every captured task message", () => {
  test.each(taskVectors)("%s", (name) => {
    for (const { raw, decoded } of messagesOf(loadVector(name))) {
      if (raw.contentType === "application/x-python-serialize") {
        expect(() => decodeTask(raw, { accept: ACCEPT })).toThrow(ContentDisallowed);
        expect(() => decodeTask(raw, { accept: ["json"] })).toThrow(
          "Refusing to deserialize untrusted content of type pickle (application/x-python-serialize)",
        );
        continue;
      }
      const t = decodeTask(raw, { accept: ACCEPT });
      const h = raw.headers as WireObject;
      const props = raw.properties as WireObject;
      expect(t.headers).toEqual(h);
      expect(t.correlationId).toBe(props.correlation_id);
      expect(t.replyTo).toBe(props.reply_to ?? "");
      expect(t.contentType).toBe(raw.contentType);
      if (h.task !== undefined) {
        const body = decoded.body as WireValue[];
        expect(t.protocol).toBe(2);
        expect(t.id).toBe(h.id);
        expect(t.task).toBe(h.task);
        expect(t.name).toBe(h.shadow || h.task);
        expect(t.args).toEqual(body[0]);
        expect(t.kwargs).toEqual(body[1]);
        expect(t.embed).toEqual(emptyEmbed(body[2]));
        expect(t.eta).toEqual(isoToDate(h.eta));
        expect(t.expires).toEqual(isoToDate(h.expires));
        expect(t.retries).toBe(h.retries ?? 0);
        expect(t.rootId).toBe(h.root_id || h.id);
        expect(t.parentId).toBe(h.parent_id ?? null);
        expect(t.group).toBe(h.group ?? null);
        expect(t.groupIndex).toBe(h.group_index ?? null);
        expect(t.timelimit).toEqual(h.timelimit ?? [null, null]);
        expect(t.origin).toBe(h.origin ?? null);
        expect(t.ignoreResult).toBe(h.ignore_result === true);
        expect(t.replacedTaskNesting).toBe(h.replaced_task_nesting ?? props.replaced_task_nesting ?? 0);
        if (typeof h.argsrepr === "string") expect(t.argsrepr).toBe(h.argsrepr);
        expect(t.priority).toBe(props.priority ?? null);
      } else {
        const body = decoded.body as WireObject;
        expect(t.protocol).toBe(1);
        expect(t.id).toBe(body.id);
        expect(t.task).toBe(body.task);
        expect(t.args).toEqual(body.args);
        expect(t.kwargs).toEqual(body.kwargs);
        expect(t.eta).toEqual(isoToDate(body.eta));
        expect(t.expires).toEqual(isoToDate(body.expires));
        expect(t.group).toBe(body.taskset ?? body.group ?? null);
        expect(t.embed).toEqual({ callbacks: null, errbacks: null, chain: null, chord: null });
        expect(t.argsrepr).toBe("(2, 2)");
        expect(t.rootId).toBe(body.id);
      }
    }
  });

  test("handmade minimal messages get every default (K2)", () => {
    const [{ raw }] = messagesOf(loadVector("amqp-handmade-minimal"));
    const t = decodeTask(raw, { accept: ["json"] });
    expect(t.embed).toEqual({ callbacks: null, errbacks: null, chain: null, chord: null });
    expect(t.rootId).toBe(t.id);
    expect(t.stamps).toEqual({});
    expect(t.stampedHeaders).toBeNull();
    expect(t.kwargsrepr).toBe("{}");
  });

  test("the last chain step carries chain: [] (redis-worker-chain-step3)", () => {
    const [{ raw }] = messagesOf(loadVector("redis-worker-chain-step3"));
    expect(decodeTask(raw, { accept: ["json"] }).embed.chain).toEqual([]);
  });

  test("msgpack/yaml are refused under the default accept list", () => {
    const [{ raw }] = messagesOf(loadVector("redis-serializer-msgpack"));
    expect(() => decodeTask(raw, { accept: ["json"] })).toThrow(ContentDisallowed);
  });
});

function message(body: WireValue, headers: WireObject = { task: "t.x", id: "abc" }): RawMessage {
  const s = serialize(body, "json");
  return { body: s.body, contentType: s.contentType, contentEncoding: s.contentEncoding, headers, properties: {} };
}

describe("decodeTask rejects invalid messages with InvalidTaskError", () => {
  test("malformed eta names the task id and field", () => {
    const m = message([[], {}, {}], { task: "t.x", id: "abc", eta: "tomorrow-ish" });
    expect(() => decodeTask(m, { accept: ["json"] })).toThrow(InvalidTaskError);
    expect(() => decodeTask(m, { accept: ["json"] })).toThrow(/abc.*eta/);
  });

  test("malformed expires", () => {
    expect(() => decodeTask(message([[], {}, {}], { task: "t.x", id: "abc", expires: 12 }), { accept: ["json"] })).toThrow(/expires/);
  });

  test("a body that is not [args, kwargs, embed]", () => {
    expect(() => decodeTask(message([[], {}]), { accept: ["json"] })).toThrow(InvalidTaskError);
    expect(() => decodeTask(message([{}, {}, {}]), { accept: ["json"] })).toThrow(/args/);
    expect(() => decodeTask(message([[], [], {}]), { accept: ["json"] })).toThrow(/kwargs/);
  });

  test("no task header and no v1 task dict", () => {
    expect(() => decodeTask(message([1, 2, 3], {}), { accept: ["json"] })).toThrow(/unknown message/);
  });

  test("embed null and missing keys are tolerated; naive eta is UTC; offsets are honoured", () => {
    const t = decodeTask(message([[1], {}, null], { task: "t.x", id: "abc", eta: "2030-01-02T03:04:05", expires: "2030-01-02T04:04:05.5+01:00" }), {
      accept: ["json"],
    });
    expect(t.embed.chain).toBeNull();
    expect(t.eta?.toISOString()).toBe("2030-01-02T03:04:05.000Z");
    expect(t.expires?.toISOString()).toBe("2030-01-02T03:04:05.500Z");
  });

  test("5.3 headers are read (stamps, stamped_headers, replaced_task_nesting)", () => {
    const t = decodeTask(
      message([[], {}, {}], { task: "t.x", id: "abc", replaced_task_nesting: 2, stamped_headers: ["s"], stamps: { s: "v" }, shadow: "alias" }),
      { accept: ["json"] },
    );
    expect([t.replacedTaskNesting, t.stampedHeaders, t.stamps, t.name, t.task]).toEqual([2, ["s"], { s: "v" }, "alias", "t.x"]);
  });
});

describe("decodeMessageBody decodes non-task messages", () => {
  const others = vectorNames().filter((n) => /^(event|pidbox|backend-rpc)-/.test(n) && loadVector(n).raw !== null);
  // backend-rpc-failure's `decoded` has the capture machine's path scrubbed, its `raw` does not.
  const scrub = (v: WireValue): string => pyJsonDumps(v).replace(/File \\"[^"\\]*\/vecapp\.py\\"/g, "File vecapp.py");
  test.each(others)("%s", (name) => {
    for (const { raw, decoded } of messagesOf(loadVector(name))) {
      expect(scrub(decodeMessageBody(raw, ["json"]))).toBe(scrub(decoded.body));
    }
  });
});
