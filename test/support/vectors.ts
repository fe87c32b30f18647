/**
 * Golden vectors captured from real Celery, copied unchanged into test/fixtures/vectors (origin:
 * its SOURCE.md; format: its _producers/README.md). Files are parsed with `pyJsonLoads` so Python's big
 * integers stay exact (`bigint`).
 */
import * as fs from "fs";
import * as path from "path";
import type { RawMessage, WireValue } from "../../src/protocol/message";
import { pyJsonLoads } from "../../src/protocol/serializers/json";

export const VECTORS_DIR = path.resolve(__dirname, "..", "fixtures", "vectors");

export type WireObject = { [key: string]: WireValue };

export interface Vector {
  name: string;
  description: string;
  transport: string;
  raw: WireValue;
  decoded: WireValue;
  [key: string]: WireValue;
}

const cache = new Map<string, Vector>();

export function loadVector(name: string): Vector {
  const base = name.endsWith(".json") ? name.slice(0, -5) : name;
  let v = cache.get(base);
  if (!v) {
    const parsed = pyJsonLoads(fs.readFileSync(path.join(VECTORS_DIR, `${base}.json`), "utf8")) as WireObject;
    v = { ...parsed, name: base } as Vector;
    cache.set(base, v);
  }
  return v;
}

export function vectorNames(prefix = ""): string[] {
  return fs
    .readdirSync(VECTORS_DIR)
    .filter((f) => f.endsWith(".json") && f.startsWith(prefix))
    .map((f) => f.slice(0, -5))
    .sort();
}

export function allVectors(): Vector[] {
  return vectorNames().map(loadVector);
}

/** Converts `{"$bytes_base64": …}`, `{"$python_datetime": …}` markers; `$python_repr` stays. */
export function fromMarkers(value: WireValue): WireValue {
  if (Array.isArray(value)) return value.map(fromMarkers);
  if (value && typeof value === "object" && !(value instanceof Date) && !Buffer.isBuffer(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const v = value[keys[0]];
      if (keys[0] === "$bytes_base64" && typeof v === "string") return Buffer.from(v, "base64");
      if (keys[0] === "$python_datetime" && typeof v === "string") return new Date(v.endsWith("Z") || /[+-]\d\d:\d\d$/.test(v) ? v : `${v}Z`);
    }
    const out: WireObject = {};
    for (const k of keys) out[k] = fromMarkers(value[k]);
    return out;
  }
  return value;
}

function asObject(v: WireValue | undefined): WireObject {
  if (!v || typeof v !== "object" || Array.isArray(v) || v instanceof Date || Buffer.isBuffer(v)) {
    throw new Error(`expected an object, got ${String(v)}`);
  }
  return v;
}

/** A kombu Redis envelope (JSON text) → RawMessage. Accepts the `unacked` `[envelope, ex, rk]` form. */
export function redisEnvelopeToRaw(text: string): RawMessage {
  let parsed = pyJsonLoads(text);
  if (Array.isArray(parsed)) parsed = parsed[0];
  const env = asObject(parsed);
  const properties = asObject(env.properties);
  const bodyText = env.body as string;
  const body = properties.body_encoding === "base64" ? Buffer.from(bodyText, "base64") : Buffer.from(bodyText, "utf8");
  return {
    body,
    contentType: env["content-type"] as string,
    contentEncoding: env["content-encoding"] as string,
    headers: asObject(env.headers ?? {}),
    properties,
  };
}

/** An AMQP capture `{body_base64, properties, headers}` → RawMessage. */
export function amqpCaptureToRaw(raw: WireValue): RawMessage {
  const r = asObject(raw);
  const props = { ...asObject(r.properties) };
  const contentType = (props.content_type as string) ?? "application/data";
  const contentEncoding = (props.content_encoding as string) ?? "binary";
  delete props.content_type;
  delete props.content_encoding;
  return {
    body: Buffer.from(r.body_base64 as string, "base64"),
    contentType,
    contentEncoding,
    headers: asObject(r.headers ?? {}),
    properties: props,
  };
}

/** Every message of a redis-/amqp-/event-/pidbox-/backend-rpc vector as RawMessages, with its `decoded` entry. */
export function messagesOf(v: Vector): { raw: RawMessage; decoded: WireObject }[] {
  const raws = Array.isArray(v.raw) && v.transport !== "backend-redis" ? v.raw : [v.raw];
  const decs = Array.isArray(v.raw) ? (v.decoded as WireValue[]) : [v.decoded];
  return raws.map((r, i) => ({
    raw: typeof r === "string" ? redisEnvelopeToRaw(r) : amqpCaptureToRaw(r),
    decoded: asObject(decs[i]),
  }));
}

/**
 * loadVector untyped, for the transport and backend tests that read a vector's transport-specific
 * fields (raw Redis keys, envelopes, bindings) straight from the capture.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadLooseVector(name: string): any {
  return loadVector(name);
}
