import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { pyFloat, pyJsonDumps, pyJsonLoads } from "../../src/protocol/serializers/json";
import type { WireValue } from "../../src/protocol/message";
import { decompress } from "../../src/protocol/compression";
import { msgpackLoads } from "../../src/protocol/serializers/msgpack";
import { yamlLoads } from "../../src/protocol/serializers/yaml";
import { fromMarkers, loadVector, messagesOf, vectorNames } from "../support/vectors";

interface Cases {
  floats: { value: number; json: string; repr: string }[];
  strings: { value: string; json: string; repr: string }[];
  structures: { value: WireValue; json: string }[];
}
const cases = pyJsonLoads(
  fs.readFileSync(path.join(__dirname, "../fixtures/python-codec-cases.json"), "utf8"),
) as unknown as Cases;

/** Runs `code` with `python` and parses the JSON list of strings it prints. */
function pythonStrings(python: string, code: string): string[] {
  return JSON.parse(execFileSync(python, ["-c", `import json\n${code}`], { encoding: "utf8" })) as string[];
}
const PY52 = "/usr/bin/python3"; // Debian: kombu 5.2
const PY_LATEST = path.resolve(__dirname, "..", "..", "interop-tests", ".venv", "bin", "python"); // kombu 5.3+

describe("pyJsonDumps is byte-identical to Python json.dumps", () => {
  test.each(cases.floats.map((c) => [c.json, c.value]))("float %s", (json, value) => {
    expect(pyJsonDumps(value)).toBe(json);
  });

  test.each(cases.strings.map((c) => [c.json, c.value]))("string %s", (json, value) => {
    expect(pyJsonDumps(value)).toBe(json);
  });

  test.each(cases.structures.map((c, i) => [i, c.value, c.json]))("structure #%d", (_i, value, json) => {
    expect(pyJsonDumps(value)).toBe(json);
  });

  test("redis-delay envelope re-dumps to the exact captured string", () => {
    const raw = loadVector("redis-delay").raw as string;
    expect(pyJsonDumps(pyJsonLoads(raw))).toBe(raw);
  });

  // JS cannot tell 3.0 from 3: Python floats with integral values lose their ".0" (documented loss).
  const dropIntegralFloatZero = (s: string): string => s.replace(/(\d)\.0(?=[,\]}])/g, "$1");

  const redisVectors = vectorNames().filter((n) => {
    const v = loadVector(n);
    if (v.transport === "codec") return false; // kombu 5.3 envelopes decode to Date/Buffer by design
    return typeof v.raw === "string" || (Array.isArray(v.raw) && typeof v.raw[0] === "string");
  });
  test.each(redisVectors)("every raw JSON string in %s re-dumps byte for byte", (name) => {
    const v = loadVector(name);
    const raws = (Array.isArray(v.raw) ? v.raw : [v.raw]) as string[];
    for (const raw of raws) {
      if (typeof raw !== "string") throw new Error(`${name}: raw entry is not a JSON string`);
      expect(pyJsonDumps(pyJsonLoads(raw))).toBe(dropIntegralFloatZero(raw));
    }
  });

  // Pickle bodies are never decoded by celeriac (a worker rejects them), so those vectors are left out up
  // front; every other message's body is checked against the capture, whatever its serializer/compression.
  const bodyVectors = vectorNames().filter(
    (n) => /^(redis|amqp|event|pidbox|backend-rpc)-/.test(n) && !/pickle/.test(n) && loadVector(n).raw !== null,
  );
  test.each(bodyVectors)("every body in %s decodes to the captured value; JSON text re-dumps byte for byte", (name) => {
    const messages = messagesOf(loadVector(name));
    expect(messages.length).toBeGreaterThan(0);
    for (const { raw, decoded } of messages) {
      const compression = raw.headers.compression;
      const body = typeof compression === "string" ? decompress(raw.body, compression) : raw.body;
      switch (raw.contentType) {
        case "application/json": {
          const text = body.toString("utf8");
          expect(pyJsonDumps(pyJsonLoads(text))).toBe(dropIntegralFloatZero(text));
          if (compression !== undefined) expect(pyJsonLoads(text)).toEqual(fromMarkers(decoded.body));
          break;
        }
        case "application/x-msgpack":
          expect(msgpackLoads(body)).toEqual(fromMarkers(decoded.body));
          break;
        case "application/x-yaml":
          expect(yamlLoads(body.toString("utf8"))).toEqual(fromMarkers(decoded.body));
          break;
        default:
          throw new Error(`${name}: no check for content type ${raw.contentType}`);
      }
    }
  });

  test("PyFloat forces Python float syntax for integral values", () => {
    expect(pyJsonDumps({ freq: pyFloat(2), t: pyFloat(1795311747), x: pyFloat(0.5) })).toBe(
      '{"freq": 2.0, "t": 1795311747.0, "x": 0.5}',
    );
  });

  test("2^53+1 survives loads → dumps exactly", () => {
    const text = '{"big": 9007199254740993, "neg": -9007199254740993, "huge": 1180591620717411303424}';
    const v = pyJsonLoads(text) as { [k: string]: WireValue };
    expect(v.big).toBe(9007199254740993n);
    expect(pyJsonDumps(v)).toBe(text);
  });

  test("non-finite floats are written as Python's bare tokens", () => {
    const [want] = pythonStrings(PY52, "print(json.dumps([json.dumps([float('nan'), float('inf'), float('-inf')])]))");
    expect(pyJsonDumps([NaN, Infinity, -Infinity])).toBe(want);
  });

  test("undefined object values are skipped, undefined array items become null", () => {
    expect(pyJsonDumps({ a: 1, b: undefined, c: [undefined] })).toBe('{"a": 1, "c": [null]}');
  });

  test("Date is written like kombu 5.2 (UTC isoformat with Z)", () => {
    // kombu 5.2's kombu.utils.json.dumps of the same aware datetimes
    const want = pythonStrings(
      PY52,
      "from datetime import datetime, timezone\nfrom kombu.utils.json import dumps\n" +
        "print(json.dumps([dumps(datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=timezone.utc)), dumps(datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc))]))",
    );
    expect([pyJsonDumps(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))), pyJsonDumps(new Date(Date.UTC(2024, 0, 2, 3, 4, 5)))]).toEqual(want);
  });

  test("Buffer is written as a kombu 5.3 bytes/base64 envelope", () => {
    // kombu 5.3+'s kombu.utils.json.dumps of b'raw bytes' and b'\xff\x00\x01'
    const want = pythonStrings(PY_LATEST, "from kombu.utils.json import dumps\nprint(json.dumps([dumps(b'raw bytes'), dumps(b'\\xff\\x00\\x01')]))");
    expect([pyJsonDumps(Buffer.from("raw bytes")), pyJsonDumps(Buffer.from([0xff, 0, 1]))]).toEqual(want);
  });

  test("integral numbers are ints, large integral doubles use float repr", () => {
    // Python: json.dumps([0, -0, 42, -7, 2**53 - 1, 1e16, 2.0**64])
    const [want] = pythonStrings(PY52, "print(json.dumps([json.dumps([0, -0, 42, -7, 2**53 - 1, 1e16, 2.0**64])]))");
    expect(pyJsonDumps([0, -0, 42, -7, 2 ** 53 - 1, 1e16, 2 ** 64])).toBe(want);
  });

  test("circular structures throw", () => {
    const a: unknown[] = [];
    a.push(a);
    expect(() => pyJsonDumps(a)).toThrow(/Circular/);
    type Link = { next?: Link };
    const long: Link = {};
    let tail = long;
    for (let i = 0; i < 200; i++) tail = tail.next = {};
    tail.next = long;
    expect(() => pyJsonDumps({ deep: [long] })).toThrow(/Circular/);
    const self = { toJSON: () => self };
    expect(() => pyJsonDumps([self])).toThrow(/Circular/);
    const shared = { x: 1 };
    expect(pyJsonDumps([shared, shared, { a: shared }])).toBe('[{"x": 1}, {"x": 1}, {"a": {"x": 1}}]');
  });
});
