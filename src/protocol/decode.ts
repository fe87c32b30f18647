/**
 * Decoding task messages (docs/protocol.md §2): protocol v2 (the `task` header exists) and v1 (everything in
 * a body dict), normalised to `DecodedTask` with Celery's defaults.
 */
import { pyStr } from "./repr";
import { isWireObject } from "./message";
import type { DecodedTask, Embed, RawMessage, WireObject, WireValue } from "./message";
import { decompress } from "./compression";
import { assertContentAccepted, deserialize } from "./serializers";
import type { AuthCodec } from "./serializers";
import { parseIsoDatetime } from "./isotime";
import { argsRepr, kwargsRepr } from "./repr";
import { normalizeSignature, normalizeSignatureList } from "./signature";
import { NO_LIMITS, tooLarge } from "./limits";
import type { DecodeLimits } from "./limits";

/** A task message that cannot be executed (Celery's `InvalidTaskError`): reject, no requeue. */
export class InvalidTaskError extends Error {
  readonly taskId: string | null;
  readonly field: string | null;
  /** The task name, when the message told it. */
  readonly taskName: string | null;
  constructor(message: string, taskId: string | null = null, field: string | null = null, taskName: string | null = null) {
    super(message);
    this.name = "InvalidTaskError";
    this.taskId = taskId;
    this.field = field;
    this.taskName = taskName;
  }
}

/**
 * Decompresses (per the `compression` header) and deserializes a message body. The content type
 * is checked against `accept` before anything else (throws `ContentDisallowed`). Under `limits`,
 * a body over `maxMessageSize` (as received, or while inflating) or nested deeper than
 * `maxNestingDepth` throws `MessageLimitError` before it is decoded further. With `auth`, a signed
 * (`application/data`) body is verified (throws `SecurityError`).
 */
export function decodeMessageBody(message: RawMessage, accept: readonly string[], limits: DecodeLimits = NO_LIMITS, auth?: AuthCodec | null): WireValue {
  assertContentAccepted(message.contentType, accept);
  const max = limits.maxMessageSize;
  if (max !== null && message.body.length > max) throw tooLarge(max, `message body of ${message.body.length} bytes`);
  const compression = message.headers.compression;
  const body = typeof compression === "string" && compression ? decompress(message.body, compression, max) : message.body;
  return deserialize(body, message.contentType, message.contentEncoding, accept, limits, auth);
}

/** True when `s` holds a lone UTF-16 surrogate (Python cannot encode it to UTF-8: no key it can look up). */
export function hasLoneSurrogate(s: string): boolean {
  return /\p{Surrogate}/u.test(s);
}

function checkId(id: string, task: string): void {
  if (hasLoneSurrogate(id)) {
    throw new InvalidTaskError(`Task message for ${task} has an id with a lone surrogate (not valid Unicode)`, null, "id");
  }
}

function parseTime(value: WireValue | undefined, field: string, taskId: string, naiveIsLocal: boolean, task: string): Date | null {
  if (value === null || value === undefined || value === "") return null;
  if (value instanceof Date) return value;
  if (typeof value === "string") {
    const d = parseIsoDatetime(value, naiveIsLocal);
    if (d) return d;
  }
  throw new InvalidTaskError(
    `Task ${taskId}: invalid ${field} value ${JSON.stringify(pyStr(value))} (expected an ISO-8601 date-time)`,
    taskId,
    field,
    task,
  );
}

function optString(v: WireValue | undefined): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

function optInt(v: WireValue | undefined): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "bigint") return Number(v);
  return null;
}

function timeLimit(v: WireValue | undefined): [number | null, number | null] {
  if (!Array.isArray(v)) return [null, null];
  const n = (x: WireValue | undefined): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);
  return [n(v[0]), n(v[1])];
}

function embedOf(v: WireValue | undefined, taskId: string): Embed {
  if (v === null || v === undefined) return { callbacks: null, errbacks: null, chain: null, chord: null };
  if (!isWireObject(v)) throw new InvalidTaskError(`Task ${taskId}: body embed must be an object`, taskId, "embed");
  try {
    return {
      callbacks: normalizeSignatureList(v.callbacks),
      errbacks: normalizeSignatureList(v.errbacks),
      chain: normalizeSignatureList(v.chain),
      chord: v.chord === null || v.chord === undefined ? null : normalizeSignature(v.chord),
    };
  } catch (err) {
    throw new InvalidTaskError(`Task ${taskId}: invalid signature in body: ${(err as Error).message}`, taskId, "embed");
  }
}

function argsOf(v: WireValue | undefined, taskId: string): WireValue[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw new InvalidTaskError(`Task ${taskId}: args must be a list`, taskId, "args");
  return v;
}

function kwargsOf(v: WireValue | undefined, taskId: string): WireObject {
  if (v === null || v === undefined) return {};
  if (!isWireObject(v)) throw new InvalidTaskError(`Task ${taskId}: kwargs must be a mapping`, taskId, "kwargs");
  return v;
}

interface Fields {
  id: string;
  task: string;
  shadow: string | null;
  args: WireValue[];
  kwargs: WireObject;
  embed: Embed;
  /** Where the other fields are read: the headers (v2), or headers and body dict merged (v1). */
  src: RawMessage["headers"];
  naiveIsLocal: boolean;
}

function build(message: RawMessage, f: Fields, protocol: 1 | 2): DecodedTask {
  const h = f.src;
  const props = message.properties;
  const nesting = optInt(h.replaced_task_nesting) ?? optInt(props.replaced_task_nesting) ?? 0;
  const stamped = h.stamped_headers;
  return {
    protocol,
    id: f.id,
    task: f.task,
    name: f.shadow || f.task,
    args: f.args,
    kwargs: f.kwargs,
    embed: f.embed,
    retries: optInt(h.retries) ?? 0,
    eta: parseTime(h.eta, "eta", f.id, f.naiveIsLocal, f.task),
    expires: parseTime(h.expires, "expires", f.id, f.naiveIsLocal, f.task),
    group: optString(h.group) ?? (protocol === 1 ? optString(h.taskset) : null),
    groupIndex: optInt(h.group_index),
    rootId: optString(h.root_id) ?? f.id,
    parentId: optString(h.parent_id),
    timelimit: timeLimit(h.timelimit),
    argsrepr: typeof h.argsrepr === "string" ? h.argsrepr : argsRepr(f.args),
    kwargsrepr: typeof h.kwargsrepr === "string" ? h.kwargsrepr : kwargsRepr(f.kwargs),
    origin: optString(h.origin),
    ignoreResult: h.ignore_result === true,
    replacedTaskNesting: nesting,
    stampedHeaders: Array.isArray(stamped) ? stamped.filter((s): s is string => typeof s === "string") : null,
    stamps: isWireObject(h.stamps) ? h.stamps : {},
    correlationId: optString(props.correlation_id) ?? f.id,
    replyTo: typeof props.reply_to === "string" ? props.reply_to : "",
    priority: optInt(props.priority),
    contentType: message.contentType,
    headers: message.headers,
  };
}

/**
 * Decodes a task message. Throws `ContentDisallowed` (content type not in `accept`, or pickle),
 * `CompressionError`, `MessageLimitError` (over `options.limits`), or `InvalidTaskError` (unknown
 * message shape, bad body, malformed eta/expires, an id that is not valid Unicode), and with
 * `options.auth` `SecurityError` (a signed body that is not correctly signed by a trusted signer).
 */
export function decodeTask(message: RawMessage, options: { accept: readonly string[]; limits?: DecodeLimits; auth?: AuthCodec | null }): DecodedTask {
  const headers = message.headers;
  const body = decodeMessageBody(message, options.accept, options.limits, options.auth);

  if (headers.task !== undefined && headers.task !== null) {
    const task = headers.task;
    const id = headers.id;
    if (typeof task !== "string" || !task) throw new InvalidTaskError("Message has an invalid task header", null, "task");
    if (typeof id !== "string" || !id) {
      throw new InvalidTaskError(`Task message for ${task} has no id header`, null, "id");
    }
    checkId(id, task);
    if (Buffer.isBuffer(body) && !options.auth && message.contentType === "application/data") {
      throw new InvalidTaskError(`Task ${id}: the body is signed (serializer auth) but message signing is not set up here (app.setupSecurity())`, id, "body", task);
    }
    if (!Array.isArray(body) || body.length !== 3) {
      throw new InvalidTaskError(`Task ${id}: body must be [args, kwargs, embed]`, id, "body");
    }
    return build(
      message,
      {
        id,
        task,
        shadow: optString(headers.shadow),
        args: argsOf(body[0], id),
        kwargs: kwargsOf(body[1], id),
        embed: embedOf(body[2], id),
        src: headers,
        naiveIsLocal: false,
      },
      2,
    );
  }

  // Protocol v1: everything is in the body dict.
  if (!isWireObject(body) || typeof body.task !== "string" || !body.task) {
    throw new InvalidTaskError("Received unknown message: no task header and the body is not a task dict", null, "body");
  }
  const id = body.id;
  if (typeof id !== "string" || !id) throw new InvalidTaskError(`Task message for ${body.task} has no id`, null, "id");
  checkId(id, body.task);
  const embed = embedOf({ callbacks: body.callbacks ?? null, errbacks: body.errbacks ?? null, chain: null, chord: body.chord ?? null }, id);
  return build(
    message,
    {
      id,
      task: body.task,
      shadow: null,
      args: argsOf(body.args, id),
      kwargs: kwargsOf(body.kwargs, id),
      embed,
      src: { ...headers, ...body },
      naiveIsLocal: body.utc === false,
    },
    1,
  );
}
