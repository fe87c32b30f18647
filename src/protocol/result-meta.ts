/**
 * Celery's task meta document (docs/protocol.md §7.1) and group meta (§7.6), as stored in result backends.
 * Encoding/decoding functions live below the types.
 */
import { isWireObject } from "./message";
import type { WireObject, WireValue } from "./message";
import { pyJsonDumps, pyJsonLoads, pyJsonString } from "./serializers/json";
import { encodingWith } from "./serializers";
import type { AuthCodec } from "./serializers";
import { NO_LIMITS } from "./limits";
import { isoformatUtc, parseIsoDatetime } from "./isotime";

/** Task states Celery stores or reports. Custom states (e.g. PROGRESS) are plain strings. */
export type TaskState =
  | "PENDING"
  | "RECEIVED"
  | "STARTED"
  | "SUCCESS"
  | "FAILURE"
  | "RETRY"
  | "REVOKED"
  | "REJECTED"
  | (string & {});

/** Exceptions as they cross the wire (a `type`, so it is a `WireObject`). */
export type ExceptionInfo = {
  exc_type: string;
  exc_message: WireValue[];
  exc_module: string;
};

/** A result tuple: AsyncResult `[[id, parent], null]`; GroupResult `[[gid, null], [members]]`. */
export type ResultTuple = [[string, ResultTuple | null], ResultTuple[] | null];

/**
 * The stored document (plus result_extended fields when enabled). A `type`, so it is a
 * `WireObject`; keys a backend stored beyond these are kept, untyped.
 */
export type ResultMeta = {
  status: TaskState;
  result: WireValue;
  traceback: string | null;
  children: ResultTuple[];
  date_done: string | null;
  group_id?: string;
  parent_id?: string;
  task_id: string;
  /** result_extended fields: null when Celery's request did not have them. */
  name?: string | null;
  args?: WireValue[] | null;
  kwargs?: WireObject | null;
  worker?: string | null;
  retries?: number | null;
  queue?: string | null;
};

/** Group meta `{"result": [[gid, null], [member tuples]]}`. */
export type GroupMeta = {
  result: ResultTuple;
};

/** States after which a task will not change. */
export const READY_STATES: ReadonlySet<string> = new Set(["SUCCESS", "FAILURE", "REVOKED"]);
/** States whose result is an exception. */
export const EXCEPTION_STATES: ReadonlySet<string> = new Set(["FAILURE", "RETRY", "REVOKED"]);
/** Celery's own states (celery.states: ALL_STATES, REJECTED, IGNORED); any other is a custom one, such as PROGRESS. */
export const CELERY_STATES: ReadonlySet<string> = new Set(["PENDING", "RECEIVED", "STARTED", "SUCCESS", "FAILURE", "REVOKED", "REJECTED", "RETRY", "IGNORED"]);
/** States that make `get()` raise. */
export const PROPAGATE_STATES: ReadonlySet<string> = new Set(["FAILURE", "REVOKED"]);

// ---------------------------------------------------------------------------------------------
// Building, encoding and decoding metas.

/** The last `dateDone` text and its millisecond. */
let lastDateDone = { ms: NaN, text: "" };
/** `YYYY-MM-DDTHH:MM:SS.` of the last second `dateDone` wrote, and that second (ms since the epoch / 1000). */
let lastDateSecond = { second: NaN, prefix: "" };

/**
 * `date_done` as Celery 5.7 writes it with timezone UTC: aware isoformat,
 * e.g. `2026-11-22T01:41:12.089000+00:00` (vector `backend-redis-date-done-celery57-utc`; always 6
 * fractional digits, JS clocks give milliseconds, so the last 3 are 0). Celery 5.2 wrote naive UTC
 * and parses this form too; Django can subtract it from `timezone.now()`.
 */
export function dateDone(now?: Date): string {
  const ms = now ? now.getTime() : Date.now();
  // Tasks that end in the same millisecond share the text (a worker ends several per ms); within
  // a second only the fraction is written anew (isoformatUtc's general path once per second).
  if (ms === lastDateDone.ms) return lastDateDone.text;
  const second = Math.floor(ms / 1000);
  if (second !== lastDateSecond.second) {
    lastDateSecond = { second, prefix: isoformatUtc(new Date(second * 1000), true).slice(0, -"000000+00:00".length) };
  }
  const frac = ms - second * 1000;
  lastDateDone = { ms, text: `${lastDateSecond.prefix}${frac < 10 ? "00" : frac < 100 ? "0" : ""}${frac}000+00:00` };
  return lastDateDone.text;
}


/** Parses `date_done` (naive = UTC as in 5.2, or aware as in 5.5+); null when absent/invalid. */
export function parseDateDone(value: string | null | undefined): Date | null {
  return typeof value === "string" && value ? parseIsoDatetime(value) : null;
}

/** `result_extended` fields (Celery request attributes). */
export interface ExtendedResultFields {
  name: string;
  args: WireValue[];
  kwargs: WireObject;
  worker: string;
  retries: number;
  queue: string;
}

export interface BuildResultMetaInput {
  taskId: string;
  status: TaskState;
  result: WireValue;
  traceback?: string | null;
  children?: ResultTuple[];
  groupId?: string | null;
  parentId?: string | null;
  extended?: ExtendedResultFields | null;
  /** Override; default: `dateDone()` for ready states, null otherwise. */
  dateDone?: string | null;
}

/**
 * Builds the meta with Celery's key order: status, result, traceback, children, date_done,
 * [group_id], [parent_id], [name, args, kwargs, worker, retries, queue], task_id.
 */
export function buildResultMeta(input: BuildResultMetaInput): ResultMeta {
  // task_id comes last: set after the optional keys (no delete, which would make a slow-mode object).
  const meta = {
    status: input.status,
    result: input.result,
    traceback: input.traceback ?? null,
    children: input.children ?? [],
    date_done:
      input.dateDone !== undefined ? input.dateDone : READY_STATES.has(input.status) ? dateDone() : null,
  } as ResultMeta;
  if (input.groupId) meta.group_id = input.groupId;
  if (input.parentId) meta.parent_id = input.parentId;
  if (input.extended) {
    const e = input.extended;
    meta.name = e.name;
    meta.args = e.args;
    meta.kwargs = e.kwargs;
    meta.worker = e.worker;
    meta.retries = e.retries;
    meta.queue = e.queue;
  }
  meta.task_id = input.taskId;
  return meta;
}

/**
 * A value as Celery's Redis backend stores it with `result_serializer`: JSON text, or with `auth`
 * ("auth") the signed body, whose base64 is the text.
 */
export function encodeStoredValue(value: unknown, auth?: AuthCodec | null): string {
  return auth ? auth.serialize(value).body.toString("latin1") : encodingWith(() => pyJsonDumps(value));
}

/** What `encodeStoredValue` wrote, read back (with `auth`: verified, throws `SecurityError`). */
export function decodeStoredValue(text: string | Buffer, auth?: AuthCodec | null): WireValue {
  if (!auth) return pyJsonLoads(text);
  return auth.deserialize(typeof text === "string" ? Buffer.from(text, "latin1") : text, NO_LIMITS);
}

/** The text Celery's Redis backend stores for a meta: JSON, or signed with `auth` (result_serializer "auth"). */
export function encodeResultMeta(meta: ResultMeta | GroupMeta, auth?: AuthCodec | null): string {
  if (auth || Object.getPrototypeOf(meta) !== Object.prototype || typeof (meta as { toJSON?: unknown }).toJSON === "function") {
    return encodeStoredValue(meta, auth);
  }
  try {
    return metaJson(meta);
  } catch {
    return encodeStoredValue(meta, auth); // its error, as EncodeError
  }
}

/** `"key": ` as pyJsonDumps writes each key a meta has (task and group metas). */
const META_KEY_TEXT = new Map(
  ["status", "result", "traceback", "children", "date_done", "group_id", "parent_id", "name", "args", "kwargs", "worker", "retries", "queue", "task_id"].map(
    (key) => [key, `${pyJsonString(key)}: `],
  ),
);

/**
 * `pyJsonDumps(meta)` for a plain object, byte for byte (the same keys in the same order, the same
 * values skipped), without its generic walk for the meta itself: key texts are written once, and
 * the null, string and empty-list values most metas hold are written directly.
 */
function metaJson(meta: object): string {
  let out = "";
  for (const key of Object.keys(meta)) {
    const v = (meta as { [key: string]: unknown })[key];
    if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
    const value = v === null ? "null" : typeof v === "string" ? pyJsonString(v) : Array.isArray(v) && v.length === 0 ? "[]" : pyJsonDumps(v);
    out += (out ? ", " : "{") + (META_KEY_TEXT.get(key) ?? `${pyJsonString(key)}: `) + value;
  }
  return out ? out + "}" : "{}";
}

/** Thrown when a stored meta is not a JSON object. */
export class InvalidResultMeta extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidResultMeta";
  }
}

function asObject(text: string | Buffer, auth?: AuthCodec | null): WireObject {
  const v = decodeStoredValue(text, auth);
  if (!isWireObject(v)) throw new InvalidResultMeta("result meta is not a JSON object");
  return v;
}

/** True when `v` is a result tuple, checked all the way down. */
export function isResultTuple(v: WireValue | undefined): v is ResultTuple {
  if (!Array.isArray(v) || v.length !== 2) return false;
  const [head, members] = v;
  return (
    Array.isArray(head) &&
    head.length === 2 &&
    typeof head[0] === "string" &&
    (head[1] === null || isResultTuple(head[1])) &&
    (members === null || (Array.isArray(members) && members.every(isResultTuple)))
  );
}

/** True for a list of result tuples (a meta's `children`). */
export function isResultTupleList(v: WireValue | undefined): v is ResultTuple[] {
  return Array.isArray(v) && v.every(isResultTuple);
}

type Check = (v: WireValue | undefined) => boolean;
const isString: Check = (v) => typeof v === "string";
const orNull = (check: Check): Check => (v) => v === null || check(v);
const optional = (check: Check): Check => (v) => v === undefined || check(v);

/** What each ResultMeta key may hold as decoded (one entry per key, so none is forgotten). */
const META_FIELDS: { [K in keyof ResultMeta]-?: Check } = {
  status: isString,
  result: (v) => v !== undefined,
  traceback: orNull(isString),
  children: isResultTupleList,
  date_done: orNull(isString),
  group_id: optional(isString),
  parent_id: optional(isString),
  task_id: isString,
  name: optional(orNull(isString)),
  args: optional(orNull(Array.isArray)),
  kwargs: optional(orNull(isWireObject)),
  worker: optional(orNull(isString)),
  retries: optional(orNull((v) => typeof v === "number")),
  queue: optional(orNull(isString)),
};

/** Throws `fail(key)` for the first ResultMeta key whose value in `v` has the wrong type. */
export function assertResultMeta(v: WireObject, fail: (key: string) => Error): asserts v is ResultMeta {
  for (const [key, check] of Object.entries(META_FIELDS)) if (!check(v[key])) throw fail(key);
}

/** Parses a stored task meta (with `auth`: a signed one); missing optional fields get Celery's defaults (key order kept). */
export function decodeResultMeta(text: string | Buffer, auth?: AuthCodec | null): ResultMeta {
  const v = asObject(text, auth);
  if (v.status === undefined) v.status = "PENDING";
  if (v.result === undefined) v.result = null;
  if (v.traceback === undefined) v.traceback = null;
  // celery-node stores the task's return value (or the raised error) as the traceback; Python
  // ignores a traceback that is not text, so it is read as its JSON text instead of refused.
  else if (v.traceback !== null && typeof v.traceback !== "string") v.traceback = textOf(v.traceback);
  if (v.children === undefined || v.children === null) v.children = [];
  if (v.date_done === undefined) v.date_done = null;
  if (typeof v.status !== "string") throw new InvalidResultMeta("result meta has a non-string status");
  assertResultMeta(v, (key) => new InvalidResultMeta(`result meta has a malformed ${key}`));
  return v;
}

/** JSON text of a decoded value (a bigint as its digits). */
function textOf(v: WireValue): string {
  return JSON.stringify(v, (_key, x: unknown) => (typeof x === "bigint" ? x.toString() : x));
}

function isGroupMeta(v: WireObject): v is GroupMeta {
  return isResultTuple(v.result);
}

/** Group meta `{"result": [[gid, null], [member tuples]]}` (with `auth`: a signed one). */
export function decodeGroupMeta(text: string | Buffer, auth?: AuthCodec | null): GroupMeta {
  const v = asObject(text, auth);
  if (!isGroupMeta(v)) throw new InvalidResultMeta("group meta has no result tuple");
  return v;
}

/** GroupResult tuple for a group id and member task ids. */
export function groupResultTuple(groupId: string, taskIds: readonly string[]): ResultTuple {
  return [[groupId, null], taskIds.map((id): ResultTuple => [[id, null], null])];
}
