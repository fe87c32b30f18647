import type { ResultMeta, GroupMeta } from "../protocol/result-meta";

/** A result backend: stores and reads Celery's task meta documents. */
export interface ResultBackend {
  readonly name: string;
  connect(): Promise<void>;
  close(): Promise<void>;
  /** Store a state. Never overwrites a stored SUCCESS. */
  store(taskId: string, meta: ResultMeta): Promise<void>;
  /** Read the current meta, or null when none is stored (PENDING). */
  get(taskId: string): Promise<ResultMeta | null>;
  /** Wait until the task reaches a ready state (SUCCESS/FAILURE/REVOKED), by subscription. */
  waitForReady(taskId: string, timeoutMs: number | null): Promise<ResultMeta>;
  forget(taskId: string): Promise<void>;
  /** Start listening for a task's result as it is sent (optional; makes `waitForReady` faster). */
  watch?(taskId: string): void;
  saveGroup(groupId: string, meta: GroupMeta): Promise<void>;
  restoreGroup(groupId: string): Promise<GroupMeta | null>;
  deleteGroup(groupId: string): Promise<void>;
}
