/**
 * AMQP field-table values that py-amqp reads back as what was meant (docs/protocol.md §6.3).
 *
 * amqplib picks a tag from a JS number by size: `b` (int8), `s` (int16), `I`, `l`. py-amqp reads
 * `b` as UNSIGNED and `s` as a SHORT STRING, so a header such as `timelimit: [300, 240]` makes
 * py-amqp fail the whole connection (FrameSyntaxError). So every integer is given its tag
 * explicitly, recursively inside arrays and tables:
 *
 *   -2^31 ≤ n < 2^31     → {"!": "int", value: n}    (tag I, signed 32, py-amqp's own choice)
 *   2^31 ≤ n < 2^63      → {"!": "long", value: n}   (tag l; py-amqp reads it unsigned: fine ≥ 0)
 *   n < -2^31            → {"!": "double", value: n} (a negative `l` would read as a huge
 *                                                       unsigned number on py-amqp; a double
 *                                                       keeps the value, as a float)
 *   bigint               → same rules on its value (beyond ±2^63: decimal string)
 *   Date                 → {"!": "timestamp", value: seconds} (tag T; py-amqp → datetime)
 *   PyFloat              → {"!": "double", value: n} (tag d: a Python float even when integral,
 *                                                       as kombu's `expires: time() + timeout`)
 *
 * Decoding undoes amqplib's wrappers: `{"!": "timestamp"}` → Date, `{"!": "decimal"}` → number
 * (digits read as signed 32-bit, which amqplib does not do), any other `{"!": t, value}` → value.
 */
import type { WireObject, WireValue } from "../../protocol/message";
import { PyFloat } from "../../protocol/serializers/json";

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** A value as amqplib's table encoder takes it (tag wrappers included). */
export type AmqpFieldValue = unknown;

/** An explicitly tagged integer for amqplib. */
export function typedInteger(n: number | bigint): AmqpFieldValue {
  if (typeof n === "bigint") {
    if (n >= BigInt(INT32_MIN) && n <= BigInt(INT32_MAX)) return { "!": "int", value: Number(n) };
    if (n > BigInt(INT32_MAX) && n <= INT64_MAX) return { "!": "long", value: Number(n) };
    if (n < BigInt(INT32_MIN) && n >= INT64_MIN) return { "!": "double", value: Number(n) };
    return n.toString();
  }
  if (n >= INT32_MIN && n <= INT32_MAX) return { "!": "int", value: n };
  if (n > INT32_MAX && n < 2 ** 63) return { "!": "long", value: n };
  return { "!": "double", value: n };
}

/** One value → its amqplib form with explicit integer tags. */
export function encodeFieldValue(value: unknown): AmqpFieldValue {
  if (value === null) return null;
  switch (typeof value) {
    case "number":
      if (Number.isInteger(value)) return typedInteger(value);
      return { "!": "double", value }; // floats (and NaN/±Infinity) as IEEE doubles, tag d
    case "bigint":
      return typedInteger(value);
    case "string":
    case "boolean":
      return value;
    case "undefined":
      return undefined; // amqplib skips undefined table entries
    case "object":
      break;
    case "symbol":
    case "function":
      return String(value);
  }
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : encodeFieldValue(v)));
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Date) return { "!": "timestamp", value: Math.floor(value.getTime() / 1000) };
  if (value instanceof PyFloat) return { "!": "double", value: value.value };
  const obj = value as { [k: string]: unknown };
  if (typeof obj["!"] === "string" && "value" in obj && Object.keys(obj).length === 2) {
    return obj; // already tagged by the caller: passed through as is
  }
  return encodeFieldTable(obj);
}

/** A header table (or any field table) with every integer explicitly tagged. */
export function encodeFieldTable(table: { [k: string]: unknown } | undefined | null): { [k: string]: AmqpFieldValue } {
  const out: { [k: string]: AmqpFieldValue } = {};
  if (!table) return out;
  for (const key of Object.keys(table)) {
    const v = table[key];
    if (v === undefined) continue;
    out[key] = encodeFieldValue(v);
  }
  return out;
}

/** One value as amqplib decoded it → a plain WireValue. */
export function decodeFieldValue(value: unknown): WireValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "number":
    case "string":
    case "boolean":
    case "bigint":
      return value;
    case "object":
      break;
    case "symbol":
    case "function":
      return String(value);
  }
  if (Array.isArray(value)) return value.map(decodeFieldValue);
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Date) return value;
  const obj = value as { [k: string]: unknown };
  if (typeof obj["!"] === "string" && "value" in obj) {
    const v = obj.value;
    switch (obj["!"]) {
      case "timestamp":
        return new Date(Number(v) * 1000);
      case "decimal": {
        const d = v as { places: number; digits: number };
        const digits = d.digits >= 0x80000000 ? d.digits - 0x100000000 : d.digits;
        return digits / 10 ** d.places;
      }
      default:
        return decodeFieldValue(v);
    }
  }
  return decodeFieldTable(obj);
}

/** A field table as amqplib decoded it → plain values. */
export function decodeFieldTable(table: { [k: string]: unknown } | undefined | null): WireObject {
  const out: WireObject = {};
  if (!table) return out;
  for (const key of Object.keys(table)) out[key] = decodeFieldValue(table[key]);
  return out;
}
