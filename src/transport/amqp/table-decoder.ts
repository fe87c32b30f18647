/**
 * A field-table decoder for amqplib that also reads py-amqp's `L` tag (docs/protocol.md §6.3, A6)
 * and gives plain values, so a delivered header table needs no second pass.
 *
 * py-amqp writes Python ints outside signed 32-bit with tag `L` (signed 64-bit). amqplib 0.10
 * does not know `L` and throws "Unexpected type tag L" while parsing the content header — the
 * whole connection fails, and after a reconnect the same message fails it again. We install our
 * own decoder as amqplib's `codec.decodeFields` BEFORE amqplib's protocol definitions load (they
 * capture the function once); `installTableDecoder()` must therefore run before the first
 * `require("amqplib")` of the process: connection.ts calls it before importing amqplib, so it runs
 * when the AMQP transport is first loaded (an app's first AMQP connection), and a Redis app loads
 * nothing of amqplib. When the program loaded amqplib before that, the install is skipped and
 * `tableDecoderInstalled()` is false (header-types.ts then unwraps amqplib's own shapes, and a
 * py-amqp `L` value fails as it does in amqplib).
 *
 * Values come out as header-types.ts's `decodeFieldValue` would make them of amqplib's: `T` a
 * Date, `D` a number (digits signed 32-bit), `x` a Buffer (a copy), `l`/`L` a number, or a bigint
 * beyond ±2^53 (exact), `V` null. Keys are kept in a small cache: a header table repeats the same
 * keys in every message, and an interned key makes the property store cheap.
 */
import type { WireObject, WireValue } from "../../protocol/message";

/** Where the value being read starts (decoding is synchronous: one position for the module). */
let at = 0;

/** Malformed input: the same kind of error Buffer's own readers throw. */
function truncated(): never {
  throw new RangeError("AMQP field table truncated");
}

/** `v`, read at `at`, was `size` bytes: move past it. */
function skip<T>(v: T, size: number): T {
  at += size;
  return v;
}

function u32(buf: Buffer): number {
  if (at + 4 > buf.length) truncated();
  return skip(buf[at] * 0x1000000 + ((buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]), 4);
}

/** Keys by length, first and last byte (the first key seen for each; bounded). */
const keyCache = new Map<number, { bytes: Buffer; key: string }>();
const KEY_CACHE_MAX = 4096;

function key(buf: Buffer, len: number): string {
  const start = at;
  const end = start + len;
  if (end > buf.length) truncated();
  at = end;
  if (len === 0) return "";
  const slot = (len << 16) | (buf[start] << 8) | buf[end - 1];
  const hit = keyCache.get(slot);
  if (hit !== undefined) {
    const b = hit.bytes;
    let i = 1;
    while (i < len && b[i] === buf[start + i]) i++;
    if (i >= len) return hit.key;
  }
  const k = buf.toString("utf8", start, end);
  if (hit === undefined && keyCache.size < KEY_CACHE_MAX) keyCache.set(slot, { bytes: Buffer.from(buf.subarray(start, end)), key: k });
  return k;
}

function value(buf: Buffer): WireValue {
  if (at >= buf.length) truncated();
  const tag = buf[at++];
  switch (tag) {
    case 0x53: {
      // S: long string
      const len = u32(buf);
      if (at + len > buf.length) truncated();
      return skip(buf.toString("utf8", at, at + len), len);
    }
    case 0x49: // I: int32
      return skip(buf.readInt32BE(at), 4);
    case 0x56: // V: void
      return null;
    case 0x74: // t: boolean
      if (at >= buf.length) truncated();
      return buf[at++] !== 0;
    case 0x41: {
      // A: array
      const len = u32(buf);
      const end = at + len;
      if (end > buf.length) truncated();
      const items: WireValue[] = [];
      while (at < end) items.push(value(buf));
      return items;
    }
    case 0x46: {
      // F: nested table
      const len = u32(buf);
      const end = at + len;
      if (end > buf.length) truncated();
      return table(buf, end);
    }
    case 0x6c: // l: int64 (amqplib, RabbitMQ)
    case 0x4c: {
      // L: int64 (py-amqp)
      const big = skip(buf.readBigInt64BE(at), 8);
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    case 0x64: // d: double
      return skip(buf.readDoubleBE(at), 8);
    case 0x66: // f: float
      return skip(buf.readFloatBE(at), 4);
    case 0x62: // b: int8
      return skip(buf.readInt8(at), 1);
    case 0x42: // B: uint8
      return skip(buf.readUInt8(at), 1);
    case 0x73: // s: int16
      return skip(buf.readInt16BE(at), 2);
    case 0x75: // u: uint16
      return skip(buf.readUInt16BE(at), 2);
    case 0x69: // i: uint32
      return u32(buf);
    case 0x44: {
      // D: decimal (places, signed 32-bit digits)
      const places = buf.readUInt8(at);
      return skip(buf.readInt32BE(at + 1), 5) / 10 ** places;
    }
    case 0x54: {
      // T: timestamp, seconds
      return new Date(Number(skip(buf.readBigUInt64BE(at), 8)) * 1000);
    }
    case 0x78: {
      // x: byte array
      const len = u32(buf);
      if (at + len > buf.length) truncated();
      return skip(Buffer.from(buf.subarray(at, at + len)), len);
    }
    default:
      throw new TypeError(`Unexpected type tag "${String.fromCharCode(tag)}" in an AMQP field table`);
  }
}

function table(buf: Buffer, end: number): WireObject {
  const out: WireObject = {};
  while (at < end) {
    const k = key(buf, buf[at++]);
    const v = value(buf);
    if (k === "__proto__") Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }
  if (at !== end) truncated();
  return out;
}

/** Decode one AMQP field table (the bytes after its 32-bit length) into plain values. */
export function decodeFieldTableBytes(slice: Buffer): WireObject {
  at = 0;
  return table(slice, slice.length);
}

let installed: boolean | null = null;

/** Replace amqplib's table decoder (once per process). Returns whether ours is in effect. */
export function installTableDecoder(): boolean {
  if (installed !== null) return installed;
  let defsPath: string;
  try {
    defsPath = require.resolve("amqplib/lib/defs");
  } catch {
    installed = false;
    return installed;
  }
  if (require.cache[defsPath]) {
    installed = false; // amqplib's definitions already captured the stock decoder
    return installed;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- amqplib's internal module, patched in place (it has no typings to import)
  const codec = require("amqplib/lib/codec") as { decodeFields: (b: Buffer) => unknown };
  codec.decodeFields = decodeFieldTableBytes;
  installed = true;
  return installed;
}

/** True when amqplib decodes tables with ours: a delivered header table is plain values already. */
export function tableDecoderInstalled(): boolean {
  return installed === true;
}
