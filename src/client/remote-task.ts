/**
 * `RemoteTask`: a task's client half (`delay`, `applyAsync`, `s`, `si`, `signature`, `map`,
 * `starmap`, `chunks`), typed from its parameters `A`, result `R` and parameter names `N`. A
 * registered `Task` is one with a handler; `app.remoteTask<A, R, N>(name)` declares one that runs
 * elsewhere (a Python task, or a celeriac task of another program).
 */
import type { SignatureDict, WireValue } from "../protocol/message";
import type { ApplyOptions } from "./options";
import type { AsyncResult } from "./async-result";
import { Chunks, Signature, XMap } from "./canvas";
import type { CanvasApp } from "./canvas";
import type { ApplyArgs, PartialArgs, RemainingArgs, SignatureKwargs } from "./call-args";

/** What a remote task's declaration may set: default apply options (queue, priority, ...). */
export interface RemoteTaskOptions {
  /** Default apply options for this task (queue, priority, ...). */
  defaults?: ApplyOptions;
}

/**
 * A task by name, with typed calls. `A` are the positional parameters, `R` the result as `get()`
 * gives it (for a registered `Task`, `Jsonified` of what its handler returns), `N` the parameter
 * names for keyword calls (a literal tuple, e.g. `["x", "y"]`; `[]`: kwargs are the trailing object).
 */
export class RemoteTask<A extends unknown[] = unknown[], R = unknown, N extends readonly string[] = []> {
  constructor(
    /** The task name messages carry (`proj.tasks.add`). */
    readonly name: string,
    /** The task's settings (here: its default apply options). */
    readonly options: RemoteTaskOptions,
    /** The app it sends with. */
    protected readonly app: CanvasApp,
  ) {}

  /** Send with positional arguments (Celery `delay`). Resolves once the broker accepted the message. */
  delay(...args: A): Promise<AsyncResult<R>> {
    return this.send(args, {}, undefined);
  }

  /**
   * Send with args, kwargs and options (Celery `apply_async`). Args and kwargs are typed from the
   * parameters: `add.applyAsync([1, 2])`, with `params: ["x", "y"]` also `add.applyAsync([1], { y: 2 })`.
   */
  applyAsync(...[args, kwargs, options]: ApplyArgs<A, N>): Promise<AsyncResult<R>> {
    return this.send(args, kwargs, options);
  }

  /** Publish the call (a registered `Task` runs it here instead under `taskAlwaysEager`). */
  protected send(args: unknown[] | undefined, kwargs: object | undefined, options: ApplyOptions | undefined): Promise<AsyncResult<R>> {
    const wireKwargs = (kwargs ?? {}) as { [key: string]: WireValue };
    return this.app.sendTask<R>(this.name, (args ?? []) as WireValue[], wireKwargs, { ...this.options.defaults, ...options });
  }

  /**
   * A signature of this task (Celery `s()`) with its last arguments: `mul.s(10)` still takes `x`
   * in front (`Signature<[x: number], number>`), which a chain's previous step supplies.
   */
  s<P extends PartialArgs<A>>(...args: P): Signature<RemainingArgs<A, P>, R> {
    return new Signature(this.app, this.signatureDict(args, false));
  }

  /** An immutable signature (Celery `si()`) with all its arguments: the parent's result is not prepended. */
  si(...args: A): Signature<[], R> {
    return new Signature(this.app, this.signatureDict(args, true));
  }

  /** A signature with args (the last ones, as `s()`), kwargs and apply options (Celery `signature()`). */
  signature<P extends PartialArgs<A>>(
    args?: P,
    kwargs?: SignatureKwargs<A, N>,
    options: ApplyOptions = {},
  ): Signature<RemainingArgs<A, P>, R> {
    const sig = new Signature<RemainingArgs<A, P>, R>(this.app, { ...this.signatureDict(args ?? [], false), kwargs: (kwargs ?? {}) as { [key: string]: WireValue } });
    return sig.set({ ...this.options.defaults, ...options });
  }

  /** Celery `task.map(it)`: one `celery.map` task calling this task with each item; its result is the list. */
  map(it: Iterable<A[0]>): XMap<R[]> {
    return new XMap(this.app, "celery.map", this.s(), it as Iterable<WireValue>);
  }

  /** Celery `task.starmap(it)`: one `celery.starmap` task calling this task with each item's elements as args. */
  starmap(it: Iterable<A>): XMap<R[]> {
    return new XMap(this.app, "celery.starmap", this.s(), it as Iterable<WireValue>);
  }

  /** Celery `task.chunks(it, n)`: applied, a group of starmap tasks over parts of n items (a list of lists). */
  chunks(it: Iterable<A>, n: number): Chunks<R[][]> {
    return new Chunks(this.app, this.s(), it as Iterable<WireValue>, n);
  }

  private signatureDict(args: unknown[], immutable: boolean): SignatureDict {
    return { task: this.name, args: [...args] as WireValue[], kwargs: {}, options: {}, subtask_type: null, immutable };
  }
}
