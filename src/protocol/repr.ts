/**
 * Python `repr()` and Celery's `saferepr()` for wire data.
 *
 * - `pyRepr(value)`: exact Python `repr` of the equivalent Python value (str quoting/escaping,
 *   True/False/None, int/float, dict/list/tuple, bytes, datetime).
 * - `safeRepr(value, maxlen, maxlevels)`: Celery's `celery.utils.saferepr.saferepr`, used for the
 *   `argsrepr`/`kwargsrepr` headers and event fields. Like Celery it does NOT escape strings
 *   (only `'` becomes `\'`), shows containers nested `maxlevels` (3) deep as `{...}`/`[...]`, and
 *   stops after about `maxlen` characters with `, ...` plus the closing brackets (tokens are cut
 *   with Celery's `truncate`: at the last space before the limit, then `...`).
 * - `argsRepr(args)` = saferepr of a Python tuple: `(2, 2)`, `(1,)`, `()`; `kwargsRepr(kwargs)`.
 *
 * JS arrays are Python lists; wrap items in `PyTuple` to get tuple syntax.
 */
import { PyFloat, pyFloatRepr } from "./serializers/json";

/** Marks an array that Python would hold as a tuple. */
export class PyTuple {
  constructor(readonly items: readonly unknown[]) {}
}

const CELERY_REPR_MAXSIZE = 1024;

function numberRepr(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n === 0 ? 0 : n);
  return pyFloatRepr(n);
}

function datetimeRepr(d: Date): string {
  const parts = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()];
  const sec = d.getUTCSeconds();
  const usec = d.getUTCMilliseconds() * 1000;
  if (usec) parts.push(sec, usec);
  else if (sec) parts.push(sec);
  return `datetime.datetime(${parts.join(", ")}, tzinfo=datetime.timezone.utc)`;
}

// Characters Python's str.isprintable() rejects (approximation via Unicode categories).
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's escaping of one str's characters; `quote` (if any) is escaped too. */
function escapePyChars(s: string, quote: string | null): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const code = s.codePointAt(i) as number;
    const ch = String.fromCodePoint(code);
    if (code > 0xffff) i++;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + pad16(code, 2);
    else if (code < 0x7f) out += ch;
    else if ((code >= 0xd800 && code <= 0xdfff) || (code !== 0x20 && NON_PRINTABLE.test(ch))) {
      out += code <= 0xff ? "\\x" + pad16(code, 2) : code <= 0xffff ? "\\u" + pad16(code, 4) : "\\U" + pad16(code, 8);
    } else out += ch;
  }
  return out;
}

/** Python `repr(str)`. */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  return quote + escapePyChars(s, quote) + quote;
}

// eslint-disable-next-line no-control-regex
const NEEDS_LOG_ESCAPE = /[\\\u0000-\u001f\u007f-\uffff]/;

/**
 * A string from the wire (task id, name, shadow, queue, error text quoting them) made safe for a
 * log line: the inside of Python's `repr()` without quotes. Control characters, other
 * non-printables and lone surrogates become `\xNN`/`\uNNNN` escapes and `\` becomes `\\`, so a
 * value can neither start a forged log line nor hide in one. Plain printable text is unchanged.
 */
export function logText(s: string): string {
  return NEEDS_LOG_ESCAPE.test(s) ? escapePyChars(s, null) : s;
}

function pad16(n: number, w: number): string {
  return n.toString(16).padStart(w, "0");
}

/** Python `repr(bytes)`. */
export function pyBytesRepr(b: Uint8Array): string {
  const hasSingle = b.includes(0x27);
  const quote = hasSingle && !b.includes(0x22) ? '"' : "'";
  let out = "b" + quote;
  for (const c of b) {
    if (c === quote.charCodeAt(0) || c === 0x5c) out += "\\" + String.fromCharCode(c);
    else if (c === 0x09) out += "\\t";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c < 0x20 || c >= 0x7f) out += "\\x" + pad16(c, 2);
    else out += String.fromCharCode(c);
  }
  return out + quote;
}

function entriesOf(value: object): [unknown, unknown][] {
  if (value instanceof Map) return [...value.entries()];
  return Object.keys(value)
    .filter((k) => (value as { [k: string]: unknown })[k] !== undefined)
    .map((k) => [k, (value as { [k: string]: unknown })[k]]);
}

function scalarRepr(value: unknown): string | undefined {
  switch (typeof value) {
    case "number":
      return numberRepr(value);
    case "bigint":
      return value.toString();
    case "boolean":
      return value ? "True" : "False";
    case "undefined":
      return "None";
    case "function":
      return `<function ${value.name || "<anonymous>"}>`;
    case "symbol":
      return value.toString();
    default:
      break;
  }
  if (value === null) return "None";
  if (value instanceof PyFloat) return pyFloatRepr(value.value);
  if (value instanceof Date) return datetimeRepr(value);
  return undefined;
}

/** Python's `str(value)`: a string as it is, anything else as its `repr` (not JavaScript's "[object Object]"). */
export function pyStr(value: unknown): string {
  return typeof value === "string" ? value : pyRepr(value);
}

/** Exact Python `repr()` of the equivalent Python value. */
export function pyRepr(value: unknown, seen: Set<object> = new Set()): string {
  if (typeof value === "string") return pyStrRepr(value);
  const scalar = scalarRepr(value);
  if (scalar !== undefined) return scalar;
  const obj = value as object;
  if (obj instanceof Uint8Array) return pyBytesRepr(obj);
  if (seen.has(obj)) return obj instanceof PyTuple ? "(...)" : Array.isArray(obj) ? "[...]" : "{...}";
  seen.add(obj);
  try {
    if (obj instanceof PyTuple) {
      const items = obj.items.map((v) => pyRepr(v, seen));
      return items.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;
    }
    if (Array.isArray(obj)) return `[${obj.map((v) => pyRepr(v, seen)).join(", ")}]`;
    if (obj instanceof Set) return obj.size ? `{${[...obj].map((v) => pyRepr(v, seen)).join(", ")}}` : "set()";
    if (obj instanceof Error) return `${obj.name}(${pyStrRepr(obj.message)})`;
    return `{${entriesOf(obj)
      .map(([k, v]) => `${pyRepr(k, seen)}: ${pyRepr(v, seen)}`)
      .join(", ")}}`;
  } finally {
    seen.delete(obj);
  }
}

// ---------------------------------------------------------------------------------------------
// Celery saferepr

/** celery.utils.text.truncate */
function truncate(s: string, maxlen: number | null): string {
  if (maxlen && s.length >= maxlen) {
    const cut = s.slice(0, maxlen);
    const sp = cut.lastIndexOf(" ");
    return (sp >= 0 ? cut.slice(0, sp) : cut) + "...";
  }
  return s;
}

type Token =
  | { kind: "lit"; value: string; truncate: boolean; dir: number }
  | { kind: "key"; value: unknown }
  | { kind: "quoted"; value: string }
  | { kind: "bytes"; value: Uint8Array }
  | { kind: "text"; value: string };

const SEP: Token = { kind: "lit", value: ", ", truncate: true, dir: 0 };
const KVSEP: Token = { kind: "lit", value: ": ", truncate: true, dir: 0 };

/** A container being streamed: its remaining tokens or values. */
interface Frame {
  items: (Token | { kind: "value"; value: unknown })[];
  pos: number;
  obj: object | null;
}

function containerParts(v: object): { start: string; end: string; items: Frame["items"] } | null {
  const values = (arr: readonly unknown[]): Frame["items"] => {
    const out: Frame["items"] = [];
    arr.forEach((x, i) => {
      out.push({ kind: "value", value: x });
      if (i < arr.length - 1) out.push(SEP);
    });
    return out;
  };
  if (v instanceof PyTuple) return { start: "(", end: v.items.length === 1 ? ",)" : ")", items: values(v.items) };
  if (Array.isArray(v)) return { start: "[", end: "]", items: values(v) };
  if (v instanceof Set) return { start: "{", end: "}", items: values([...v]) };
  if (v instanceof Date || v instanceof Uint8Array) return null;
  const entries = entriesOf(v);
  const items: Frame["items"] = [];
  entries.forEach(([k, x], i) => {
    items.push({ kind: "key", value: k }, KVSEP, { kind: "value", value: x });
    if (i < entries.length - 1) items.push(SEP);
  });
  return { start: "{", end: "}", items };
}

function bytesChars(b: Uint8Array): string {
  const buf = Buffer.from(b);
  const text = buf.toString("utf8");
  return Buffer.from(text, "utf8").equals(buf) ? text : buf.toString("hex");
}

/** Celery's `saferepr(o, maxlen, maxlevels)`; see the file comment. */
export function safeRepr(value: unknown, maxlen: number | null = CELERY_REPR_MAXSIZE, maxlevels = 3): string {
  const out: string[] = [];
  let level = 0;
  const seen = new Set<object>();
  const stack: Frame[] = [{ items: [{ kind: "value", value }], pos: 0, obj: null }];
  let budget = maxlen;
  outer: while (stack.length) {
    const frame = stack[stack.length - 1];
    if (frame.pos >= frame.items.length) {
      stack.pop();
      if (frame.obj) seen.delete(frame.obj);
      continue;
    }
    const item = frame.items[frame.pos++];
    let token: Token;
    if (item.kind === "value") {
      const v = item.value;
      if (typeof v === "string") token = { kind: "quoted", value: v };
      else if (v instanceof Uint8Array) token = { kind: "bytes", value: v };
      else {
        const scalar = scalarRepr(v);
        if (scalar !== undefined) token = { kind: "text", value: scalar };
        else {
          const parts = containerParts(v as object);
          if (!parts) token = { kind: "text", value: pyRepr(v) };
          else if (parts.items.length === 0 && v instanceof Set) token = { kind: "text", value: "set()" };
          else if (maxlevels && level >= maxlevels) token = { kind: "text", value: `${parts.start}...${parts.end}` };
          else if (seen.has(v as object)) token = { kind: "text", value: `<Recursion on ${Array.isArray(v) ? "list" : "dict"}>` };
          else {
            seen.add(v as object);
            stack.push({
              items: [
                { kind: "lit", value: parts.start, truncate: false, dir: 1 },
                ...parts.items,
                { kind: "lit", value: parts.end, truncate: false, dir: -1 },
              ],
              pos: 0,
              obj: v as object,
            });
            continue;
          }
        }
      }
    } else {
      token = item;
    }
    if (token.kind === "lit") level += token.dir;
    if (budget !== null && budget <= 0) {
      // Like Celery, the pending token is dropped; only unvisited closers are emitted below.
      out.push(", ...");
      break outer;
    }
    let val: string;
    switch (token.kind) {
      case "lit":
        val = token.value;
        break;
      case "key":
        val = safeRepr(token.value, budget, maxlevels);
        break;
      case "quoted":
        val = `'${truncate(token.value, budget).replace(/'/g, "\\'")}'`;
        break;
      case "bytes": {
        const b = token.value;
        val = budget && b.length > budget ? `b'${bytesChars(b.subarray(0, budget))}...'` : `b'${bytesChars(b)}'`;
        break;
      }
      default:
        val = truncate(token.value, budget);
    }
    out.push(val);
    if (budget !== null) budget -= val.length;
  }
  // Close every open container (non-truncatable literals still pending).
  for (let i = stack.length - 1; i >= 0; i--) {
    const f = stack[i];
    for (let j = f.pos; j < f.items.length; j++) {
      const it = f.items[j];
      if (it.kind === "lit" && !it.truncate) out.push(it.value);
    }
  }
  return out.join("");
}

/** `argsrepr` header value: saferepr of the args tuple, e.g. `(2, 2)`, `(1,)`, `()`. */
export function argsRepr(args: readonly unknown[], maxlen: number | null = CELERY_REPR_MAXSIZE): string {
  return flatScalarTuple(args, maxlen) ?? safeRepr(new PyTuple(args), maxlen);
}

/**
 * saferepr of a short tuple of numbers, booleans and None, built directly (what safeRepr gives for
 * it, without its token stack; most tasks' args look so); null for anything else or longer.
 */
function flatScalarTuple(args: readonly unknown[], maxlen: number | null): string | null {
  if (args.length > 16) return null;
  let text = "(";
  for (let i = 0; i < args.length; i++) {
    const v = args[i];
    const t = typeof v;
    if (t !== "number" && t !== "boolean" && v !== null && v !== undefined) return null;
    if (i > 0) text += ", ";
    text += scalarRepr(v) as string;
  }
  text += args.length === 1 ? ",)" : ")";
  return maxlen === null || text.length * 2 < maxlen ? text : null;
}

/** `kwargsrepr` header value: saferepr of the kwargs dict, e.g. `{'k': 'v'}`. */
export function kwargsRepr(kwargs: { readonly [k: string]: unknown }, maxlen: number | null = CELERY_REPR_MAXSIZE): string {
  return isEmptyPlainObject(kwargs) ? "{}" : safeRepr(kwargs, maxlen);
}

function isEmptyPlainObject(value: object): boolean {
  // typed as an object, but a JavaScript caller may pass null: saferepr then says None, as before
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key in value) if (Object.prototype.hasOwnProperty.call(value, key)) return false;
  return true;
}
