/**
 * RawMessage ⇄ kombu's Redis envelope (docs/protocol.md §5.1):
 *
 *   {"body": <base64>, "content-encoding": ..., "content-type": ..., "headers": {...},
 *    "properties": {correlation_id, reply_to, <other props>, delivery_mode, [expiration],
 *                   delivery_info: {exchange, routing_key}, priority, body_encoding: "base64",
 *                   delivery_tag: <uuid4>}}
 *
 * written with Python-identical `json.dumps` text, in kombu's key order.
 */
import { randomUUID } from "node:crypto";
import type { RawMessage, TaskProperties, WireObject, WireValue } from "../../protocol/message";
import { pyJsonDumps, pyJsonLoads, pyJsonString } from "../../protocol/serializers/json";
import { logText, safeRepr } from "../../protocol/repr";

/** A message the transport cannot read. `raw` is the text as it was found. */
export class BadEnvelopeError extends Error {
  readonly raw: string;
  constructor(message: string, raw: string) {
    super(message);
    this.name = "BadEnvelopeError";
    this.raw = raw;
  }
}

/** Properties the transport owns; the rest of `RawMessage.properties` is copied through. */
const TRANSPORT_PROPERTIES = new Set(["delivery_info", "priority", "body_encoding", "delivery_tag"]);
/** kombu's Producer adds these after the caller's properties. */
const LATE_PROPERTIES = ["delivery_mode", "expiration"];

export interface EncodedEnvelope {
  /** JSON text to LPUSH / PUBLISH. */
  text: string;
  deliveryTag: string;
  /** `properties.priority` as written (bucket = step of clamp(priority)). */
  priority: number | WireValue;
}

/**
 * Build the envelope text for a publish. Priority: `priority` argument (publish target), else
 * `message.properties.priority`, else 0.
 */
export function encodeEnvelope(
  message: RawMessage,
  exchange: string,
  routingKey: string,
  priority?: number,
  deliveryTag: string = randomUUID(),
): EncodedEnvelope {
  const src = message.properties ?? {};
  const props: { [k: string]: unknown } = {};
  if (src.correlation_id !== undefined) props.correlation_id = src.correlation_id;
  if (src.reply_to !== undefined) props.reply_to = src.reply_to;
  for (const key of Object.keys(src)) {
    if (key === "correlation_id" || key === "reply_to" || TRANSPORT_PROPERTIES.has(key) || LATE_PROPERTIES.includes(key)) continue;
    const v = src[key];
    if (v !== undefined) props[key] = v;
  }
  props.delivery_mode = src.delivery_mode ?? 2;
  if (src.expiration !== undefined) props.expiration = src.expiration;
  props.delivery_info = { exchange, routing_key: routingKey };
  const prio = priority ?? src.priority ?? 0;
  props.priority = prio;
  props.body_encoding = "base64";
  props.delivery_tag = deliveryTag;
  const envelope = {
    body: message.body.toString("base64"),
    "content-encoding": message.contentEncoding,
    "content-type": message.contentType,
    headers: message.headers ?? {},
    properties: props,
  };
  return { text: pyJsonDumps(envelope), deliveryTag, priority: prio };
}

/** What a consumer learns from one envelope. */
export interface DecodedEnvelope {
  message: RawMessage;
  deliveryTag: string;
  exchange: string;
  routingKey: string;
  redelivered: boolean;
}

function isPlainObject(v: unknown): v is WireObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date);
}

/** A wire value in an error message: a list or a mapping as Python's repr (not "[object Object]"). */
function wireText(v: WireValue): string {
  return Array.isArray(v) || isPlainObject(v) ? safeRepr(v) : String(v);
}

/** A delivery named in errors with its task when the headers tell it (escaped: wire text). */
function deliveryLabel(tag: string, headers: { [k: string]: WireValue | undefined }): string {
  return `${logText(tag)}${typeof headers.task === "string" ? ` of task ${logText(headers.task)}[${logText(wireText(headers.id ?? "?"))}]` : ""}`;
}

/**
 * Parse an envelope. `defaultRoutingKey` (the logical queue it was popped from) is used when
 * `delivery_info` is missing. Throws BadEnvelopeError.
 */
export function decodeEnvelope(raw: string, defaultRoutingKey = ""): DecodedEnvelope {
  let env: WireValue;
  try {
    env = pyJsonLoads(raw);
  } catch (err) {
    throw new BadEnvelopeError(`message is not JSON: ${(err as Error).message}`, raw);
  }
  if (!isPlainObject(env)) throw new BadEnvelopeError("message is not a kombu envelope (not a JSON object)", raw);
  const props = env.properties;
  if (!isPlainObject(props)) throw new BadEnvelopeError("kombu envelope without a properties object", raw);
  const tag = props.delivery_tag;
  if (typeof tag !== "string" || tag === "") throw new BadEnvelopeError("kombu envelope without properties.delivery_tag", raw);
  const headers = env.headers ?? {};
  if (!isPlainObject(headers)) throw new BadEnvelopeError(`kombu envelope ${logText(tag)}: headers is not an object`, raw);
  // Named in errors only: not built for the messages that have none.
  const what = (): string => deliveryLabel(tag, headers);
  const bodyValue = env.body ?? "";
  if (typeof bodyValue !== "string") throw new BadEnvelopeError(`kombu envelope ${what()}: body is not a string`, raw);
  const bodyEncoding = typeof props.body_encoding === "string" ? props.body_encoding.toLowerCase() : props.body_encoding;
  let body: Buffer;
  if (bodyEncoding === "base64") {
    if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(bodyValue)) throw new BadEnvelopeError(`kombu envelope ${what()}: body is not valid base64`, raw);
    body = Buffer.from(bodyValue, "base64");
  } else if (bodyEncoding === undefined || bodyEncoding === null || bodyEncoding === "utf-8") {
    // kombu's decode_body: no encoding, or "utf-8" (celery-ts's uncompressed messages), is the text as is.
    body = Buffer.from(bodyValue, "utf8");
  } else {
    throw new BadEnvelopeError(`kombu envelope ${what()}: unknown body_encoding ${logText(wireText(bodyEncoding))}`, raw);
  }
  const info = isPlainObject(props.delivery_info) ? props.delivery_info : {};
  const exchange = typeof info.exchange === "string" ? info.exchange : "";
  const routingKey = typeof info.routing_key === "string" ? info.routing_key : defaultRoutingKey;
  const properties: TaskProperties = {};
  for (const key of Object.keys(props)) {
    if (key === "delivery_info" || key === "body_encoding" || key === "delivery_tag") continue;
    properties[key] = props[key];
  }
  const contentType = env["content-type"];
  const contentEncoding = env["content-encoding"];
  return {
    message: {
      body,
      contentType: typeof contentType === "string" ? contentType : "",
      contentEncoding: typeof contentEncoding === "string" ? contentEncoding : "",
      headers,
      properties,
    },
    deliveryTag: tag,
    exchange,
    routingKey,
    redelivered: info.redelivered === true || headers.redelivered === true,
  };
}

/** A `\uD800`-`\uDFFF` escape that is not half of a surrogate pair. */
const LONE_SURROGATE_ESCAPE = /\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/;

/**
 * Why the broker-side fetch script refused a message (its JSON decoder, Redis's cjson, could not
 * read it), named with its task and id when they are readable: decodeEnvelope's own error, or a
 * lone surrogate escape, which cjson refuses and Python would have taken.
 */
export function unreadableReason(raw: string, queue: string): string {
  let decoded: DecodedEnvelope;
  try {
    decoded = decodeEnvelope(raw, queue);
  } catch (err) {
    return (err as Error).message;
  }
  const what = deliveryLabel(decoded.deliveryTag, decoded.message.headers);
  const why = LONE_SURROGATE_ESCAPE.test(raw) ? "a string holds a lone surrogate (not valid Unicode)" : "its JSON is not readable by the broker's decoder";
  return `kombu envelope ${what}: ${why}`;
}

/** The `unacked` hash value kombu writes: json.dumps([envelope, exchange, routing_key]). */
export function unackedValue(rawEnvelope: string, exchange: string, routingKey: string): string {
  return `[${rawEnvelope}, ${pyJsonString(exchange)}, ${pyJsonString(routingKey)}]`;
}

const NEEDS_PY_PARSER = /NaN|Infinity|\d{16}/;

/** Parse JSON for rewriting: no kombu ≥ 5.3 type revival unless Python-only tokens require it. */
function parseForRewrite(text: string): unknown {
  return NEEDS_PY_PARSER.test(text) ? pyJsonLoads(text) : JSON.parse(text);
}

/** A parsed `unacked` hash value, with the envelope rewritten as kombu restores it. */
export interface RestorableEntry {
  /** Envelope text with headers.redelivered / delivery_info.redelivered = true. */
  text: string;
  exchange: string;
  routingKey: string;
  priority: unknown;
}

/**
 * kombu `_do_restore_message`: set `headers.redelivered` and
 * `properties.delivery_info.redelivered` (stopping at the first missing level, like its KeyError)
 * and dump again. Throws BadEnvelopeError when the value is not `[envelope, exchange, rk]`.
 */
export function restorableFromUnacked(value: string): RestorableEntry {
  let parsed: unknown;
  try {
    parsed = parseForRewrite(value);
  } catch (err) {
    throw new BadEnvelopeError(`unacked entry is not JSON: ${(err as Error).message}`, value);
  }
  if (!Array.isArray(parsed) || parsed.length < 3 || !isPlainObject(parsed[0])) {
    throw new BadEnvelopeError("unacked entry is not [envelope, exchange, routing_key]", value);
  }
  const [env, exchange, routingKey] = parsed as [WireObject, unknown, unknown];
  return {
    text: redeliveredText(env),
    exchange: typeof exchange === "string" ? exchange : "",
    routingKey: typeof routingKey === "string" ? routingKey : "",
    priority: isPlainObject(env.properties) ? env.properties.priority : undefined,
  };
}

/** Envelope text of a raw envelope with the redelivered flags set (for reject(requeue)). */
export function redeliveredEnvelope(rawEnvelope: string): string {
  const env = parseForRewrite(rawEnvelope);
  if (!isPlainObject(env)) throw new BadEnvelopeError("message is not a kombu envelope", rawEnvelope);
  return redeliveredText(env);
}

function redeliveredText(env: WireObject): string {
  const headers = env.headers;
  if (isPlainObject(headers)) {
    headers.redelivered = true;
    const props = env.properties;
    if (isPlainObject(props) && isPlainObject(props.delivery_info)) props.delivery_info.redelivered = true;
  }
  return pyJsonDumps(env);
}
