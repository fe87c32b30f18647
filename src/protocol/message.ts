/**
 * The task message model, as plain types. Types describe the wire: a header Celery may omit is
 * optional here, and `decodeTask` fills defaults in one place.
 */

/** A JSON-like value as it crosses the wire after deserialization. */
export type WireValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Date
  | Buffer
  | WireValue[]
  | { [key: string]: WireValue };

/** A Celery signature in its dict form (`task`, `args`, `kwargs`, `options`, ...). */
export interface SignatureDict {
  task: string;
  args: WireValue[];
  kwargs: { [key: string]: WireValue };
  options: { [key: string]: WireValue };
  subtask_type: string | null;
  immutable: boolean;
  chord_size?: number | null;
  [extra: string]: WireValue | undefined;
}

/** The third element of a v2 body. Every key may be missing or null on input. */
export interface Embed {
  callbacks: SignatureDict[] | null;
  errbacks: SignatureDict[] | null;
  chain: SignatureDict[] | null;
  chord: SignatureDict | null;
}

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
  stamps?: { [key: string]: WireValue };
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
  kwargs: { [key: string]: WireValue };
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
  stamps: { [key: string]: WireValue };
  correlationId: string;
  replyTo: string;
  priority: number | null;
  contentType: string;
  /** Every header as received (custom ones included). */
  headers: { [key: string]: WireValue | undefined };
}
