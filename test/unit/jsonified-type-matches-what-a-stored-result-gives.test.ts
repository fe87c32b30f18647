/**
 * `Jsonified<T>` (the type `get()` gives for a task returning `T`) against what the backend's
 * own path gives back: a result stored with `encodeResultMeta` and read with `decodeResultMeta`.
 * Each expected value is declared as `Jsonified<typeof value>`, so the type and the data agree.
 */
import type { Jsonified } from "../../src/client/jsonified";
import { decodeResultMeta, encodeResultMeta } from "../../src/protocol/result-meta";
import type { WireValue } from "../../src/protocol/message";

function roundTrip(value: unknown): WireValue {
  return decodeResultMeta(encodeResultMeta({ status: "SUCCESS", result: value as WireValue, traceback: null, children: [], date_done: null, task_id: "t" })).result;
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

test("a Date arrives as its ISO string, a Buffer as a Buffer, a small bigint as a number", () => {
  const value = { at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 123)), raw: Buffer.from("hi"), big: 7n, huge: 2n ** 64n };
  const expected: Jsonified<typeof value> = { at: "2024-01-02T03:04:05.123000Z", raw: Buffer.from("hi"), big: 7, huge: 2n ** 64n };
  expect(roundTrip(value)).toEqual(expected);
});

test("undefined members are dropped, undefined elements and void become null", () => {
  const value: { a: number; note: string | undefined; list: (number | undefined)[] } = { a: 1, note: undefined, list: [1, undefined] };
  const expected: Jsonified<typeof value> = { a: 1, list: [1, null] };
  expect(roundTrip(value)).toEqual(expected);
  const nothing: Jsonified<void> = null;
  expect(roundTrip(undefined)).toEqual(nothing);
});

test("Map, Set, toJSON and class instances arrive as plain data", () => {
  const value = {
    byName: new Map([["a", new Date(Date.UTC(2024, 0, 1))]]),
    tags: new Set(["x", "y"]),
    custom: { toJSON: () => ({ kind: "custom" }) },
    point: new Point(3, 4),
    tuple: [new Date(Date.UTC(2024, 0, 1)), 1] as const,
  };
  const expected: Jsonified<typeof value> = {
    byName: { a: "2024-01-01T00:00:00Z" },
    tags: ["x", "y"],
    custom: { kind: "custom" },
    point: { x: 3, y: 4 },
    tuple: ["2024-01-01T00:00:00Z", 1],
  };
  expect(roundTrip(value)).toEqual(expected);
});
