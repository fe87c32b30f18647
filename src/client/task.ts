/** Task: a registered handler plus the client methods (`delay`, `applyAsync`, `s`). */
import type { WireValue, SignatureDict } from "../protocol/message";
import type { ApplyOptions, EagerApplyOptions } from "./options";
import type { AsyncResult } from "./async-result";
import type { EagerResult } from "./eager-result";
import { Chunks, eagerOf, Signature, XMap } from "./canvas";
import type { CanvasApp } from "./canvas";
import type { SignatureInput } from "../protocol/signature";
import { RetryRequest } from "../retry-policy";
import type { AnyHandler, BoundTaskContext, RegisteredTask, TaskOptions } from "../task-types";

export type { AnyHandler, BoundTaskContext, ErrorMatcher, RegisteredTask, RequestInfo, RetryOptions, TaskContext, TaskOptions } from "../task-types";

/** Thrown by `ctx.replace(sig)`: the worker sends `sig` in place of the running task (Celery `Task.replace`). */
export class ReplaceRequest extends Error {
  constructor(readonly signature: SignatureInput) {
    super("Replaced by new task");
    this.name = "Ignore";
  }
}

/** The context of a bound handler called directly (Celery's `request.called_directly`). */
function directContext(name: string, args: WireValue[]): BoundTaskContext {
  return {
    request: {
      id: "", task: name, name, args, kwargs: {}, retries: 0, rootId: "", parentId: null, groupId: null, groupIndex: null,
      eta: null, expires: null, hostname: "", correlationId: "", replyTo: "", origin: null, ignoreResult: false,
      timelimit: [null, null], deliveryInfo: { exchange: "", routingKey: "", priority: null, redelivered: false }, headers: {},
    },
    retry(options = {}): never {
      // Celery: called directly, retry() raises the exc it was given (or Retry).
      if (options.exc instanceof Error) throw options.exc;
      throw new RetryRequest(options);
    },
    updateState: () => Promise.resolve(),
    signal: new AbortController().signal,
    replace(): never {
      throw new Error(`${name} was called directly: replace() needs a worker or an eager run`);
    },
  };
}

/** A registered task. `A` are the positional parameters, `R` the result. */
export class Task<A extends unknown[] = unknown[], R = unknown> implements RegisteredTask {
  constructor(
    readonly name: string,
    readonly handler: AnyHandler,
    readonly options: TaskOptions,
    private readonly app: CanvasApp,
  ) {}

  /** Send with positional arguments (Celery `delay`). Resolves once the broker accepted the message. */
  delay(...args: A): Promise<AsyncResult<Awaited<R>>> {
    return this.applyAsync(args);
  }

  /**
   * Send with args, kwargs and options (Celery `apply_async`). With `taskAlwaysEager` the task runs
   * in this process instead (args and kwargs through the task serializer and back, as Celery
   * does) and the result is an `EagerResult`.
   */
  applyAsync(args?: A | WireValue[], kwargs?: { [key: string]: WireValue }, options?: ApplyOptions): Promise<AsyncResult<Awaited<R>>> {
    const all = { ...this.options.defaults, ...options };
    if (this.app.eager?.always) return this.app.eager.applyTaskAsync(this.name, (args ?? []) as WireValue[], kwargs ?? {}, all) as Promise<EagerResult<Awaited<R>>>;
    return this.app.sendTask<Awaited<R>>(this.name, (args ?? []) as WireValue[], kwargs ?? {}, all);
  }

  /**
   * Run the task in this process, now, and wait for it (Celery `task.apply()`): nothing is sent,
   * no broker or worker is needed. Resolves with an `EagerResult` (SUCCESS, or FAILURE holding the
   * thrown error); with `throw: true` or `taskEagerPropagates` the error is thrown instead. A bound
   * handler gets a context with `request.isEager`; `ctx.retry()` runs the retry at once (the
   * countdown is not waited), up to max_retries; `link` / `linkError` are applied with the result.
   */
  apply(args?: A | WireValue[], kwargs?: { [key: string]: WireValue }, options?: EagerApplyOptions): Promise<EagerResult<Awaited<R>>> {
    return eagerOf(this.app).applyTask(this.name, (args ?? []) as WireValue[], kwargs ?? {}, { ...this.options.defaults, ...options }) as Promise<EagerResult<Awaited<R>>>;
  }

  /**
   * Call the handler directly, as a plain function (Celery `task(...)` / `task.run(...)`): no
   * message, no result, no retries; the return value is the handler's own (a promise for an async
   * handler). A bound task's handler gets a context for a direct call: `ctx.retry()` throws the
   * given `exc` (or a Retry), `updateState` does nothing, `replace` is refused.
   */
  run(...args: A): R {
    const handler = this.handler as (...a: unknown[]) => R;
    return this.options.bind ? handler(directContext(this.name, args as WireValue[]), ...args) : handler(...args);
  }

  /** A signature of this task (Celery `s()`); `.toDict()` gives Celery's dict form. */
  s(...args: A | WireValue[]): Signature {
    return new Signature(this.app, this.signatureDict(args as WireValue[], false));
  }

  /** An immutable signature (Celery `si()`): the parent's result is not prepended. */
  si(...args: A | WireValue[]): Signature {
    return new Signature(this.app, this.signatureDict(args as WireValue[], true));
  }

  /** A signature with args, kwargs and apply options (Celery `signature()`). */
  signature(args: WireValue[] = [], kwargs: { [key: string]: WireValue } = {}, options: ApplyOptions = {}): Signature {
    const sig = new Signature(this.app, { ...this.signatureDict(args, false), kwargs });
    return sig.set({ ...this.options.defaults, ...options });
  }

  /** Celery `task.map(it)`: one `celery.map` task calling this task with each item. */
  map(it: Iterable<WireValue>): XMap {
    return new XMap(this.app, "celery.map", this.s(), it);
  }

  /** Celery `task.starmap(it)`: one `celery.starmap` task calling this task with each item's elements as args. */
  starmap(it: Iterable<WireValue[]>): XMap {
    return new XMap(this.app, "celery.starmap", this.s(), it as Iterable<WireValue>);
  }

  /** Celery `task.chunks(it, n)`: applied, a group of starmap tasks over parts of n items. */
  chunks(it: Iterable<WireValue[]>, n: number): Chunks {
    return new Chunks(this.app, this.s(), it as Iterable<WireValue>, n);
  }

  private signatureDict(args: WireValue[], immutable: boolean): SignatureDict {
    return { task: this.name, args: [...args], kwargs: {}, options: {}, subtask_type: null, immutable };
  }
}
