/**
 * Celery's task meta document (spec §7.1) and group meta (§7.6), as stored in result backends.
 * Encoding/decoding functions live below the types.
 */
import type { WireValue } from "./message";

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
