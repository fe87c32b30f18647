/**
 * msgpack, compatible with Python `msgpack.packb(use_bin_type=True)` / `unpackb(raw=False)` as
 * kombu uses them (docs/protocol.md §4.3).
 *
 * Encoding: integral JS numbers are written as msgpack ints of any width (msgpackr alone would
 * write numbers outside 32 bits as float64, which Python reads as float); bigint → int64/uint64;
 * Buffer → bin; Date → kombu 5.2 style string (`…Z`), since Python's msgpack has no portable
 * datetime; `undefined` object values are skipped. No records extension.
 * Decoding: 64-bit ints become `bigint` only outside ±2^53, bin → Buffer, maps → plain objects
 * (every key an own property, `__proto__` too), timestamps → Date. The document is scanned first
 * (scanMsgpack): any other extension type is refused, nesting is bounded.
 * Known loss: integral floats (`3.0`) come back as numbers and are re-encoded as ints.
 */
import type { Packr, Unpackr } from "msgpackr";
import type { WireObject, WireValue } from "../message";
import { kombu52DatetimeString } from "../isotime";
import { PyFloat } from "./json";
import { scanMsgpack } from "./msgpack-scan";
import { setOwn, UnsupportedValueError } from "./plain";

let codec: { packr: Packr; unpackr: Unpackr } | null = null;
/** msgpackr (with its native extension), loaded on first use: apps that never see msgpack never load it. */
function msgpackr(): { packr: Packr; unpackr: Unpackr } {
  if (!codec) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous load on first use, which `import` cannot express
    const lib = require("msgpackr") as typeof import("msgpackr");
    codec = {
      packr: new lib.Packr({ useRecords: false, variableMapSize: true, moreTypes: false, encodeUndefinedAsNil: true }),
      // Maps as Map: msgpackr's object mode renames a `__proto__` key; normalize() makes plain objects.
      unpackr: new lib.Unpackr({ useRecords: false, mapsAsObjects: false, structuredClone: false, int64AsType: "bigint" }),
    };
  }
  return codec;
}

const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;

function prepare(value: unknown): unknown {
  switch (typeof value) {
    case "number":
      if (Number.isInteger(value) && (value < INT32_MIN || value > UINT32_MAX) && Number.isSafeInteger(value)) {
        return BigInt(value);
      }
      return value;
    case "object": {
      if (value === null || Buffer.isBuffer(value)) return value;
      if (value instanceof PyFloat) return value.value; // integral values are still sent as ints
      if (value instanceof Uint8Array) return Buffer.from(value);
      if (value instanceof Date) return kombu52DatetimeString(value);
      if (Array.isArray(value)) return value.map(prepare);
      if (value instanceof Map) {
        const out: { [k: string]: unknown } = {};
        for (const [k, v] of value) if (v !== undefined) setOwn(out, String(k), prepare(v));
        return out;
      }
      const out: { [k: string]: unknown } = {};
      for (const k of Object.keys(value)) {
        const v = (value as { [k: string]: unknown })[k];
        if (v !== undefined) setOwn(out, k, prepare(v));
      }
      return out;
    }
    default:
      return value;
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function normalize(value: unknown): WireValue {
  if (typeof value === "bigint") {
    return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value;
  }
  if (value === null || typeof value !== "object") {
    if (value === undefined || typeof value === "function" || typeof value === "symbol") {
      throw new UnsupportedValueError(`msgpack decoded to an unsupported ${typeof value}`);
    }
    return value as WireValue;
  }
  if (Buffer.isBuffer(value) || value instanceof Date) return value;
  if (value instanceof Uint8Array && value.constructor === Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = normalize(value[i]);
    return value as WireValue[];
  }
  if (value instanceof Map) {
    const out: WireObject = {};
    for (const [k, v] of value) setOwn(out, String(k), normalize(v));
    return out;
  }
  // The scan admits nothing else; this is the last line of defence (RegExp, Set, typed arrays...).
  throw new UnsupportedValueError(`msgpack decoded to an unsupported ${(value).constructor?.name ?? "object"}`);
}

export function msgpackDumps(value: unknown): Buffer {
  return msgpackr().packr.pack(prepare(value));
}

/** Decodes a msgpack body; `maxDepth` bounds nesting (null: unbounded). Throws UnsupportedValueError / MessageLimitError. */
export function msgpackLoads(body: Buffer, maxDepth: number | null = null): WireValue {
  scanMsgpack(body, maxDepth);
  return normalize(msgpackr().unpackr.unpack(body));
}
