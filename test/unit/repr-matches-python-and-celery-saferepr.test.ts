import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { argsRepr, kwargsRepr, PyTuple, pyRepr, safeRepr } from "../../src/protocol/repr";
import { pyJsonLoads } from "../../src/protocol/serializers/json";
import type { WireValue } from "../../src/protocol/message";
import { loadVector, messagesOf, vectorNames } from "../support/vectors";

interface Cases {
  floats: { value: number; repr: string }[];
  strings: { value: string; repr: string }[];
  structures: { value: WireValue; repr: string; argsrepr: string | null; kwargsrepr: string | null; saferepr: string }[];
  tuples: { value: WireValue[]; repr: string; argsrepr: string }[];
}
const cases = pyJsonLoads(
  fs.readFileSync(path.join(__dirname, "../fixtures/python-codec-cases.json"), "utf8"),
) as unknown as Cases;

describe("pyRepr equals Python repr()", () => {
  test.each(cases.floats.map((c) => [c.repr, c.value]))("float %s", (repr, value) => {
    expect(pyRepr(value)).toBe(repr);
  });
  test.each(cases.strings.map((c) => [c.repr, c.value]))("string %s", (repr, value) => {
    expect(pyRepr(value)).toBe(repr);
  });
  test.each(cases.structures.map((c, i) => [i, c.value, c.repr]))("structure #%d", (_i, value, repr) => {
    expect(pyRepr(value)).toBe(repr);
  });
  test.each(cases.tuples.map((c) => [c.repr, c.value]))("tuple %s", (repr, value) => {
    expect(pyRepr(new PyTuple(value))).toBe(repr);
  });
  test("bytes and datetimes", () => {
    const want = JSON.parse(
      execFileSync(
        "/usr/bin/python3",
        ["-c", "import json\nfrom datetime import datetime, timezone\nprint(json.dumps([repr(bytes([0xff, 0x27, 0x41])), repr(datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=timezone.utc)), repr(datetime(2024, 1, 2, 3, 4, tzinfo=timezone.utc))]))"],
        { encoding: "utf8" },
      ),
    ) as string[];
    expect([pyRepr(Buffer.from([0xff, 0x27, 0x41])), pyRepr(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))), pyRepr(new Date(Date.UTC(2024, 0, 2, 3, 4)))]).toEqual(want);
    expect(want[0]).toBe("b\"\\xff'A\"");
  });
});

describe("argsRepr/kwargsRepr/safeRepr equal Celery's saferepr(…, 1024)", () => {
  test.each(cases.tuples.map((c) => [c.argsrepr, c.value]))("args %s", (expected, value) => {
    expect(argsRepr(value)).toBe(expected);
  });
  test.each(cases.structures.map((c, i) => [i, c]))("structure #%d", (_i, c) => {
    expect(safeRepr(c.value)).toBe(c.saferepr);
    if (c.argsrepr !== null) expect(argsRepr(c.value as WireValue[])).toBe(c.argsrepr);
    if (c.kwargsrepr !== null) expect(kwargsRepr(c.value as { [k: string]: WireValue })).toBe(c.kwargsrepr);
  });

  // Left out up front (each would check nothing): a vector without a raw message, argsrepr given explicitly by
  // the caller (options-misc), a tuple held inside a signature (chord-unlock), and argsreprs of Python objects
  // (datetime/Decimal/UUID), which are not wire data. Every message of the remaining vectors is checked.
  const pythonObjectRepr = /datetime|Decimal|UUID/;
  const taskVectors = vectorNames().filter((n) => {
    if (!/^(redis|amqp)-/.test(n) || /pickle|protocol-v1|beat|handmade|options-misc|chord-unlock/.test(n)) return false;
    const v = loadVector(n);
    if (v.raw === null) return false;
    return !messagesOf(v).some(({ raw }) => typeof raw.headers.argsrepr === "string" && pythonObjectRepr.test(raw.headers.argsrepr));
  });
  test.each(taskVectors)("%s argsrepr/kwargsrepr are reproduced from the decoded body", (name) => {
    const messages = messagesOf(loadVector(name));
    expect(messages.length).toBeGreaterThan(0);
    for (const { raw, decoded } of messages) {
      const body = decoded.body as WireValue[];
      expect(Array.isArray(body)).toBe(true);
      const argsrepr = raw.headers.argsrepr;
      if (typeof argsrepr !== "string") throw new Error(`${name}: message without an argsrepr header`);
      // Python's apply_async(args=[…]) keeps a list, delay(…) a tuple.
      const args = argsrepr.startsWith("[") ? body[0] : new PyTuple(body[0] as WireValue[]);
      expect(safeRepr(args)).toBe(argsrepr);
      expect(kwargsRepr(body[1] as { [k: string]: WireValue })).toBe(raw.headers.kwargsrepr);
    }
  });
});

describe("argsrepr/kwargsrepr of flat scalars take a direct path with saferepr's exact output", () => {
  const tuples: unknown[][] = [
    [],
    [0],
    [0, 0],
    [1.5, -0, NaN, Infinity, -Infinity, true, false, null, undefined, 1e16, 2 ** 53, -7],
    Array.from({ length: 16 }, (_, i) => i * 1000003),
    Array.from({ length: 17 }, (_, i) => i),
  ];
  test.each(tuples.map((t) => [JSON.stringify(t), t]))("%s", (_label, args) => {
    for (const maxlen of [null, 1024, 40, 12, 3]) {
      expect(argsRepr(args, maxlen)).toBe(safeRepr(new PyTuple(args), maxlen));
    }
  });
  test("an empty plain object is {}; other objects take saferepr", () => {
    expect(kwargsRepr({})).toBe(safeRepr({}));
    expect(kwargsRepr({})).toBe("{}");
    const bare = Object.create(null) as { [k: string]: unknown };
    expect(kwargsRepr(bare)).toBe(safeRepr(bare));
    expect(kwargsRepr({ a: undefined })).toBe(safeRepr({ a: undefined }));
    expect(kwargsRepr(null as unknown as { [k: string]: unknown })).toBe("None");
  });
});
