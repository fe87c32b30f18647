/**
 * `AppContext`: what the worker, the client code (tasks, canvas, remote control), the backends and
 * beat need from a Celery app. The app (`src/app.ts`) implements it; everything else depends on
 * this interface, never on the app class, so no module imports `app.ts` back. A leaf module: it
 * imports only types of leaf modules.
 */
import type { AsyncResult } from "./client/async-result";
import type { ApplyOptions, TaskMessage } from "./client/options";
import type { CeleryConfig } from "./config";
import type { LamportClock } from "./events/clock";
import type { ExternalLogger } from "./logging";
import type { ResultBackend } from "./backend/types";
import type { WireValue } from "./protocol/message";
import type { AuthCodec } from "./protocol/serializers";
import type { WorkerSignals } from "./signals";
import type { BoundTaskContext, RegisteredTask, TaskOptions } from "./task-types";
import type { ConnectOptions, Transport } from "./transport/types";

/** A Celery app as its collaborators see it: settings, task registry, connections, sending. */
export interface AppContext {
  /** Name of the main module (Celery's `main`). */
  readonly main: string;
  /** Resolved settings. */
  readonly conf: CeleryConfig;
  /** The user's logger (the `logger` setting), or null: workers write Celery's lines to stderr. */
  readonly logger: ExternalLogger | null;
  /** Registered tasks by name (register with `task`). */
  readonly tasks: ReadonlyMap<string, RegisteredTask>;
  /** This client's id: the `reply_to` of every message it sends, and the rpc:// reply queue. */
  readonly oid: string;
  /** The app's Lamport clock (Celery `app.clock`): forwarded by task-sent events and control broadcasts. */
  readonly clock: LamportClock;
  /** Celery's signals (taskPrerun, taskSuccess, workerReady, ...) of every worker of this app. */
  readonly signals: WorkerSignals;
  /** The `auth` serializer once `setupSecurity()` ran (signs what is sent and stored, verifies what is received), else null. */
  readonly security: AuthCodec | null;
  /** Register a bound task: the handler gets a TaskContext first. */
  task<A extends unknown[], R, const N extends readonly string[] = []>(name: string, handler: (ctx: BoundTaskContext, ...args: A) => R, options: TaskOptions & { bind: true; params?: N }): RegisteredTask;
  /** Register a task. Python kwargs are mapped onto `params` names, or passed as a trailing object. */
  task<A extends unknown[], R, const N extends readonly string[] = []>(name: string, handler: (...args: A) => R, options?: TaskOptions & { bind?: false; params?: N }): RegisteredTask;
  /** The connected broker transport (created on first use); `{ retry: false }` makes a first connect one attempt. */
  connection(options?: ConnectOptions): Promise<Transport>;
  /** The connected result backend (created on first use). */
  backend(): Promise<ResultBackend>;
  /** Send a task by name (Celery `send_task`). Resolves once the broker accepted the message. */
  sendTask<R = unknown>(name: string, args?: WireValue[], kwargs?: { [key: string]: WireValue }, options?: ApplyOptions): Promise<AsyncResult<R>>;
  /** Send many tasks by name in one broker round trip; their results, in order. */
  sendTasks<R = unknown>(tasks: readonly TaskMessage[]): Promise<AsyncResult<R>[]>;
}
