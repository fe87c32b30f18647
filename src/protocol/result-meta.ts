/**
 * Celery's task meta document (docs/protocol.md §7.1) and group meta (§7.6), as stored in result backends.
 * Encoding/decoding functions live below the types.
 */
import type { WireValue } from "./message";
import { pyJsonDumps, pyJsonLoads } from "./serializers/json";
import { encodingWith } from "./serializers";
import { isoformatNaiveUtc, parseIsoDatetime } from "./isotime";

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

/** Exceptions as they cross the wire. */
export interface ExceptionInfo {
  exc_type: string;
  exc_message: WireValue[];
  exc_module: string;
}

/** A result tuple: AsyncResult `[[id, parent], null]`; GroupResult `[[gid, null], [members]]`. */
export type ResultTuple = [[string, ResultTuple | null], ResultTuple[] | null];

/** The stored document (plus result_extended fields when enabled). */
export interface ResultMeta {
  status: TaskState;
  result: WireValue;
  traceback: string | null;
  children: ResultTuple[];
  date_done: string | null;
  group_id?: string;
  parent_id?: string;
  task_id: string;
  name?: string;
  args?: WireValue[];
  kwargs?: { [key: string]: WireValue };
  worker?: string;
  retries?: number;
  queue?: string;
  [extra: string]: WireValue | undefined;
}

/** Group meta `{"result": [[gid, null], [member tuples]]}`. */
export interface GroupMeta {
  result: ResultTuple;
}

/** States after which a task will not change. */
export const READY_STATES: ReadonlySet<string> = new Set(["SUCCESS", "FAILURE", "REVOKED"]);
/** States whose result is an exception. */
export const EXCEPTION_STATES: ReadonlySet<string> = new Set(["FAILURE", "RETRY", "REVOKED"]);
/** States that make `get()` raise. */
export const PROPAGATE_STATES: ReadonlySet<string> = new Set(["FAILURE", "REVOKED"]);

// ---------------------------------------------------------------------------------------------
// Building, encoding and decoding metas.

/**
 * `date_done` as Celery 5.2 writes it: naive UTC isoformat, e.g. `2026-11-22T01:41:12.089000`
 * (always 6 fractional digits; JS clocks give milliseconds, so the last 3 are 0).
 */
export function dateDone(now: Date = new Date()): string {
  return isoformatNaiveUtc(now, true);
}

/** Parses `date_done` (naive = UTC as in 5.2, or aware as in 5.5+); null when absent/invalid. */
export function parseDateDone(value: string | null | undefined): Date | null {
  return typeof value === "string" && value ? parseIsoDatetime(value) : null;
}

/** `result_extended` fields (Celery request attributes). */
export interface ExtendedResultFields {
  name: string;
  args: WireValue[];
  kwargs: { [key: string]: WireValue };
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
  const meta: ResultMeta = {
    status: input.status,
    result: input.result,
    traceback: input.traceback ?? null,
    children: input.children ?? [],
    date_done:
      input.dateDone !== undefined ? input.dateDone : READY_STATES.has(input.status) ? dateDone() : null,
    task_id: "",
  };
  // task_id must come last: re-insert it after the optional keys.
  delete (meta as { task_id?: string }).task_id;
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

/** JSON text exactly as Celery's Redis backend stores it. */
export function encodeResultMeta(meta: ResultMeta | GroupMeta): string {
  return encodingWith(() => pyJsonDumps(meta));
}

/** Thrown when a stored meta is not a JSON object. */
export class InvalidResultMeta extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidResultMeta";
  }
}

function asObject(text: string | Buffer): { [k: string]: WireValue } {
  const v = pyJsonLoads(text);
  if (v === null || typeof v !== "object" || Array.isArray(v) || v instanceof Date || Buffer.isBuffer(v)) {
    throw new InvalidResultMeta("result meta is not a JSON object");
  }
  return v;
}

/** Parses a stored task meta; missing optional fields get Celery's defaults (key order kept). */
export function decodeResultMeta(text: string | Buffer): ResultMeta {
  const v = asObject(text);
  if (v.status === undefined) v.status = "PENDING";
  if (v.result === undefined) v.result = null;
  if (v.traceback === undefined) v.traceback = null;
  if (v.children === undefined || v.children === null) v.children = [];
  if (v.date_done === undefined) v.date_done = null;
  if (typeof v.status !== "string") throw new InvalidResultMeta("result meta has a non-string status");
  return v as unknown as ResultMeta;
}

/** Group meta `{"result": [[gid, null], [member tuples]]}`. */
export function decodeGroupMeta(text: string | Buffer): GroupMeta {
  const v = asObject(text);
  if (!Array.isArray(v.result)) throw new InvalidResultMeta("group meta has no result tuple");
  return v as unknown as GroupMeta;
}

/** GroupResult tuple for a group id and member task ids. */
export function groupResultTuple(groupId: string, taskIds: readonly string[]): ResultTuple {
  return [[groupId, null], taskIds.map((id): ResultTuple => [[id, null], null])];
}
