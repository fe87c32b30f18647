import type { ConnectionStateListener } from "../connectivity/state";
import type { ResultMeta, GroupMeta } from "../protocol/result-meta";

/**
 * Where a state goes for backends that reply to the sender (rpc://): the task message's
 * `reply_to` and `correlation_id` properties. Backends that store by task id ignore it.
 */
export interface ResultRoute {
  replyTo: string;
  correlationId: string;
}

/** A result backend: stores and reads Celery's task meta documents. */
export interface ResultBackend {
  readonly name: string;
  /** Connect; a failure is a ConnectionFailure naming the masked URL and the reason. */
  connect(): Promise<void>;
  close(): Promise<void>;
  /** Follow the backend's connection: lost, failed reconnects, connected again (see Transport). */
  onConnectionState?(listener: ConnectionStateListener): () => void;
  /**
   * Store a state. Never overwrites a stored SUCCESS. `route` (the request's reply_to and
   * correlation_id) is required by rpc://, which sends nothing without a reply_to.
   */
  store(taskId: string, meta: ResultMeta, route?: ResultRoute): Promise<void>;
  /** Read the current meta, or null when none is stored (PENDING). */
  get(taskId: string): Promise<ResultMeta | null>;
  /** Wait until the task reaches a ready state (SUCCESS/FAILURE/REVOKED), by subscription. */
  waitForReady(taskId: string, timeoutMs: number | null): Promise<ResultMeta>;
  forget(taskId: string): Promise<void>;
  /**
   * Call `listener` with every state stored for the task from now on, as it is stored (Redis:
   * the PUBLISH of each store; rpc://: each reply), ready states included, until the returned
   * function is called. The state stored when following starts is given too, unless a newer one
   * arrived first. Errors of subscribing or reading go to `onError`. (Celery's result consumer
   * with `on_message`.)
   */
  follow?(taskId: string, listener: (meta: ResultMeta) => void, onError: (err: Error) => void): () => void;
  /**
   * Start listening for a task's result as it is sent (Celery's `on_task_call`; optional, makes
   * `waitForReady` faster). A returned promise resolves once the result can be received: rpc://
   * declares its reply queue, and the sender awaits that before publishing the task.
   */
  watch?(taskId: string): void | Promise<void>;
  /**
   * Celery's `ensure_chords_allowed`: throws when this backend cannot run chords (rpc://). Called
   * before anything of a chord, or of a chain that contains one, is sent.
   */
  ensureChordsAllowed?(): void;
  saveGroup(groupId: string, meta: GroupMeta): Promise<void>;
  restoreGroup(groupId: string): Promise<GroupMeta | null>;
  deleteGroup(groupId: string): Promise<void>;
}
