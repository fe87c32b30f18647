/**
 * Eager runs (Celery's `Task.apply`, `Signature.apply` and `task_always_eager`): a task's handler
 * called in this process, as Celery's eager tracer calls it, with its outcome as an `EagerResult`;
 * chains, groups and chords run step by step as Celery's `apply()` of each does.
 */
import { randomUUID as uuid4 } from "node:crypto";
import { hostname } from "node:os";
import type { AppContext } from "../app-context";
import { currentTask, runAsTask } from "../current-task";
import type { CurrentTask } from "../current-task";
import { handlerArguments } from "../handler-arguments";
import { errorToExceptionInfo, exceptionInfoToError, formatTraceback, maxRetriesExceeded, notRegistered } from "../protocol/exceptions";
import type { SignatureDict, WireObject, WireValue } from "../protocol/message";
import { pyRepr, PyTuple } from "../protocol/repr";
import { buildResultMeta } from "../protocol/result-meta";
import type { TaskState } from "../protocol/result-meta";
import { deserialize, serialize } from "../protocol/serializers";
import { normalizeSignature, toSignatureDict } from "../protocol/signature";
import type { SignatureInput } from "../protocol/signature";
import { autoretryOptions, maxRetriesOf, RetryRequest } from "../retry-policy";
import type { BoundTaskContext, RegisteredTask, RequestInfo, RetryOptions } from "../task-types";
import { taskLineWriter } from "../logging";
import { applySignature, chunksGroup, GroupResult, wireToApplyOptions } from "./canvas";
import type { CanvasApp, CanvasResult, EagerCanvas } from "./canvas";
import { EagerResult } from "./eager-result";
import type { EagerApplyOptions } from "./options";
import { ReplaceRequest } from "./task";

/** What an eager run needs of the app: settings, the registry, the backend (update_state), sending (links when not always eager). */
export type EagerApp = CanvasApp & Pick<AppContext, "conf" | "tasks">;

/** How one run of the handler ended. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A link / link_error option (one signature or many) as a list of dicts. */
function sigList(v: SignatureInput | SignatureInput[] | undefined): SignatureDict[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((s) => toSignatureDict(s));
}

/** Runs tasks and canvas of one app in this process. */
export class EagerRunner implements EagerCanvas {
  constructor(private readonly app: EagerApp) {}

  /** `taskAlwaysEager`: `applyAsync` runs here too. */
  get always(): boolean {
    return this.app.conf.taskAlwaysEager;
  }

  /**
   * Celery's always-eager `apply_async`: args and kwargs go through the task serializer and back,
   * as they would through a broker, then the task is applied here.
   */
  applyTaskAsync(name: string, args: WireValue[], kwargs: WireObject, options: EagerApplyOptions): Promise<EagerResult> {
    const serializer = options.serializer ?? this.app.conf.taskSerializer;
    const body = serialize([args, kwargs], serializer);
    const copy = deserialize(body.body, body.contentType, body.contentEncoding, [body.contentType]) as [WireValue[], WireObject];
    return this.applyTask(name, copy[0], copy[1], options);
  }

  /**
   * Celery `task.apply()`: run the task here and now. Throws its error (or, on `ctx.retry()`, the
   * Retry) when `throw` or `taskEagerPropagates`; otherwise a failure is a FAILURE result.
   */
  async applyTask(name: string, args: WireValue[], kwargs: WireObject, options: EagerApplyOptions = {}): Promise<EagerResult> {
    const task = this.app.tasks.get(name);
    if (!task) throw exceptionInfoToError(notRegistered(name));
    const conf = this.app.conf;
    const id = options.taskId ?? uuid4();
    const retries = options.retries ?? 0;
    const propagate = options.throw ?? conf.taskEagerPropagates;
    const parent = currentTask();
    const rootId = parent ? parent.rootId || id : id;
    const ignoreResult = options.ignoreResult ?? task.options.ignoreResult ?? conf.taskIgnoreResult;
    const request = this.request(task, id, args, kwargs, retries, rootId, parent?.id ?? null, ignoreResult, options);
    const lineage = { parentId: id, rootId };
    let outcome = await this.run(task, request, { id, rootId, priority: options.priority ?? null, children: [], done: false });
    if (!outcome.ok && outcome.error instanceof ReplaceRequest) outcome = await this.replaced(outcome.error);
    if (outcome.ok) {
      for (const link of sigList(options.link)) await applySignature(this.app, link, [outcome.value as WireValue], lineage);
      if (!ignoreResult && conf.taskStoreEagerResult) await this.store(id, "SUCCESS", outcome.value as WireValue);
      return new EagerResult(id, outcome.value, "SUCCESS", null, name);
    }
    const err = outcome.error;
    const retry = err instanceof RetryRequest ? err.options : autoretryOptions(err, retries, task.options);
    let failure = err;
    if (retry) {
      const max = maxRetriesOf(retry, task.options);
      if (max === null || retries + 1 <= max) {
        // Celery: the Retry propagates when eager errors do; otherwise the retry runs at once (no countdown).
        if (propagate) throw err instanceof RetryRequest ? err : new RetryRequest(retry);
        return this.applyTask(name, retry.args ?? args, retry.kwargs ?? kwargs, { ...options, taskId: id, retries: retries + 1 });
      }
      failure = retry.exc ?? exceptionInfoToError(maxRetriesExceeded(`Can't retry ${name}[${id}] args:${pyRepr(new PyTuple(retry.args ?? args))} kwargs:${pyRepr(retry.kwargs ?? kwargs)}`));
    }
    if (propagate) throw failure;
    const traceback = formatTraceback(failure);
    // Celery: ignore_result stores errors only with store_errors_even_if_ignored.
    const storeErrors = ignoreResult ? (task.options.storeErrorsEvenIfIgnored ?? conf.taskStoreErrorsEvenIfIgnored) : conf.taskStoreEagerResult;
    if (storeErrors) await this.store(id, "FAILURE", errorToExceptionInfo(failure), traceback);
    for (const errback of sigList(options.linkError)) await applySignature(this.app, errback, [id], lineage);
    return new EagerResult(id, failure, "FAILURE", traceback, name);
  }

  /** Celery `signature.apply()` of any signature: a task, or a chain, group or chord run step by step. */
  async apply(dict: SignatureDict, args: WireValue[] = [], options: EagerApplyOptions = {}, kwargs: WireObject = {}): Promise<CanvasResult> {
    switch (dict.subtask_type) {
      case "group":
        return this.applyGroup(dict, args, options, kwargs);
      case "chain":
        return this.applyChain(dict, args, options, kwargs);
      case "chord":
        return this.applyChord(dict, args, options, kwargs);
      default:
        if (dict.task === "celery.chunks") return this.applyGroup(chunksGroup(this.app, dict).toDict(), args, options, kwargs);
        return this.applyTask(dict.task, dict.immutable ? dict.args : [...args, ...dict.args], dict.immutable ? dict.kwargs : { ...dict.kwargs, ...kwargs }, {
          ...wireToApplyOptions(dict.options),
          ...options,
        });
    }
  }

  /** Celery `group.apply()`: every member applied in order, sharing a group id. */
  async applyGroup(dict: SignatureDict, args: WireValue[] = [], options: EagerApplyOptions = {}, kwargs: WireObject = {}): Promise<GroupResult> {
    const groupOpts = { ...wireToApplyOptions(dict.options), ...options };
    const gid = groupOpts.groupId ?? groupOpts.taskId ?? uuid4();
    const memberOptions: EagerApplyOptions = { ...groupOpts, groupId: gid };
    delete memberOptions.taskId;
    const results: EagerResult[] = [];
    for (const [index, member] of tasksOf(dict).entries()) {
      const r = await this.apply(member, dict.immutable ? [] : args, { ...memberOptions, groupIndex: index }, kwargs);
      if (r instanceof GroupResult) results.push(...(r.results as EagerResult[]));
      else results.push(r as EagerResult);
    }
    return new GroupResult(gid, results, () => this.app.backend());
  }

  /**
   * Celery `chain.apply()`: each step applied with the previous step's value (its `get()`, which
   * throws a failed step's error), linked by `parent`; the chain's own link goes to its last step.
   */
  private async applyChain(dict: SignatureDict, args: WireValue[], options: EagerApplyOptions, kwargs: WireObject): Promise<CanvasResult> {
    const { link, ...stepOptions } = { ...wireToApplyOptions(dict.options), ...options };
    const steps = tasksOf(dict);
    if (steps.length === 0) throw new Error("chain is empty");
    let last: CanvasResult | null = null;
    for (const [index, step] of steps.entries()) {
      const withLink = link !== undefined && index === steps.length - 1 ? linked(step, sigList(link)) : step;
      const stepArgs = last ? [(await last.get()) as WireValue] : args;
      const res: CanvasResult = await this.apply(withLink, stepArgs, stepOptions, last ? {} : kwargs);
      if (res instanceof EagerResult || res instanceof GroupResult) res.parent = last;
      last = res;
    }
    return last as CanvasResult;
  }

  /** Celery `chord.apply()`: the header applied as a group, then the body with the list of its values. */
  private async applyChord(dict: SignatureDict, args: WireValue[], options: EagerApplyOptions, kwargs: WireObject): Promise<CanvasResult> {
    const header = normalizeSignature(dict.kwargs.header);
    const body = dict.kwargs.body == null ? null : normalizeSignature(dict.kwargs.body);
    if (!body) throw new Error("chord needs a body");
    const group = header.subtask_type === "group" ? header : { ...header, subtask_type: "group", kwargs: { tasks: [header] } };
    const values = await (await this.applyGroup(group, dict.immutable ? [] : args, {}, kwargs)).get();
    const { link, linkError } = { ...wireToApplyOptions(dict.options), ...options };
    return this.apply(body, [values as WireValue], { link, linkError });
  }

  /** The handler run once, as the current task (tasks it sends or applies get it as parent). */
  private async run(task: RegisteredTask, request: RequestInfo, current: CurrentTask): Promise<Outcome> {
    try {
      const args = handlerArguments(request.args, request.kwargs, task);
      const handler = task.handler as (...a: unknown[]) => unknown;
      const value = await runAsTask(current, () => (task.options.bind ? handler(this.context(request), ...args) : handler(...args)));
      return { ok: true, value: value === undefined ? null : value };
    } catch (error) {
      return { ok: false, error };
    } finally {
      current.done = true;
    }
  }

  /** Celery's eager `self.replace(sig)`: the replacement is applied here, its value becomes the task's. */
  private async replaced(rr: ReplaceRequest): Promise<Outcome> {
    try {
      const r = await this.apply(toSignatureDict(rr.signature));
      return { ok: true, value: await r.get() };
    } catch (error) {
      return { ok: false, error };
    }
  }

  /** The context a bound handler gets in an eager run (`request.isEager` set, no time limits). */
  private context(request: RequestInfo): BoundTaskContext {
    return {
      request,
      retry: (options: RetryOptions = {}): never => {
        throw new RetryRequest(options);
      },
      // Celery's update_state stores whatever the run: a no-op without a result backend.
      updateState: (state: TaskState, meta: WireValue = null) => this.store(request.id, state, meta),
      signal: new AbortController().signal,
      logger: taskLineWriter(request.name, request.id),
      replace: (sig: SignatureInput): never => {
        throw new ReplaceRequest(sig);
      },
    };
  }

  private async store(id: string, status: TaskState, result: WireValue, traceback: string | null = null): Promise<void> {
    await (await this.app.backend()).store(id, buildResultMeta({ taskId: id, status, result, traceback }));
  }

  /** Celery's eager request: is_eager, this host, the apply options' delivery info. */
  private request(task: RegisteredTask, id: string, args: WireValue[], kwargs: WireObject, retries: number, rootId: string, parentId: string | null, ignoreResult: boolean, options: EagerApplyOptions): RequestInfo {
    const limits = task.options;
    return {
      id,
      task: task.name,
      name: options.shadow ?? task.name,
      args,
      kwargs,
      retries,
      rootId,
      parentId,
      groupId: options.groupId ?? null,
      groupIndex: options.groupIndex ?? null,
      eta: null,
      expires: null,
      hostname: hostname(),
      correlationId: id,
      replyTo: "",
      origin: null,
      ignoreResult,
      timelimit: [limits.timeLimit ?? null, limits.softTimeLimit ?? null],
      deliveryInfo: { exchange: options.exchange ?? "", routingKey: options.routingKey ?? "", priority: options.priority ?? null, redelivered: false },
      headers: { ...options.headers },
      isEager: true,
    };
  }
}

function tasksOf(dict: SignatureDict): SignatureDict[] {
  const tasks = dict.kwargs.tasks;
  return (Array.isArray(tasks) ? tasks : []).map((t) => normalizeSignature(t));
}

/** `step` with `links` added to its link option (for a chord: to its body, as Celery's chain.apply). */
function linked(step: SignatureDict, links: SignatureDict[]): SignatureDict {
  if (step.subtask_type === "chord" && step.kwargs.body != null) {
    return { ...step, kwargs: { ...step.kwargs, body: linked(normalizeSignature(step.kwargs.body), links) } };
  }
  const own = step.options.link;
  const list = own == null ? [] : Array.isArray(own) ? own : [own];
  return { ...step, options: { ...step.options, link: [...list, ...links] } };
}
