/**
 * The task message model, as plain types (plus `isWireObject`, the one guard for a wire mapping).
 * Types describe the wire: a header Celery may omit is optional here, and `decodeTask` fills
 * defaults in one place.
 */

/**
 * A JSON-like value as it crosses the wire: what every serializer (json, msgpack, yaml) writes and
 * what deserialization gives back. The one wire type of the project (with `WireObject`).
 *
 * The project's own wire documents (`SignatureDict`, `ExceptionInfo`, `ResultMeta`, `GroupMeta`,
 * `ResultTuple`, ...) are declared as `type` aliases, not interfaces, so that they are
 * WireValues as they are: an interface has no implicit index signature. Their optional members
 * are fine: every serializer skips an object member that is `undefined`, as Python never sees it.
 * `PyFloat` (a float marker for json and `repr`) is not a WireValue: msgpack, yaml and AMQP
 * headers do not know it.
 */
export type WireValue = null | boolean | number | bigint | string | Date | Buffer | WireValue[] | WireObject;

/** A mapping (Python dict) on the wire: string keys, WireValue values. */
export type WireObject = { [key: string]: WireValue };

/**
 * A Celery signature in its dict form (`task`, `args`, `kwargs`, `options`, `subtask_type`,
 * `immutable`); keys received beyond these (e.g. legacy `chord_size`) are kept as extras.
 */
export type SignatureDict = {
  task: string;
  args: WireValue[];
  kwargs: WireObject;
  options: WireObject;
  subtask_type: string | null;
  immutable: boolean;
  [extra: string]: WireValue;
};

/** The third element of a v2 body. Every key may be missing or null on input. */
export type Embed = {
  callbacks: SignatureDict[] | null;
  errbacks: SignatureDict[] | null;
  chain: SignatureDict[] | null;
  chord: SignatureDict | null;
};

/** Protocol v2 application headers (docs/protocol.md §2.1). */
export interface TaskHeaders {
  lang?: string;
  task: string;
  id: string;
  shadow?: string | null;
  eta?: string | null;
  expires?: string | null;
  group?: string | null;
  group_index?: number | null;
  retries?: number;
  timelimit?: [number | null, number | null];
  root_id?: string | null;
  parent_id?: string | null;
  argsrepr?: string;
  kwargsrepr?: string;
  origin?: string;
  ignore_result?: boolean;
  replaced_task_nesting?: number;
  stamped_headers?: string[] | null;
  stamps?: WireObject;
  compression?: string;
  redelivered?: boolean;
  [custom: string]: WireValue | undefined;
}

/** Message properties Celery sets (docs/protocol.md §2.2). Transport-specific ones live in the transport. */
export interface TaskProperties {
  correlation_id?: string;
  reply_to?: string;
  delivery_mode?: number;
  priority?: number;
  expiration?: string;
  [other: string]: WireValue | undefined;
}

/**
 * A message as transports carry it: headers and properties as plain objects, the body as bytes
 * (already compressed, never base64). Transports never look inside `body`.
 */
export interface RawMessage {
  body: Buffer;
  contentType: string;
  contentEncoding: string;
  headers: { [key: string]: WireValue | undefined };
  properties: TaskProperties;
}

/** A decoded task, v1 or v2, normalised to the v2 shape with defaults filled. */
export interface DecodedTask {
  protocol: 1 | 2;
  id: string;
  task: string;
  /** Display name: shadow when given, else task. */
  name: string;
  args: WireValue[];
  kwargs: WireObject;
  embed: Embed;
  retries: number;
  eta: Date | null;
  expires: Date | null;
  group: string | null;
  groupIndex: number | null;
  rootId: string;
  parentId: string | null;
  timelimit: [number | null, number | null];
  argsrepr: string;
  kwargsrepr: string;
  origin: string | null;
  ignoreResult: boolean;
  replacedTaskNesting: number;
  stampedHeaders: string[] | null;
  stamps: WireObject;
  correlationId: string;
  replyTo: string;
  priority: number | null;
  contentType: string;
  /** Every header as received (custom ones included). */
  headers: { [key: string]: WireValue | undefined };
}

/** True for a mapping: a WireValue that is not null, an array, a Date or a Buffer. */
export function isWireObject(v: WireValue | undefined): v is WireObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v);
}
