/** Task: a registered handler plus the client methods of `RemoteTask` (`delay`, `applyAsync`, `s`). */
import type { CanvasApp } from "./canvas";
import { RemoteTask } from "./remote-task";
import type { Jsonified } from "./jsonified";
import type { SignatureInput } from "../protocol/signature";
import type { AnyHandler, RegisteredTask, TaskOptions } from "../task-types";

export type { AnyHandler, BoundTaskContext, ErrorMatcher, RegisteredTask, RequestInfo, RetryOptions, TaskContext, TaskOptions } from "../task-types";

/** Thrown by `ctx.replace(sig)`: the worker sends `sig` in place of the running task (Celery `Task.replace`). */
export class ReplaceRequest extends Error {
  constructor(readonly signature: SignatureInput) {
    super("Replaced by new task");
    this.name = "Ignore";
  }
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
}
