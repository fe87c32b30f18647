/**
 * Every serializer delivers only what JSON (plus kombu's own types) could: `__proto__` is an own
 * key, msgpackr's extension types and YAML tags outside the YAML 1.1 schema are refused, nesting
 * is bounded, and the content-encoding label of a text serializer is ignored as kombu ignores it.
 */
import { Packr } from "msgpackr";
import { deserialize, UnsupportedValueError } from "../../src/protocol/serializers";
import { MessageLimitError } from "../../src/protocol/limits";

const ALL = ["json", "msgpack", "yaml"];
const moreTypes = new Packr({ moreTypes: true, structuredClone: true, useRecords: false });

describe("decoders build only plain data", () => {
  test("msgpack: a __proto__ key is an own key, not the prototype, and is not renamed", () => {
    const body = Buffer.from([0x81, 0xa9, ...Buffer.from("__proto__"), 0x81, 0xa1, 0x78, 0x01]);
    const v = deserialize(body, "application/x-msgpack", "binary", ALL) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(v, "__proto__")?.value).toEqual({ x: 1 });
    expect(Object.keys(v)).toEqual(["__proto__"]);
  });

  test("yaml: a __proto__ key is an own key, not the prototype", () => {
    const v = deserialize(Buffer.from("__proto__:\n  x: 1\n"), "application/x-yaml", "utf-8", ALL) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(v, "__proto__")?.value).toEqual({ x: 1 });
  });

  test.each([
    ["RegExp", /x/g],
    ["Set", new Set([1])],
    ["Error", new TypeError("boom")],
  ])("msgpack: msgpackr's %s extension is refused", (_name, value) => {
    const body = moreTypes.pack([value]);
    expect(() => deserialize(body, "application/x-msgpack", "binary", ALL)).toThrow(UnsupportedValueError);
  });

  // kombu/serialization.py register_msgpack unpacks with msgpack.unpackb(s, raw=False), which gives
  // [ExtType(code=5, data=b'\x00')] for these bytes (checked with kombu 5.2 and 5.7)
  test("msgpack: an extension type kombu's msgpack would hand over as ExtType is refused", () => {
    expect(() => deserialize(Buffer.from([0x91, 0xd4, 0x05, 0x00]), "application/x-msgpack", "binary", ALL)).toThrow(
      "msgpack extension type 5 is not supported (only the timestamp, -1)",
    );
  });

  test("msgpack: the timestamp extension still decodes to a Date", () => {
    const body = Buffer.from([0xd6, 0xff, 0x00, 0x00, 0x00, 0x3c]);
    expect(deserialize(body, "application/x-msgpack", "binary", ALL)).toEqual(new Date(60_000));
  });

  test.each(["!!js/regexp /x/", "!!python/object:os.system {}", "!custom 1"])("yaml: the tag in %j is refused", (text) => {
    expect(() => deserialize(Buffer.from(`a: ${text}\n`), "application/x-yaml", "utf-8", ALL)).toThrow(UnsupportedValueError);
  });

  test("yaml: !!set becomes a list", () => {
    expect(deserialize(Buffer.from("a: !!set {x: null, y: null}\n"), "application/x-yaml", "utf-8", ALL)).toEqual({ a: ["x", "y"] });
  });

  test.each([
    ["application/json", Buffer.from("[".repeat(20) + "]".repeat(20))],
    ["application/x-msgpack", Buffer.from([...(Array(20).fill(0x91) as number[]), 0xc0])],
    ["application/x-yaml", Buffer.from("[".repeat(20) + "]".repeat(20))],
  ])("%s nested 20 deep is refused at a depth limit of 10, accepted at 20", (ctype, body) => {
    expect(() => deserialize(body, ctype, "utf-8", ALL, { maxMessageSize: null, maxNestingDepth: 10 })).toThrow(MessageLimitError);
    expect(() => deserialize(body, ctype, "utf-8", ALL, { maxMessageSize: null, maxNestingDepth: 20 })).not.toThrow();
  });

  test("JSON nested far past the stack is refused as too deep, not a crash", () => {
    const body = Buffer.from("[".repeat(200_000) + "]".repeat(200_000));
    expect(() => deserialize(body, "application/json", "utf-8", ALL, { maxMessageSize: null, maxNestingDepth: 1000 })).toThrow(MessageLimitError);
  });

  // kombu/serialization.py SerializerRegistry.loads calls the registered decoder for the content type
  // and only uses content_encoding when there is none: loads(b'[1, 2]', 'application/json', 'base64',
  // accept=['application/json']) == [1, 2] under kombu 5.2 and 5.7
  test("celery-ts's content-encoding label base64 on a JSON body is ignored, as kombu's loads does", () => {
    expect(deserialize(Buffer.from("[1, 2]"), "application/json", "base64", ALL)).toEqual([1, 2]);
  });
});
