/**
 * Python-compatible JSON.
 *
 * `pyJsonDumps` produces exactly what Python's `json.dumps(obj)` (default arguments) produces for
 * the equivalent Python value, as used by kombu for message bodies, the Redis envelope and
 * result metas. Non-JSON JS values follow kombu:
 *   - Date   → kombu 5.2 string: UTC isoformat ending in `Z` (`"2024-01-02T03:04:05.123000Z"`,
 *              no fraction when the milliseconds are 0, like Python). Both 5.2 and 5.3+ accept it.
 *   - Buffer → kombu 5.3 envelope `{"__type__": "bytes", "__value__": "<utf-8 text>"}` when the
 *              bytes are valid UTF-8, else `{"__type__": "base64", "__value__": "<base64>"}`.
 *              (kombu 5.2 cannot send bytes in JSON at all; 5.3+ decodes these to `bytes`, a 5.2
 *              receiver sees the plain dict.)
 *   - bigint → integer digits; NaN/±Infinity → bare `NaN`/`Infinity`/`-Infinity` tokens.
 *   - numbers: integral values print as Python ints, others as Python `repr(float)`.
 *
 * `pyJsonLoads` parses Python's output: bare NaN/Infinity tokens, integers beyond ±(2^53−1) as
 * exact `bigint`, and kombu ≥ 5.3 `{"__type__", "__value__"}` envelopes.
 * Known loss: JS cannot tell `1.0` from `1`, so a Python float with an integral value comes back
 * as a number that `pyJsonDumps` writes as `1`.
 */
import type { WireObject, WireValue } from "../message";
import { kombu52DatetimeString, parseIsoDatetime } from "../isotime";
import { assertNestingDepth, tooDeep } from "../limits";

// ---------------------------------------------------------------------------------------------
// dumps

// Python's ESCAPE_ASCII: `\\`, `"` and anything outside printable ASCII (0x20..0x7e).
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\\"\u0000-\u001f\u007f-\uffff]/;
// eslint-disable-next-line no-control-regex
const ESCAPE_ALL = /[\\"\u0000-\u001f\u007f-\uffff]/g;
const SHORT_ESCAPES: { [ch: string]: string } = {
  "\\": "\\\\",
  '"': '\\"',
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

function escapeChar(ch: string): string {
  const short = SHORT_ESCAPES[ch];
  if (short !== undefined) return short;
  return "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0");
}

/** Python `json.dumps(str)` with `ensure_ascii=True`. */
export function pyJsonString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  return `"${s.replace(ESCAPE_ALL, escapeChar)}"`;
}

/** Python `repr(float)` for a finite, non-integral (or any finite) double. */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (n === Infinity) return "inf";
  if (n === -Infinity) return "-inf";
  if (n === 0) return Object.is(n, -0) ? "-0.0" : "0.0";
  // Shortest round-trip digits, as both Python and JS use.
  const [mant, expStr] = n.toExponential().split("e");
  const exp = Number(expStr);
  const negative = mant.startsWith("-");
  const digits = mant.replace("-", "").replace(".", "");
  const sign = negative ? "-" : "";
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${e < 10 ? "0" : ""}${e}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const intLen = exp + 1;
  if (digits.length <= intLen) return `${sign}${digits}${"0".repeat(intLen - digits.length)}.0`;
  return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
}

/**
 * Marks a number that must be written as a Python float even when integral (`2.0`, not `2`),
 * e.g. event `freq`/`timestamp`. Accepted by `pyJsonDumps` and `pyRepr`.
 */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Shorthand for `new PyFloat(n)`. */
export function pyFloat(n: number): PyFloat {
  return new PyFloat(n);
}

function dumpNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  // JS has no int/float split: integral values below 1e16 are written as Python ints. Larger
  // integral doubles are almost always floats (exact big integers arrive as bigint), so they use
  // Python's float repr (`1e+16`, `1.8446744073709552e+19`).
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n === 0 ? 0 : n);
  return pyFloatRepr(n);
}

function isValidUtf8(buf: Buffer): boolean {
  return Buffer.from(buf.toString("utf8"), "utf8").equals(buf);
}

/** kombu ≥ 5.3 envelope for bytes. */
export function bytesEnvelope(buf: Buffer): { __type__: string; __value__: string } {
  return isValidUtf8(buf)
    ? { __type__: "bytes", __value__: buf.toString("utf8") }
    : { __type__: "base64", __value__: buf.toString("base64") };
}

/**
 * Depth below which `dump` keeps no record of the objects it is inside: a cycle is still caught,
 * once the walk goes past this depth (within twice the cycle's length), with the same error.
 */
const CYCLE_CHECK_DEPTH = 32;

/**
 * Appends the JSON text of `value` to `out` (the parts are joined once by pyJsonDumps: no
 * intermediate string per container, no cons-string per key).
 */
function dump(value: unknown, depth: number, path: Set<object> | null, out: string[]): void {
  switch (typeof value) {
    case "string":
      out.push(pyJsonString(value));
      return;
    case "number":
      out.push(dumpNumber(value));
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "bigint":
      out.push(value.toString());
      return;
    case "undefined":
      out.push("null");
      return;
    case "object":
      break;
    default:
      throw new TypeError(`Object of type ${typeof value} is not JSON serializable`);
  }
  if (value === null) {
    out.push("null");
    return;
  }
  if (value instanceof PyFloat) {
    out.push(Number.isFinite(value.value) ? pyFloatRepr(value.value) : dumpNumber(value.value));
    return;
  }
  if (value instanceof Date) {
    out.push(pyJsonString(kombu52DatetimeString(value)));
    return;
  }
  if (Buffer.isBuffer(value)) return dump(bytesEnvelope(value), depth, path, out);
  if (value instanceof Uint8Array) return dump(bytesEnvelope(Buffer.from(value)), depth, path, out);
  if (depth < CYCLE_CHECK_DEPTH) return dumpContainer(value, depth, path, out);
  const inside = path ?? new Set<object>();
  if (inside.has(value)) throw new TypeError("Circular reference detected");
  inside.add(value);
  try {
    dumpContainer(value, depth, inside, out);
  } finally {
    inside.delete(value);
  }
}

function dumpContainer(value: object, depth: number, path: Set<object> | null, out: string[]): void {
  const next = depth + 1;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push("[]");
      return;
    }
    out.push("[");
    dump(value[0], next, path, out);
    for (let i = 1; i < value.length; i++) {
      out.push(", ");
      dump(value[i], next, path, out);
    }
    out.push("]");
    return;
  }
  if (value instanceof Map) {
    let first = true;
    for (const [k, v] of value) {
      if (v === undefined) continue;
      out.push(first ? "{" : ", ", pyJsonString(String(k)), ": ");
      first = false;
      dump(v, next, path, out);
    }
    out.push(first ? "{}" : "}");
    return;
  }
  if (value instanceof Set) return dump([...value], next, path, out);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return dump(toJSON.call(value), next, path, out);
  let first = true;
  for (const key of Object.keys(value)) {
    const v = (value as { [k: string]: unknown })[key];
    if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
    out.push(first ? "{" : ", ", pyJsonString(key), ": ");
    first = false;
    dump(v, next, path, out);
  }
  out.push(first ? "{}" : "}");
}

/** Byte-identical to Python `json.dumps(value)` for the equivalent Python value (see top). */
export function pyJsonDumps(value: unknown): string {
  const out: string[] = [];
  dump(value, 0, null, out);
  return out.length === 1 ? out[0] : out.join("");
}

// ---------------------------------------------------------------------------------------------
// loads

const UUID_HEX = /^[0-9a-fA-F]{32}$/;

function canonicalUuid(hex: string): string {
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Converts a kombu ≥ 5.3 `{"__type__", "__value__"}` envelope; returns `undefined` for an unknown
 * or malformed one (the caller then keeps the object as is).
 */
export function decodeKombuEnvelope(type: WireValue, value: WireValue): WireValue | undefined {
  switch (type) {
    case "datetime": {
      if (typeof value !== "string") return undefined;
      return parseIsoDatetime(value) ?? undefined;
    }
    case "date":
    case "time":
    case "decimal":
      return typeof value === "string" ? value : undefined;
    case "uuid": {
      const hex =
        typeof value === "string"
          ? value.replace(/-/g, "")
          : value && typeof value === "object" && !Array.isArray(value) && !(value instanceof Date) && !Buffer.isBuffer(value)
            ? (value).hex
            : undefined;
      return typeof hex === "string" && UUID_HEX.test(hex) ? canonicalUuid(hex) : undefined;
    }
    case "bytes":
      return typeof value === "string" ? Buffer.from(value, "utf8") : undefined;
    case "base64":
      return typeof value === "string" ? Buffer.from(value, "base64") : undefined;
    default:
      return undefined;
  }
}

function isEnvelope(obj: WireObject): boolean {
  let n = 0;
  for (const k in obj) {
    if (k !== "__type__" && k !== "__value__") return false;
    n++;
  }
  return n === 2;
}

function reviveEnvelopes(v: WireValue): WireValue {
  if (v === null || typeof v !== "object" || v instanceof Date || Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = reviveEnvelopes(v[i]);
    return v;
  }
  for (const k of Object.keys(v)) v[k] = reviveEnvelopes(v[k]);
  if (isEnvelope(v)) {
    const decoded = decodeKombuEnvelope(v.__type__, v.__value__);
    if (decoded !== undefined) return decoded;
  }
  return v;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  fail(what: string): never {
    throw new SyntaxError(`${what} at position ${this.i} in JSON`);
  }

  ws(): void {
    const s = this.s;
    let c = s.charCodeAt(this.i);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = s.charCodeAt(++this.i);
  }

  parseDocument(): WireValue {
    this.ws();
    const v = this.value();
    this.ws();
    if (this.i !== this.s.length) this.fail("Extra data");
    return v;
  }

  value(): WireValue {
    const s = this.s;
    const c = s[this.i];
    switch (c) {
      case "{":
        return this.object();
      case "[":
        return this.array();
      case '"':
        return this.string();
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "n":
        return this.literal("null", null);
      case "N":
        return this.literal("NaN", NaN);
      case "I":
        return this.literal("Infinity", Infinity);
      case "-":
        if (s.startsWith("-Infinity", this.i)) return this.literal("-Infinity", -Infinity);
        return this.number();
      default:
        if (c !== undefined && c >= "0" && c <= "9") return this.number();
        return this.fail("Expecting value");
    }
  }

  literal<T extends WireValue>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.i)) this.fail("Expecting value");
    this.i += word.length;
    return v;
  }

  number(): number | bigint {
    const s = this.s;
    const start = this.i;
    const m = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    m.lastIndex = start;
    const r = m.exec(s);
    if (!r) return this.fail("Expecting value");
    this.i = m.lastIndex;
    const text = r[0];
    if (r[1] === undefined && r[2] === undefined && text.length > 15) {
      const big = BigInt(text);
      if (big > MAX_SAFE || big < MIN_SAFE) return big;
    }
    return Number(text);
  }

  string(): string {
    const s = this.s;
    const start = ++this.i;
    const end = s.indexOf('"', start);
    if (end < 0) this.fail("Unterminated string");
    const chunk = s.slice(start, end);
    // eslint-disable-next-line no-control-regex -- JSON forbids raw control characters in strings: this finds them
    if (chunk.indexOf("\\") < 0 && !/[\u0000-\u001f]/.test(chunk)) {
      this.i = end + 1;
      return chunk;
    }
    // Slow path: let JSON.parse handle escapes for the whole string literal.
    let j = start;
    for (;;) {
      const c = s.charCodeAt(j);
      if (Number.isNaN(c)) this.fail("Unterminated string");
      if (c === 0x5c) j += 2;
      else if (c === 0x22) break;
      else j++;
    }
    this.i = j + 1;
    try {
      return JSON.parse(s.slice(start - 1, j + 1)) as string;
    } catch {
      return this.fail("Invalid string");
    }
  }

  array(): WireValue[] {
    this.i++;
    const out: WireValue[] = [];
    this.ws();
    if (this.s[this.i] === "]") {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === "]") return out;
      if (c !== ",") this.fail("Expecting ',' delimiter");
    }
  }

  object(): WireObject {
    this.i++;
    const out: WireObject = {};
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail("Expecting property name enclosed in double quotes");
      const key = this.string();
      this.ws();
      if (this.s[this.i++] !== ":") this.fail("Expecting ':' delimiter");
      this.ws();
      const v = this.value();
      if (key === "__proto__") {
        Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      } else {
        out[key] = v;
      }
      this.ws();
      const c = this.s[this.i++];
      if (c === "}") return out;
      if (c !== ",") this.fail("Expecting ',' delimiter");
    }
  }
}

/** Text only the Python parser reads exactly: NaN/Infinity tokens, integers past 2^53 (16+ digits). */
const NEEDS_SLOW_PATH = /NaN|Infinity|\d{16}/;

/** What `survey` found in a JSON.parse result. */
const UNSAFE_INTEGER = 1;
const KOMBU_TYPE = 2;
const TOO_DEEP_TO_SURVEY = 4;
/** Containers nested deeper than this are left to the iterative check of the slow path. */
const SURVEY_DEPTH = 128;

/**
 * One recursive pass over what JSON.parse returned (depth = nesting of containers, the root 1):
 * an integral number past ±(2^53−1) (JSON.parse rounded a Python int: the Python parser must
 * read the text again), a `__type__` key (a kombu envelope to revive), nesting past `max`
 * (throws MessageLimitError) or past SURVEY_DEPTH (the caller falls back to the iterative check).
 */
function survey(v: WireValue, depth: number, max: number): number {
  if (typeof v === "number") return Number.isInteger(v) && !Number.isSafeInteger(v) ? UNSAFE_INTEGER : 0;
  if (typeof v !== "object" || v === null) return 0;
  if (depth > max) throw tooDeep(max);
  if (depth > SURVEY_DEPTH) return TOO_DEEP_TO_SURVEY;
  let found = 0;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      found |= survey(v[i], depth + 1, max);
      if (found & (UNSAFE_INTEGER | TOO_DEEP_TO_SURVEY)) return found;
    }
    return found;
  }
  const obj = v as WireObject;
  if (obj.__type__ !== undefined) found = KOMBU_TYPE;
  for (const k in obj) {
    found |= survey(obj[k], depth + 1, max);
    if (found & (UNSAFE_INTEGER | TOO_DEEP_TO_SURVEY)) return found;
  }
  return found;
}

/** The Python parser when the text needs it (else JSON.parse), the iterative depth check, envelopes revived. */
function loadsSlowly(s: string, maxDepth: number | null): WireValue {
  const v: WireValue = NEEDS_SLOW_PATH.test(s) ? new Parser(s).parseDocument() : (JSON.parse(s) as WireValue);
  assertNestingDepth(v, maxDepth);
  return s.includes('"__type__"') ? reviveEnvelopes(v) : v;
}

/**
 * Parses JSON as Python's `json.loads` (plus kombu ≥ 5.3 type envelopes) would, mapped to
 * `WireValue`: NaN/Infinity tokens accepted, big integers exact as `bigint`, envelopes decoded
 * (datetime → Date, date/time/decimal → string, uuid → canonical string, bytes/base64 → Buffer;
 * unknown envelopes are left as plain objects). Every key is an own property (`__proto__` too).
 * `maxDepth` bounds nesting (checked before any recursive walk; MessageLimitError).
 *
 * Fast path: JSON.parse, then one bounded pass over the value; the text goes to the Python parser
 * only when JSON.parse refuses it (NaN/Infinity) or rounded an integer.
 */
export function pyJsonLoads(text: string | Buffer, maxDepth: number | null = null): WireValue {
  const s = typeof text === "string" ? text : text.toString("utf8");
  let v: WireValue;
  try {
    v = JSON.parse(s) as WireValue;
  } catch (err) {
    if (!NEEDS_SLOW_PATH.test(s)) throw err;
    return loadsSlowly(s, maxDepth);
  }
  const found = survey(v, 1, maxDepth ?? Infinity);
  if (found & (UNSAFE_INTEGER | TOO_DEEP_TO_SURVEY)) return loadsSlowly(s, maxDepth);
  return found & KOMBU_TYPE ? reviveEnvelopes(v) : v;
}
