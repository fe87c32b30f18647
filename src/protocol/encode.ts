/**
 * Encoding task messages, protocol v2, exactly as Celery 5.2's `as_task_v2` + kombu publish lay
 * them out (docs/protocol.md §2.1–2.3); `protocolExtras: "5.3"` adds the 5.3+ headers. With
 * `protocol: 1` (Celery's task_protocol = 1), the legacy message of `as_task_v1`: everything in
 * the body dict, no task headers, for workers that read only v1.
 */
import type { Embed, RawMessage, SignatureDict, TaskHeaders, TaskProperties, WireObject, WireValue } from "./message";
import { compress } from "./compression";
import { serialize, type AuthCodec, type SerializerName } from "./serializers";
import { isoformatUtc } from "./isotime";
import { argsRepr, kwargsRepr } from "./repr";

export interface TaskSpec {
  id: string;
  task: string;
  args: WireValue[];
  kwargs: WireObject;
  embed?: Partial<Embed>;
  /** Absolute ETA. */
  eta?: Date | null;
  /** Seconds from now (Python `countdown`); ignored when 0 or when `eta` is set. */
  countdown?: number | null;
  /** Absolute expiry, or seconds from now (Python `expires=<number>`). */
  expires?: Date | number | null;
  group?: string | null;
  groupIndex?: number | null;
  retries?: number;
  /** `[hard, soft]` seconds. */
  timelimit?: [number | null, number | null];
  rootId?: string | null;
  parentId?: string | null;
  shadow?: string | null;
  argsrepr?: string;
  kwargsrepr?: string;
  origin: string;
  ignoreResult?: boolean;
  replyTo: string;
  /** `undefined` → 0 (default queue); `null` → no priority property. */
  priority?: number | null;
  /** Custom headers merged after the protocol headers (like `apply_async(headers=…)`). */
  headers?: WireObject;
  stampedHeaders?: string[] | null;
  stamps?: WireObject;
  replacedTaskNesting?: number;
  /** Extra message properties (after Celery's own). */
  properties?: WireObject;
}

export interface EncodeOptions {
  serializer: SerializerName;
  /** Alias (`zlib`, `gzip`, `bzip2`, `lzma`, `brotli`, `zstd`) or MIME; null/undefined = none. */
  compression?: string | null;
  /** "5.2" (default): the 16 headers of Celery 5.2. "5.3": plus replaced_task_nesting, stamped_headers, stamps. */
  protocolExtras?: "5.2" | "5.3";
  /** Celery's task_protocol: 2 (default) or 1, the legacy message (`as_task_v1`). */
  protocol?: 1 | 2;
  /** Clock for countdown / relative expires / expiration (tests). */
  now?: Date;
  /** What signs the body when `serializer` is `auth` (the app's `setupSecurity()`). */
  auth?: AuthCodec | null;
  /**
   * Called with the headers, properties and body ([args, kwargs, embed]) once they are laid out,
   * before the body is serialized: what it changes is sent (Celery's before_task_publish).
   */
  beforeSerialize?: (message: OutgoingTask) => void;
}

/** A task message before its body is serialized. */
export interface OutgoingTask {
  headers: TaskHeaders;
  properties: TaskProperties;
  body: TaskBody;
}

/** A v2 task body: `[args, kwargs, embed]`. */
export type TaskBody = [WireValue[], WireObject, { [k: string]: SignatureDict[] | SignatureDict | null }];

/** Serializes (and optionally compresses) any body, e.g. events or pidbox messages; `auth` signs it when `serializer` is `auth`. */
export function encodeBody(
  value: unknown,
  serializer: SerializerName,
  compression?: string | null,
  auth?: AuthCodec | null,
): { body: Buffer; contentType: string; contentEncoding: string; compression: string | null } {
  const s = serialize(value, serializer, auth);
  if (!compression) return { ...s, compression: null };
  const c = compress(s.body, compression);
  return { body: c.body, contentType: s.contentType, contentEncoding: s.contentEncoding, compression: c.mime };
}

function embedBody(embed: Partial<Embed> | undefined): { [k: string]: SignatureDict[] | SignatureDict | null } {
  return {
    callbacks: embed?.callbacks ?? null,
    errbacks: embed?.errbacks ?? null,
    chain: embed?.chain ?? null,
    chord: embed?.chord ?? null,
  };
}

/** The absolute eta and expiry of a spec, and the AMQP `expiration` (seconds) an expiry gives. */
function timesOf(spec: TaskSpec, now: Date): { eta: Date | null; expires: Date | null; expirationSeconds: number | null } {
  let eta = spec.eta ?? null;
  if (!eta && spec.countdown) eta = new Date(now.getTime() + spec.countdown * 1000);
  if (typeof spec.expires === "number") return { eta, expires: new Date(now.getTime() + spec.expires * 1000), expirationSeconds: spec.expires };
  if (spec.expires instanceof Date) return { eta, expires: spec.expires, expirationSeconds: (spec.expires.getTime() - now.getTime()) / 1000 };
  return { eta, expires: null, expirationSeconds: null };
}

/** The message properties both protocols have, after the protocol's own (correlation_id, reply_to). */
function publishProperties(properties: TaskProperties, spec: TaskSpec, expirationSeconds: number | null): TaskProperties {
  properties.delivery_mode = 2;
  if (expirationSeconds !== null) {
    properties.expiration = String(Math.trunc(Math.max(0, expirationSeconds) * 1000));
  }
  if (spec.priority !== null) properties.priority = spec.priority ?? 0;
  if (spec.properties) Object.assign(properties, spec.properties);
  return properties;
}

/**
 * Celery's `as_task_v1`: the body is one dict (task, id, args, kwargs, group, group_index,
 * retries, eta, expires, utc, callbacks, errbacks, timelimit, taskset, chord), the headers hold
 * only custom headers (and `compression`). Protocol v1 has no root_id, parent_id, shadow,
 * argsrepr, kwargsrepr, origin or ignore_result.
 */
function encodeTaskV1(spec: TaskSpec, options: EncodeOptions): RawMessage {
  const { eta, expires, expirationSeconds } = timesOf(spec, options.now ?? new Date());
  const embed = embedBody(spec.embed);
  const [hard, soft] = spec.timelimit ?? [null, null];
  const body: WireObject = {
    task: spec.task,
    id: spec.id,
    args: spec.args,
    kwargs: spec.kwargs,
    group: spec.group ?? null,
    group_index: spec.groupIndex ?? null,
    retries: spec.retries ?? 0,
    eta: eta ? isoformatUtc(eta, true) : null,
    expires: expires ? isoformatUtc(expires, true) : null,
    utc: true,
    callbacks: embed.callbacks,
    errbacks: embed.errbacks,
    timelimit: [hard, soft],
    taskset: spec.group ?? null,
    chord: embed.chord,
  };
  const encoded = encodeBody(body, options.serializer, options.compression);
  const headers: RawMessage["headers"] = { ...(spec.headers ?? {}) };
  if (encoded.compression) headers.compression = encoded.compression;
  const properties = publishProperties({ correlation_id: spec.id, reply_to: spec.replyTo || "" }, spec, expirationSeconds);
  return { body: encoded.body, contentType: encoded.contentType, contentEncoding: encoded.contentEncoding, headers, properties };
}

/** Builds the task message for a transport to publish: protocol v2, or v1 with `protocol: 1`. */
export function encodeTask(spec: TaskSpec, options: EncodeOptions): RawMessage {
  if (options.protocol === 1) return encodeTaskV1(spec, options);
  const { eta, expires, expirationSeconds } = timesOf(spec, options.now ?? new Date());

  const headers: TaskHeaders = {
    lang: "py",
    task: spec.task,
    id: spec.id,
    shadow: spec.shadow ?? null,
    eta: eta ? isoformatUtc(eta, true) : null,
    expires: expires ? isoformatUtc(expires, true) : null,
    group: spec.group ?? null,
    group_index: spec.groupIndex ?? null,
    retries: spec.retries ?? 0,
    timelimit: spec.timelimit ?? [null, null],
    root_id: spec.rootId || spec.id,
    parent_id: spec.parentId ?? null,
    argsrepr: spec.argsrepr ?? argsRepr(spec.args),
    kwargsrepr: spec.kwargsrepr ?? kwargsRepr(spec.kwargs),
    origin: spec.origin,
    ignore_result: spec.ignoreResult ?? false,
  };
  const properties: TaskProperties = { correlation_id: spec.id, reply_to: spec.replyTo || "" };
  if (options.protocolExtras === "5.3") {
    headers.replaced_task_nesting = spec.replacedTaskNesting ?? 0;
    headers.stamped_headers = spec.stampedHeaders ?? null;
    headers.stamps = spec.stamps ?? {};
  } else if (spec.replacedTaskNesting !== undefined) {
    // Celery 5.2 leaks this option into the properties (docs/protocol.md §2.1).
    properties.replaced_task_nesting = spec.replacedTaskNesting;
  }
  if (spec.headers) Object.assign(headers, spec.headers);
  publishProperties(properties, spec, expirationSeconds);

  const tuple: TaskBody = [spec.args, spec.kwargs, embedBody(spec.embed)];
  options.beforeSerialize?.({ headers, properties, body: tuple });
  const body = encodeBody(tuple, options.serializer, options.compression, options.auth);
  if (body.compression) headers.compression = body.compression;
  return {
    body: body.body,
    contentType: body.contentType,
    contentEncoding: body.contentEncoding,
    headers,
    properties,
  };
}
