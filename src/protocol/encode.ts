/**
 * Encoding task messages, protocol v2, exactly as Celery 5.2's `as_task_v2` + kombu publish lay
 * them out (docs/protocol.md §2.1–2.3); `protocolExtras: "5.3"` adds the 5.3+ headers.
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

/** Builds the v2 task message for a transport to publish. */
export function encodeTask(spec: TaskSpec, options: EncodeOptions): RawMessage {
  const now = options.now ?? new Date();
  let eta = spec.eta ?? null;
  if (!eta && spec.countdown) eta = new Date(now.getTime() + spec.countdown * 1000);

  let expires: Date | null = null;
  let expirationSeconds: number | null = null;
  if (typeof spec.expires === "number") {
    expires = new Date(now.getTime() + spec.expires * 1000);
    expirationSeconds = spec.expires;
  } else if (spec.expires instanceof Date) {
    expires = spec.expires;
    expirationSeconds = (expires.getTime() - now.getTime()) / 1000;
  }

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

  properties.delivery_mode = 2;
  if (expirationSeconds !== null) {
    properties.expiration = String(Math.trunc(Math.max(0, expirationSeconds) * 1000));
  }
  if (spec.priority !== null) properties.priority = spec.priority ?? 0;
  if (spec.properties) Object.assign(properties, spec.properties);

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
