import {
  ContentDisallowed,
  deserialize,
  serialize,
  serializerNameFor,
  type SerializerName,
} from "../../src/protocol/serializers";
import { msgpackDumps, msgpackLoads } from "../../src/protocol/serializers/msgpack";
import type { WireValue } from "../../src/protocol/message";
import { loadVector, messagesOf } from "../support/vectors";

const sample: WireValue = [[2, "two", 2.5, null, [1, 2]], { k: { n: true }, big: 9007199254740993n }, { callbacks: null }];

describe("serializers", () => {
  test.each([
    ["json", "application/json", "utf-8"],
    ["msgpack", "application/x-msgpack", "binary"],
    ["yaml", "application/x-yaml", "utf-8"],
    // kombu/serialization.py register_json / register_msgpack / register_yaml (content_type, content_encoding)
  ] as [SerializerName, string, string][])("%s uses Celery's content type and encoding and round-trips", (name, ct, ce) => {
    const s = serialize(sample, name);
    expect(s.contentType).toBe(ct);
    expect(s.contentEncoding).toBe(ce);
    expect(deserialize(s.body, s.contentType, s.contentEncoding, [name])).toEqual(sample);
    expect(serializerNameFor(ct)).toBe(name);
  });

  test("accept takes names or MIME types", () => {
    const s = serialize([1], "json");
    expect(deserialize(s.body, s.contentType, s.contentEncoding, ["application/json"])).toEqual([1]);
    expect(deserialize(s.body, s.contentType, s.contentEncoding, ["JSON"])).toEqual([1]);
  });

  test("a type outside accept throws ContentDisallowed with Celery's message", () => {
    const s = serialize([1], "msgpack");
    expect(() => deserialize(s.body, s.contentType, s.contentEncoding, ["json"])).toThrow(ContentDisallowed);
    // kombu/serialization.py SerializerRegistry._for_untrusted_content (kombu 5.2 loads(..., accept=['json']))
    expect(() => deserialize(s.body, s.contentType, s.contentEncoding, ["json"])).toThrow(
      "Refusing to deserialize untrusted content of type msgpack (application/x-msgpack)",
    );
  });

  test("pickle is refused with Celery's message, and even when accepted", () => {
    const body = Buffer.from("gASVAAAAAAAAAAAu", "base64");
    let err: unknown;
    try {
      deserialize(body, "application/x-python-serialize", "binary", ["json"]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ContentDisallowed);
    // kombu/serialization.py SerializerRegistry._for_untrusted_content
    expect((err as Error).message).toBe(
      "Refusing to deserialize untrusted content of type pickle (application/x-python-serialize)",
    );
    expect(() => deserialize(body, "application/x-python-serialize", "binary", ["pickle", "json"])).toThrow(
      /never deserializes pickle/,
    );
  });

  test("unknown content types are refused even when listed", () => {
    expect(() => deserialize(Buffer.from("x"), "application/x-foo", "utf-8", ["application/x-foo"])).toThrow(ContentDisallowed);
  });

  test("raw application/data and application/text bypass accept", () => {
    expect(deserialize(Buffer.from("ab"), "application/data", "binary", [])).toEqual(Buffer.from("ab"));
    expect(deserialize(Buffer.from("ab"), "application/text", "utf-8", [])).toBe("ab");
    expect(deserialize(Buffer.from("ab"), "", "", [])).toEqual(Buffer.from("ab"));
  });

  test.each(["redis-serializer-msgpack", "amqp-serializer-msgpack", "redis-serializer-yaml", "amqp-serializer-yaml"])(
    "%s body decodes to what Python sent",
    (name) => {
      const [{ raw, decoded }] = messagesOf(loadVector(name));
      expect(deserialize(raw.body, raw.contentType, raw.contentEncoding, ["msgpack", "yaml"])).toEqual(decoded.body);
    },
  );

  test("msgpack writes integers beyond 32 bits as ints, never float64", () => {
    const packed = msgpackDumps([2 ** 40, -(2 ** 40), 9007199254740993n, 2.5]);
    // fixarray(4), uint64/int64 markers 0xcf/0xd3, then 0xcb only for 2.5
    expect([...packed].filter((b) => b === 0xcb).length).toBe(1);
    expect(msgpackLoads(packed)).toEqual([2 ** 40, -(2 ** 40), 9007199254740993n, 2.5]);
  });

  test("msgpack matches Python's msgpack.packb bytes for the captured body", () => {
    const [{ raw }] = messagesOf(loadVector("redis-serializer-msgpack"));
    const value = msgpackLoads(raw.body);
    // Python wrote 2.5 as float64 and ints as the smallest int; re-packing gives the same bytes.
    expect(msgpackDumps(value).equals(raw.body)).toBe(true);
  });

  // Python's msgpack.packb has no datetime (kombu's register_msgpack would raise); celeriac sends
  // the text kombu 5.2's JSONEncoder.default writes (kombu/utils/json.py: isoformat, +00:00 → Z).
  test("msgpack bin decodes to Buffer and Date is sent as text in kombu 5.2's JSON datetime form", () => {
    expect(msgpackLoads(msgpackDumps({ b: Buffer.from([1, 2]) }))).toEqual({ b: Buffer.from([1, 2]) });
    expect(msgpackLoads(msgpackDumps([new Date(Date.UTC(2024, 0, 2))]))).toEqual(["2024-01-02T00:00:00Z"]);
  });

  test("yaml reads YAML 1.1 scalars like PyYAML safe_load", () => {
    expect(deserialize(Buffer.from("- yes\n- off\n- 0x1f\n- 12345678901234567890\n- ~\n"), "application/x-yaml", "utf-8", ["yaml"])).toEqual([
      true,
      false,
      31,
      12345678901234567890n,
      null,
    ]);
  });
});
