/**
 * `EagerResult` (Celery's `celery.result.EagerResult`): the outcome of a task run in this process
 * by `task.apply()` or under `taskAlwaysEager`. Already known, so nothing reads a backend.
 */
import { AsyncResult } from "./async-result";
import type { GetOptions } from "./async-result";
import { errorToExceptionInfo, exceptionInfoToError, taskRevoked } from "../protocol/exceptions";
import { buildResultMeta, PROPAGATE_STATES } from "../protocol/result-meta";
import type { ResultMeta, TaskState } from "../protocol/result-meta";
import type { WireValue } from "../protocol/message";

/** What an eager result links back to in a chain: the previous step's result (a task's, or a group's). */
export interface EagerParent {
  readonly id: string;
  get(options?: GetOptions): Promise<unknown>;
}

/** The backend an eager result never has: every read is answered from the result itself. */
const noBackend = (): Promise<never> => Promise.reject(new Error("an EagerResult reads no result backend"));

/**
 * A result that is already there (Celery `EagerResult`): `get()` resolves at once with the value,
 * or throws the error the task threw (FAILURE, REVOKED) unless `propagate: false`. The value is
 * the handler's return value as it is, not a serialized copy (as in Celery).
 */
export class EagerResult<R = unknown> extends AsyncResult<R> {
  /** The previous step's result when this is a step of an eager chain (Celery `result.parent`). */
  parent: EagerParent | null = null;
  private status: TaskState;
  private value: unknown;
  private tb: string | null;

  /** The outcome of task `name` run as `id`: its state, its return value (or thrown error) and traceback text. */
  constructor(id: string, value: unknown, state: TaskState, traceback: string | null = null, readonly name: string | null = null) {
    super(id, noBackend);
    this.value = value;
    this.status = state;
    this.tb = traceback;
  }

  /** The return value; throws the task's error for FAILURE/REVOKED unless `propagate: false` (then returns it). */
  override get(options: GetOptions = {}): Promise<R> {
    if (this.status === "SUCCESS") return Promise.resolve(this.value as R);
    if (PROPAGATE_STATES.has(this.status) && options.propagate !== false) {
      return Promise.reject(this.value instanceof Error ? this.value : new Error(String(this.value)));
    }
    return Promise.resolve(this.value as R);
  }

  /** Celery's meta of this result (`_cache`): status, the result in wire form (errors as exception dicts), traceback. */
  override meta(): Promise<ResultMeta | null> {
    const result = (this.value instanceof Error ? errorToExceptionInfo(this.value) : (this.value ?? null)) as WireValue;
    return Promise.resolve(buildResultMeta({ taskId: this.id, status: this.status, result, traceback: this.tb }));
  }

  override state(): Promise<TaskState> {
    return Promise.resolve(this.status);
  }

  /** Always true, as Celery's: the run is over. */
  override ready(): Promise<boolean> {
    return Promise.resolve(true);
  }

  override successful(): Promise<boolean> {
    return Promise.resolve(this.status === "SUCCESS");
  }

  override failed(): Promise<boolean> {
    return Promise.resolve(this.status === "FAILURE");
  }

  /** The return value, or the error the task threw, without throwing. */
  override result(): Promise<unknown> {
    return Promise.resolve(this.value);
  }

  override traceback(): Promise<string | null> {
    return Promise.resolve(this.tb);
  }

  /** Nothing is stored for an eager result: a no-op, as in Celery. */
  override forget(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Celery 5.7's `EagerResult.revoke()`: nothing runs any more, so only the result changes: REVOKED,
   * with `TaskRevokedError('revoked')` as its result (what a backend stores for a revoked task).
   */
  revoke(): void {
    this.status = "REVOKED";
    this.value = exceptionInfoToError(taskRevoked("revoked"));
    this.tb = null;
  }
}
