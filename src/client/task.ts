/** Task: a registered handler plus the client methods (`delay`, `applyAsync`, `s`). */
import type { WireValue, SignatureDict } from "../protocol/message";
import type { ApplyOptions } from "./options";
import type { AsyncResult } from "./async-result";
import { Chunks, Signature, XMap } from "./canvas";
import type { CanvasApp } from "./canvas";
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

  /** Send with args, kwargs and options (Celery `apply_async`). */
  applyAsync(args?: A | WireValue[], kwargs?: { [key: string]: WireValue }, options?: ApplyOptions): Promise<AsyncResult<Awaited<R>>> {
    return this.app.sendTask<Awaited<R>>(this.name, (args ?? []) as WireValue[], kwargs ?? {}, { ...this.options.defaults, ...options });
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
