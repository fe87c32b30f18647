import { pyJsonLoads } from "../../src/protocol/serializers/json";
import type { WireValue } from "../../src/protocol/message";
import { loadVector, messagesOf } from "../support/vectors";
import { deserialize } from "../../src/protocol/serializers";

describe("pyJsonLoads", () => {
  test("bare NaN / Infinity / -Infinity tokens are tolerated", () => {
    const v = pyJsonLoads('{"a": NaN, "b": [Infinity, -Infinity], "s": "NaN stays text"}') as { [k: string]: WireValue };
    expect(Number.isNaN(v.a as number)).toBe(true);
    expect(v.b).toEqual([Infinity, -Infinity]);
    expect(v.s).toBe("NaN stays text");
  });

  test("integers outside the safe range become exact bigints; others stay numbers", () => {
    expect(pyJsonLoads("[9007199254740993, 9007199254740991, -9007199254740993, 1234567890123456.5, 1e400]")).toEqual([
      9007199254740993n,
      9007199254740991,
      -9007199254740993n,
      1234567890123456.5,
      Infinity,
    ]);
  });

  test("redis-kwargs-unicode-nested body keeps 2^53+1 exact", () => {
    const [{ raw }] = messagesOf(loadVector("redis-kwargs-unicode-nested"));
    const body = deserialize(raw.body, raw.contentType, raw.contentEncoding, ["json"]) as WireValue[];
    const kwargs = body[1] as { [k: string]: WireValue };
    expect(kwargs.big).toBe(9007199254740993n);
    expect(kwargs.name).toBe("Zo\u00eb \u2603 \u65e5\u672c \ud83d\ude00");
  });

  test("kombu >= 5.3 type envelopes decode (json-special-types-kombu53)", () => {
    const v = loadVector("json-special-types-kombu53");
    const body = pyJsonLoads(v.raw as string) as WireValue[];
    const args = body[0] as WireValue[];
    expect(args[0]).toEqual(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 0)));
    expect(args[1]).toEqual(new Date(Date.UTC(2024, 0, 2, 3, 4, 5)));
    expect(args[2]).toBe("2024-01-02");
    expect(args[3]).toBe("03:04:05");
    expect(args[4]).toBe("1.10");
    expect(args[5]).toBe("12345678-1234-5678-1234-567812345678");
    expect(args[6]).toEqual(Buffer.from("raw bytes"));
    expect(args[7]).toEqual(Buffer.from([0xff, 0x00, 0x01]));
    expect(body[2]).toEqual({ callbacks: null, errbacks: null, chain: null, chord: null });
  });

  test("kombu 5.3.0 uuid envelope with a version key decodes too", () => {
    expect(
      pyJsonLoads('{"__type__": "uuid", "__value__": {"hex": "12345678123456781234567812345678", "version": 4}}'),
    ).toBe("12345678-1234-5678-1234-567812345678");
  });

  test("unknown envelopes and objects with extra keys are left as plain objects", () => {
    expect(pyJsonLoads('{"__type__": "frob", "__value__": 1}')).toEqual({ __type__: "frob", __value__: 1 });
    expect(pyJsonLoads('{"__type__": "date", "__value__": "2024-01-02", "x": 1}')).toEqual({
      __type__: "date",
      __value__: "2024-01-02",
      x: 1,
    });
  });

  test("kombu 5.2 special types stay plain strings (redis-json-special-types)", () => {
    const [{ raw, decoded }] = messagesOf(loadVector("redis-json-special-types"));
    const body = deserialize(raw.body, raw.contentType, raw.contentEncoding, ["json"]);
    expect(body).toEqual(decoded.body);
    expect((body as WireValue[][])[0][0]).toBe("2024-01-02T03:04:05.000006Z");
  });

  test("the slow path parses whatever JSON.parse parses", () => {
    const text = '{"a": [1, -2.5e-3, "x\\u00e9\\n\\"", true, false, null, {}], "__proto__": {"p": 1}, "n": NaN}';
    const v = pyJsonLoads(text) as { [k: string]: WireValue };
    expect(v.a).toEqual((JSON.parse(text.replace("NaN", "0")) as { a: unknown }).a);
    expect(Object.keys(v)).toEqual(["a", "__proto__", "n"]);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
  });

  test("a rounded integer anywhere sends the text to the Python parser; integral floats stay numbers", () => {
    expect(pyJsonLoads('{"a": {"b": [1, {"c": 9007199254740993}]}, "d": "x"}')).toEqual({ a: { b: [1, { c: 9007199254740993n }] }, d: "x" });
    expect(pyJsonLoads("[1e+16, 2.5e+20, 9007199254740991]")).toEqual([1e16, 2.5e20, 9007199254740991]);
  });

  test("kombu envelopes deep in the value are revived; nesting is bounded below and past the first pass", () => {
    expect(pyJsonLoads('[[{"k": {"__type__": "bytes", "__value__": "hi"}}]]')).toEqual([[{ k: Buffer.from("hi") }]]);
    const nested = (depth: number): string => "[".repeat(depth) + "]".repeat(depth);
    expect(() => pyJsonLoads(nested(11), 10)).toThrow(/deeper than workerMaxNestingDepth \(10 levels\)/);
    expect(() => pyJsonLoads(nested(10), 10)).not.toThrow();
    expect(() => pyJsonLoads(nested(600), 500)).toThrow(/deeper than workerMaxNestingDepth \(500 levels\)/);
    expect(() => pyJsonLoads(nested(500), 500)).not.toThrow();
    expect(() => pyJsonLoads(nested(5000))).not.toThrow();
  });

  test("malformed JSON throws SyntaxError on both paths", () => {
    expect(() => pyJsonLoads("[1, 2")).toThrow(SyntaxError);
    expect(() => pyJsonLoads("[NaN, 2")).toThrow(SyntaxError);
    expect(() => pyJsonLoads("[NaN] x")).toThrow(SyntaxError);
  });
});
