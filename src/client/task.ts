/** Task: a registered handler plus the client methods of `RemoteTask` (`delay`, `applyAsync`, `s`), eager runs and a direct call. */
import type { WireValue } from "../protocol/message";
import type { ApplyOptions, EagerApplyOptions } from "./options";
import type { AsyncResult } from "./async-result";
import type { EagerResult } from "./eager-result";
import { eagerOf } from "./canvas";
import type { ApplyArgs } from "./call-args";
import type { CanvasApp } from "./canvas";
import { RemoteTask } from "./remote-task";
import type { Jsonified } from "./jsonified";
import type { SignatureInput } from "../protocol/signature";
import { RetryRequest } from "../retry-policy";
import { taskLineWriter } from "../logging";
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
    logger: taskLineWriter(name, ""),
    replace(): never {
      throw new Error(`${name} was called directly: replace() needs a worker or an eager run`);
    },
  };
}

/**
 * A registered task. `A` are the positional parameters, `R` what the handler returns (its
 * results' `get()` gives `Jsonified<Awaited<R>>`, what the json result serializer brings back: a
 * `Date` as its ISO string), `N` the `params` names (kwargs are typed from them; `[]`: a kwargs
 * object is the handler's trailing argument).
 */
export class Task<A extends unknown[] = unknown[], R = unknown, N extends readonly string[] = []>
  extends RemoteTask<A, Jsonified<Awaited<R>>, N>
  implements RegisteredTask {
  constructor(
    name: string,
    readonly handler: AnyHandler,
    override readonly options: TaskOptions,
    app: CanvasApp,
  ) {
    super(name, options, app);
  }

  /**
   * Send, or with `taskAlwaysEager` run the task in this process instead (args and kwargs through
   * the task serializer and back, as Celery does): the result is then an `EagerResult`.
   */
  protected override send(args: unknown[] | undefined, kwargs: object | undefined, options: ApplyOptions | undefined): Promise<AsyncResult<Jsonified<Awaited<R>>>> {
    const eager = this.app.eager;
    if (!eager?.always) return super.send(args, kwargs, options);
    const all = { ...this.options.defaults, ...options };
    return eager.applyTaskAsync(this.name, (args ?? []) as WireValue[], (kwargs ?? {}) as { [key: string]: WireValue }, all) as Promise<EagerResult<Jsonified<Awaited<R>>>>;
  }

  /**
   * Run the task in this process, now, and wait for it (Celery `task.apply()`): nothing is sent,
   * no broker or worker is needed. Resolves with an `EagerResult` (SUCCESS, or FAILURE holding the
   * thrown error); with `throw: true` or `taskEagerPropagates` the error is thrown instead. A bound
   * handler gets a context with `request.isEager`; `ctx.retry()` runs the retry at once (the
   * countdown is not waited), up to max_retries; `link` / `linkError` are applied with the result.
   */
  apply(...[args, kwargs, options]: ApplyArgs<A, N, EagerApplyOptions>): Promise<EagerResult<Jsonified<Awaited<R>>>> {
    const wireKwargs = (kwargs ?? {}) as { [key: string]: WireValue };
    return eagerOf(this.app).applyTask(this.name, (args ?? []) as WireValue[], wireKwargs, { ...this.options.defaults, ...options }) as Promise<EagerResult<Jsonified<Awaited<R>>>>;
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
}
