/**
 * Golden vectors captured from real Celery, copied unchanged into test/fixtures/vectors (origin:
 * its SOURCE.md; format: its _producers/README.md). Files are parsed with `pyJsonLoads` so Python's big
 * integers stay exact (`bigint`).
 */
import * as fs from "fs";
import * as path from "path";
import { inspect } from "util";
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
    throw new Error(`expected an object, got ${inspect(v)}`);
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
 * loadVector with the transport-specific fields (raw Redis keys, envelopes, bindings, broker state) that the
 * transport and backend tests read straight from the capture; the caller names the shape it reads (`T`).
 */
export function loadLooseVector<T extends object>(name: string): T {
  return loadVector(name) as unknown as T;
}

/** A Redis transport capture: `raw` is the envelope text kombu wrote (or the `unacked` hash value). */
export interface RedisVector {
  raw: string;
  decoded?: { entry: WireValue[] };
  redis_key: string[];
  redis_keys_after: { [key: string]: { value: unknown } };
  hash_field: string;
}

/** A kombu Redis envelope as JSON.parse reads it. */
export type KombuEnvelope = {
  body: string;
  "content-type": string;
  "content-encoding": string;
  headers: { [key: string]: WireValue };
  properties: {
    delivery_tag: string;
    delivery_info: { exchange: string; routing_key: string; redelivered?: boolean };
    priority?: number;
    correlation_id?: string;
    reply_to?: string;
    [key: string]: unknown;
  };
};

/** JSON.parse of a kombu Redis envelope's text. */
export function parseEnvelope(text: string): KombuEnvelope {
  return JSON.parse(text) as KombuEnvelope;
}
