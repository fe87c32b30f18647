/**
 * The Celery application without the worker: settings, task registry, lazy broker and backend
 * connections, sending, results, canvas and remote control. `src/celery.ts` adds the worker;
 * this module loads no worker code (it is what the client entry, `src/client.ts`, exports).
 */
import { randomUUID as uuid4 } from "node:crypto";
import type { AppContext } from "./app-context";
import { Settings } from "./settings";
import type { ConfigFromObjectOptions } from "./settings";
import type { CeleryConfig } from "./config";
import { annotatedOptions } from "./task-annotations";
import { registerErrorClass } from "./protocol/error-classes";
import type { ErrorClass } from "./protocol/error-classes";
import { createBackend, createTransport } from "./connections";
import { isRpcBackendUrl } from "./backend/rpc/url";
import type { ConnectOptions, Transport } from "./transport/types";
import type { ResultBackend } from "./backend/types";
import { currentTask } from "./current-task";
import type { CurrentTask } from "./current-task";
import { LamportClock } from "./events/clock";
import type { WireValue } from "./protocol/message";
import { AsyncResult } from "./client/async-result";
import type { ApplyOptions, TaskMessage } from "./client/options";
import { Producer } from "./client/producer";
import { Control } from "./client/control";
import { GroupResult, Signature } from "./client/canvas";
import { Task } from "./client/task";
import { EagerRunner } from "./client/eager";
import { RemoteTask } from "./client/remote-task";
import type { RemoteTaskOptions } from "./client/remote-task";
import type { BoundTaskContext, TaskOptions } from "./task-types";
import { WorkerSignals } from "./signals";
import { authSerializerFrom } from "./security";
import type { SecuritySetup } from "./security";
import type { AuthSerializer } from "./protocol/security";
import type { ExternalLogger } from "./logging";
import type { NamedSettings } from "./settings";

/**
 * Settings given to `new Celery(main, settings)` (celeriac's or Celery's names), and `logger`: the
 * user's logger (pino, winston, or any object with their level methods) that the app's workers
 * hand every log line to instead of writing Celery's lines to stderr.
 */
export type CelerySettings = NamedSettings & { logger?: ExternalLogger };

/**
 * A Celery app for programs that send tasks and read results, compatible with Python Celery apps
 * sharing the same broker and backend. `Celery` (the package's main entry) is this plus `worker()`.
 */
export class CeleryClient implements AppContext {
  /** Name of the main module (Celery's `main`). */
  readonly main: string;
  /**
   * Resolved settings, under celeriac's names (`conf.taskSerializer`); Celery's names read and
   * write the same settings (`conf.task_serializer`, `conf.broker_url`), an unknown name is warned
   * about once. `CELERY_BROKER_URL` / `CELERY_RESULT_BACKEND` win over `broker` / `backend`.
   */
  readonly conf: CeleryConfig;
  private readonly settings: Settings;
  /** The user's logger given as the `logger` setting, or null (log lines go to stderr). */
  readonly logger: ExternalLogger | null;
  /** Registered tasks by name. */
  readonly tasks = new Map<string, Task>();
  /** This client's id: the `reply_to` of every message it sends. */
  readonly oid: string = uuid4();
  /** The app's Lamport clock (Celery `app.clock`): forwarded by task-sent events and control broadcasts. */
  readonly clock = new LamportClock();
  /** Celery's signals (taskPrerun, taskSuccess, taskFailure, taskRetry, workerReady, ...) of every worker of this app. */
  readonly signals = new WorkerSignals();
  /** Runs this app's tasks and canvas in this process (`task.apply()`, `signature.apply()`, `taskAlwaysEager`). */
  readonly eager: EagerRunner = new EagerRunner(this);
  private securityCodec: AuthSerializer | null = null;
  private transportPromise: Promise<Transport> | null = null;
  private backendPromise: Promise<ResultBackend> | null = null;
  private producer: Producer | null = null;
  private controlInstance: Control | null = null;

  /** Remote control of workers (Celery `app.control`): `app.control.inspect().ping()`, `app.control.revoke(id)`, ... */
  get control(): Control {
    if (!this.controlInstance) this.controlInstance = new Control(this);
    return this.controlInstance;
  }

  /**
   * An app named `main` (Celery's `main`) with `settings` (celeriac's or Celery's names) over the
   * defaults; the environment's broker and backend win (src/settings.ts).
   */
  constructor(main: string, settings: CelerySettings = {}) {
    this.main = main;
    const { logger, ...given } = settings;
    this.logger = logger ?? null;
    this.settings = new Settings(given);
    this.conf = this.settings.conf;
  }

  /**
   * Celery's `config_from_object`: read settings from an object or a module path (relative to the
   * working directory; `path:attribute` for one export), under any accepted names, with Celery's
   * `namespace` (`{ namespace: "CELERY" }` reads `CELERY_BROKER_URL`, ... as Django settings give
   * them). They rank below the settings given to the constructor or set on `conf`, and replace
   * those of an earlier call. Call it before the app connects.
   *
   * ```ts
   * app.configFromObject("./celeryconfig");
   * app.configFromObject({ CELERY_BROKER_URL: "redis://h/0", CELERY_TASK_ACKS_LATE: true }, { namespace: "CELERY" });
   * ```
   */
  configFromObject(source: object | string, options: ConfigFromObjectOptions = {}): this {
    this.settings.configFromObject(source, options);
    return this;
  }

  /**
   * Map a Python exception (`"myapp.errors.PaymentDeclined"`: module and type; no module means
   * `builtins`) to an error class, both ways: a result that failed with it is thrown as an
   * instance of `cls` (called with the exception's args, or made with the stored fields when
   * `cls` extends `CeleryError`), and a `cls` (or a subclass) thrown by a task is stored as that
   * exception, so Python's `except PaymentDeclined` catches it. Registrations are per process
   * (exceptions have one name on the wire whatever app reads them).
   */
  registerError(name: string, cls: ErrorClass): this {
    registerErrorClass(name, cls);
    return this;
  }

  /** The `auth` serializer once `setupSecurity()` ran, else null. */
  get security(): AuthSerializer | null {
    return this.securityCodec;
  }

  /**
   * Message signing (Celery's `app.setup_security()`): reads the private key, its certificate and
   * the trusted certificates (`setup` overrides securityKey, securityKeyPassword,
   * securityCertificate, securityCertStore, securityDigest, securityLayout), then makes `auth`
   * the task and result serializer and the only content accepted. Every task sent is signed, every
   * result stored is signed, and a worker runs only tasks signed by a trusted, unexpired
   * certificate. Call it before the first send or result (the module of a `celeriac worker -A` app
   * calls it when it loads). Throws ImproperlyConfigured without key, certificate or store, and
   * SecurityError for an unreadable key or certificate or an expired trusted certificate.
   *
   * ```ts
   * app.setupSecurity({ key: "/etc/ssl/private/worker.key", cert: "/etc/ssl/certs/worker.pem", store: "/etc/ssl/certs/*.pem" });
   * ```
   */
  setupSecurity(setup: SecuritySetup = {}): void {
    this.securityCodec = authSerializerFrom(this.conf, setup);
    this.conf.taskSerializer = "auth";
    this.conf.resultSerializer = "auth";
    this.conf.acceptContent = ["auth"];
    this.producer = null;
  }

  /** Register a bound task: the handler gets a TaskContext first. */
  task<A extends unknown[], R, const N extends readonly string[] = []>(
    name: string,
    handler: (ctx: BoundTaskContext, ...args: A) => R,
    options: TaskOptions & { bind: true; params?: N },
  ): Task<A, R, N>;
  /**
   * Register a task. Python kwargs are mapped onto `params` names, or passed as a trailing object.
   * Its calls are typed from the handler: `delay(...args)`, `applyAsync(args, kwargs)` (kwargs
   * named by `params`), `s(...lastArgs)`, `si(...args)`.
   */
  task<A extends unknown[], R, const N extends readonly string[] = []>(
    name: string,
    handler: (...args: A) => R,
    options?: TaskOptions & { bind?: false; params?: N },
  ): Task<A, R, N>;
  task(name: string, handler: (...args: never[]) => unknown, options: TaskOptions = {}): Task {
    if (this.tasks.has(name)) throw new Error(`task ${name} is already registered`);
    const task = new Task(name, handler, annotatedOptions(name, options, () => this.conf.taskAnnotations), this);
    this.tasks.set(name, task);
    return task;
  }

  /**
   * The connected broker transport (created on first use). With `{ retry: false }` a first
   * connect is one attempt (the worker retries it with Celery's policy and logs). A failed connect
   * closes its transport, so nothing keeps reconnecting behind the caller; the next call starts
   * afresh.
   */
  connection(options: ConnectOptions = {}): Promise<Transport> {
    if (!this.transportPromise) {
      const transport = createTransport(this.conf);
      const p = transport.connect(options).then(() => transport);
      this.transportPromise = p;
      p.catch(() => {
        if (this.transportPromise === p) this.transportPromise = null;
        void transport.close().catch(() => undefined);
      });
    }
    return this.transportPromise;
  }

  /** The connected result backend (created on first use). */
  backend(): Promise<ResultBackend> {
    if (!this.backendPromise) {
      const backend = createBackend(this.conf, { connection: () => this.connection(), oid: this.oid, security: this.security });
      const p = backend.connect().then(() => backend);
      this.backendPromise = p;
      p.catch(() => {
        if (this.backendPromise === p) this.backendPromise = null;
        void backend.close().catch(() => undefined);
      });
    }
    return this.backendPromise;
  }

  /** Send a task by name (Celery `send_task`). Resolves once the broker accepted the message. */
  async sendTask<R = unknown>(
    name: string,
    args: WireValue[] = [],
    kwargs: { [key: string]: WireValue } = {},
    options: ApplyOptions = {},
  ): Promise<AsyncResult<R>> {
    const [result] = await this.sendTasks<R>([{ name, args, kwargs, options }]);
    return result;
  }

  /**
   * Send many tasks by name in one broker round trip (Redis: one pipeline of LPUSHes; RabbitMQ:
   * every basic.publish, then one wait for their confirms). Each message is the one `sendTask`
   * would send (options, ids, the running task as parent, result watching); resolves with their
   * results, in order, once the broker accepted every message. When it rejects, some of the
   * messages may have been sent.
   *
   * ```ts
   * const results = await app.sendTasks(items.map((x) => ({ name: "tasks.add", args: [x, 1] })));
   * ```
   */
  async sendTasks<R = unknown>(tasks: readonly TaskMessage[]): Promise<AsyncResult<R>[]> {
    const transport = await this.connection();
    this.producer ??= new Producer(transport, this.conf, this.oid, this.clock, this.security, this.signals);
    // Celery's send_task inside a running task: it becomes the parent (and the child one of its children).
    const parent = currentTask();
    const calls = tasks.map(({ name, args = [], kwargs = {}, options = {} }) => {
      if (parent) options = this.inheritFromParent(parent, options);
      return { name, args, kwargs, options: { ...options, taskId: options.taskId ?? uuid4() } };
    });
    const watched = calls.filter((c) => this.conf.backend && !(c.options.ignoreResult ?? this.tasks.get(c.name)?.options.ignoreResult ?? this.conf.taskIgnoreResult));
    if (watched.length > 0) {
      if (isRpcBackendUrl(this.conf.backend)) {
        // rpc:// (Celery's on_task_call): the reply queue must exist before the task is sent.
        // Results go to reply_to, so there is nothing to receive when it names another client.
        const own = watched.filter((c) => c.options.replyTo === undefined || c.options.replyTo === this.oid);
        if (own.length > 0) {
          const backend = await this.backend();
          await Promise.all(own.map(async (c) => backend.watch?.(c.options.taskId)));
        }
      } else {
        // As Celery's result consumer: listen for the result before the task can finish.
        this.backend().then((b) => {
          for (const c of watched) void b.watch?.(c.options.taskId);
        }, () => undefined);
      }
    }
    // Listed before the await, so a handler that does not wait for the send still lists it.
    if (parent) for (const c of calls) if (c.options.addToParent !== false) parent.children.push([[c.options.taskId, null], null]);
    await this.producer.sendMany(calls);
    return calls.map((c) => this.AsyncResult<R>(c.options.taskId));
  }

  private inheritFromParent(parent: CurrentTask, options: ApplyOptions): ApplyOptions {
    const out = { ...options, rootId: options.rootId ?? parent.rootId, parentId: options.parentId ?? parent.id };
    if (this.conf.taskInheritParentPriority && out.priority === undefined && parent.priority !== null) out.priority = parent.priority;
    return out;
  }

  /**
   * A signature by task name (Celery `app.signature`); the task need not be registered here. `R`
   * names its result as `get()` gives it; for typed args, declare the task with `remoteTask`.
   */
  signature<R = unknown>(name: string, args: WireValue[] = [], kwargs: { [key: string]: WireValue } = {}, options: ApplyOptions = {}): Signature<WireValue[], R> {
    return new Signature<WireValue[], R>(this, { task: name, args: [...args], kwargs: { ...kwargs }, options: {}, subtask_type: null, immutable: false }).set(options);
  }

  /**
   * Declare a task that runs elsewhere (a Python task, or another program's) once, and call it
   * typed: `A` its positional parameters, `R` its result as `get()` gives it, `N` its parameter
   * names for keyword calls. Nothing is registered: a worker of this app does not run it. `R` is
   * what arrives, not what Python returns: a Python `datetime` arrives as a `Date` from kombu ≥ 5.3
   * and as an ISO string from 5.2 (`string | Date`), a `Decimal` or `date` as a string.
   *
   * ```ts
   * const add = app.remoteTask<[x: number, y: number], number, ["x", "y"]>("proj.tasks.add");
   * await add.delay(2, 2);                      // AsyncResult<number>
   * await add.applyAsync([2], { y: 2 });        // kwargs by name
   * chain(add.s(1, 2), add.s(10));              // Chain<[], number>
   * ```
   */
  remoteTask<A extends unknown[] = WireValue[], R = unknown, N extends readonly string[] = []>(name: string, options: RemoteTaskOptions = {}): RemoteTask<A, R, N> {
    return new RemoteTask<A, R, N>(name, options, this);
  }

  /** A saved group's results (Celery `GroupResult.restore`), or null. */
  restoreGroup(groupId: string): Promise<GroupResult | null> {
    return GroupResult.restore(this, groupId);
  }

  /** A handle on a task's result by id. */
  AsyncResult<R = unknown>(id: string): AsyncResult<R> {
    return new AsyncResult<R>(id, () => this.backend());
  }

  /** Close broker and backend connections. */
  async close(): Promise<void> {
    const t = this.transportPromise;
    const b = this.backendPromise;
    this.transportPromise = null;
    this.backendPromise = null;
    this.producer = null;
    await Promise.all([t?.then((x) => x.close()).catch(() => undefined), b?.then((x) => x.close()).catch(() => undefined)]);
  }
}
