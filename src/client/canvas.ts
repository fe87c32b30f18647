/**
 * Canvas (docs/protocol.md §3): signatures, chain, group, chord, GroupResult. Signatures serialise to
 * Celery's dict form `{task, args, kwargs, options, subtask_type, immutable}` with snake_case
 * `options` (what Python puts on the wire), so they can be embedded in messages either way.
 */
import { randomUUID as uuid4 } from "node:crypto";
import type { AppContext } from "../app-context";
import type { ResultBackend } from "../backend/types";
import { isWireObject } from "../protocol/message";
import type { SignatureDict, WireObject, WireValue } from "../protocol/message";
import type { ResultTuple } from "../protocol/result-meta";
import { READY_STATES } from "../protocol/result-meta";
import { normalizeSignature, toSignatureDict } from "../protocol/signature";
import type { SignatureInput } from "../protocol/signature";
import { AsyncResult } from "./async-result";
import type { GetOptions } from "./async-result";
import type { ApplyOptions, EagerApplyOptions, TaskMessage } from "./options";
import type { EagerResult } from "./eager-result";

/**
 * Runs tasks and signatures in this process (Celery's `apply`, src/client/eager.ts): the app's,
 * given to its tasks and canvas as `CanvasApp.eager`.
 */
export interface EagerCanvas {
  /** `taskAlwaysEager`: `applyAsync` of tasks and canvas runs in this process too. */
  readonly always: boolean;
  /** Celery `task.apply()` of a registered task. */
  applyTask(name: string, args: WireValue[], kwargs: WireObject, options: EagerApplyOptions): Promise<EagerResult>;
  /** Celery's always-eager `task.apply_async()`: args and kwargs go through the task serializer first. */
  applyTaskAsync(name: string, args: WireValue[], kwargs: WireObject, options: EagerApplyOptions): Promise<EagerResult>;
  /** Celery `signature.apply()` of any signature (task, chain, group, chord). */
  apply(dict: SignatureDict, args: WireValue[], options: EagerApplyOptions, kwargs: WireObject): Promise<CanvasResult>;
  /** Celery `group.apply()`. */
  applyGroup(dict: SignatureDict, args: WireValue[], options: EagerApplyOptions, kwargs: WireObject): Promise<GroupResult>;
}

/**
 * What canvas code (and a `Task`) needs from the app: its id, sending, the result backend, and
 * (apps have it; without it `apply()` is refused) its eager runner.
 */
export type CanvasApp = Pick<AppContext, "oid" | "sendTask" | "sendTasks" | "backend"> & { readonly eager?: EagerCanvas };

/** The app's eager runner; an error for a CanvasApp that has none. */
export function eagerOf(app: CanvasApp): EagerCanvas {
  if (!app.eager) throw new Error("this app cannot run tasks eagerly (no eager runner)");
  return app.eager;
}

/** The eager runner when `taskAlwaysEager` is on, else null. */
function alwaysEager(app: CanvasApp): EagerCanvas | null {
  return app.eager?.always ? app.eager : null;
}

/** Backends with Celery's native chord join (Redis). */
export interface ChordBackend extends ResultBackend {
  setChordSize(groupId: string, size: number): Promise<void>;
}

export function isChordBackend(b: ResultBackend): b is ChordBackend {
  return typeof (b as Partial<ChordBackend>).setChordSize === "function";
}

/**
 * Backends that record a chord before its header is sent (Celery's `apply_chord`), as
 * django-celery-results' DatabaseBackend creates its `ChordCounter`: the header members complete
 * the chord through that record, whichever worker (Python or celeriac) runs them.
 */
export interface ChordRecordBackend extends ResultBackend {
  /** Celery `apply_chord`: the group id and the header members' result tuples, in order (their count is the chord size). */
  applyChord(groupId: string, header: ResultTuple[]): Promise<void>;
}

function isChordRecordBackend(b: ResultBackend): b is ChordRecordBackend {
  return typeof (b as Partial<ChordRecordBackend>).applyChord === "function";
}

// ------------------------------------------------------------------ options wire <-> camelCase

/** Signature option keys (Celery, snake_case) and their ApplyOptions names. */
const OPTION_NAMES: ReadonlyArray<[string, keyof ApplyOptions]> = [
  ["task_id", "taskId"],
  ["reply_to", "replyTo"],
  ["queue", "queue"],
  ["exchange", "exchange"],
  ["routing_key", "routingKey"],
  ["priority", "priority"],
  ["countdown", "countdown"],
  ["eta", "eta"],
  ["expires", "expires"],
  ["time_limit", "timeLimit"],
  ["soft_time_limit", "softTimeLimit"],
  ["serializer", "serializer"],
  ["compression", "compression"],
  ["headers", "headers"],
  ["ignore_result", "ignoreResult"],
  ["shadow", "shadow"],
  ["root_id", "rootId"],
  ["parent_id", "parentId"],
  ["group_id", "groupId"],
  ["group_index", "groupIndex"],
  ["retries", "retries"],
  ["argsrepr", "argsrepr"],
  ["kwargsrepr", "kwargsrepr"],
  ["link", "link"],
  ["link_error", "linkError"],
  ["chord", "chord"],
  ["chain", "chain"],
];

function sigList(v: WireValue): SignatureDict[] {
  return (Array.isArray(v) ? v : [v]).map((s) => normalizeSignature(s));
}

/** Signature `options` (snake_case, as on the wire) → ApplyOptions. Unknown and null keys are dropped. */
export function wireToApplyOptions(options: WireObject): ApplyOptions {
  const out: Record<string, unknown> = {};
  for (const [wire, camel] of OPTION_NAMES) {
    const v = options[wire];
    if (v === null || v === undefined) continue;
    if (wire === "link" || wire === "link_error" || wire === "chain") out[camel] = sigList(v);
    else if (wire === "chord") out[camel] = normalizeSignature(v);
    else if (wire === "exchange" && typeof v !== "string") {
      const name = isWireObject(v) ? v.name : null;
      if (typeof name === "string") out[camel] = name;
    } else out[camel] = v;
  }
  return out;
}

/** ApplyOptions → signature `options` (snake_case). */
export function applyToWireOptions(options: ApplyOptions): WireObject {
  const out: WireObject = {};
  const src = options as Record<string, unknown>;
  for (const [wire, camel] of OPTION_NAMES) {
    const v = src[camel];
    if (v === undefined) continue;
    if (camel === "link" || camel === "linkError" || camel === "chain") {
      out[wire] = v === null ? null : (Array.isArray(v) ? v : [v]).map((s) => toSignatureDict(s as SignatureInput));
    } else if (camel === "chord") out[wire] = v === null ? null : toSignatureDict(v as SignatureInput);
    else out[wire] = v as WireValue;
  }
  return out;
}

// ------------------------------------------------------------------ result handles

/** Anything canvas apply returns: an AsyncResult or a GroupResult. */
export type CanvasResult = AsyncResult<unknown> | GroupResult;

/** Any signature, whatever its args, result and result handle (a plain task, chain, group, chord). */
export type AnySignature = Signature<unknown[], unknown, CanvasResult>;

/** What applying the signature `S` resolves with: `AsyncResult<R>`, or a `GroupResult` for a group. */
export type HandleOf<S> = S extends Signature<unknown[], unknown, infer H> ? H : CanvasResult;

/** The result a signature's handle gives (`R` of its `AsyncResult<R>`; the list of a `GroupResult`). */
export type ResultOf<S> = HandleOf<S> extends AsyncResult<infer R> ? R : HandleOf<S> extends GroupResult<infer Rs> ? Rs : unknown;

/** The positional args a signature still accepts in front of its partial args. */
export type ArgsOf<S> = S extends Signature<infer A, unknown, CanvasResult> ? A : WireValue[];

/** Celery's `as_tuple()`: `[[id, parent_tuple|null], null]` or `[[gid, null], [members]]`. */
export function resultTuple(r: CanvasResult): ResultTuple {
  if (r instanceof GroupResult) return r.asTuple();
  const parent = (r as AsyncResult<unknown> & { parent?: CanvasResult | null }).parent;
  return [[r.id, parent ? resultTuple(parent) : null], null];
}

/** Sets `.parent` on an AsyncResult (chain links, like Celery's `result.parent`). */
function withParent<R>(r: AsyncResult<R>, parent: CanvasResult | null): AsyncResult<R> & { parent: CanvasResult | null } {
  const out = r as AsyncResult<R> & { parent: CanvasResult | null };
  out.parent = parent;
  return out;
}

/** Results of a group (Celery `GroupResult`); `R` lists the members' results (as they arrive), in order. */
export class GroupResult<R extends unknown[] = unknown[]> {
  /** Set for a chord's body result chain (`chord(...).parent`); null otherwise. */
  parent: CanvasResult | null = null;

  constructor(
    readonly id: string,
    readonly results: AsyncResult<unknown>[],
    private readonly backendRef: () => Promise<ResultBackend>,
  ) {}

  /** Every member's result in order; throws the first failure when propagate (default). */
  async get(options: GetOptions = {}): Promise<R> {
    return this.join(options);
  }

  /** Same as get (Celery's join: members awaited one by one, in order). */
  async join(options: GetOptions = {}): Promise<R> {
    const end = options.timeout == null ? null : Date.now() + options.timeout;
    const out: unknown[] = [];
    for (const r of this.results) {
      const left = end === null ? null : Math.max(1, end - Date.now());
      out.push(await r.get({ timeout: left, propagate: options.propagate }));
    }
    return out as R;
  }

  /** Number of members that succeeded. */
  async completedCount(): Promise<number> {
    const states = await Promise.all(this.results.map((r) => r.state()));
    return states.filter((s) => s === "SUCCESS").length;
  }

  /** True when every member is ready. */
  async ready(): Promise<boolean> {
    const states = await Promise.all(this.results.map((r) => r.state()));
    return states.every((s) => READY_STATES.has(s));
  }

  async successful(): Promise<boolean> {
    const states = await Promise.all(this.results.map((r) => r.state()));
    return states.every((s) => s === "SUCCESS");
  }

  async failed(): Promise<boolean> {
    const states = await Promise.all(this.results.map((r) => r.state()));
    return states.some((s) => s === "FAILURE");
  }

  asTuple(): ResultTuple {
    return [[this.id, null], this.results.map((r) => resultTuple(r))];
  }

  /** Celery `GroupResult.save()`: `celery-taskset-meta-<gid>` = `{"result": as_tuple()}`. */
  async save(): Promise<void> {
    await (await this.backendRef()).saveGroup(this.id, { result: this.asTuple() });
  }

  /** Delete the saved group. */
  async delete(): Promise<void> {
    await (await this.backendRef()).deleteGroup(this.id);
  }

  /** Celery `GroupResult.restore(id)`; null when nothing was saved. */
  static async restore(app: CanvasApp, groupId: string): Promise<GroupResult | null> {
    const backend = () => app.backend();
    const meta = await (await backend()).restoreGroup(groupId);
    if (!meta) return null;
    return fromTuple(meta.result, backend) as GroupResult;
  }

  toString(): string {
    return this.id;
  }
}

function fromTuple(t: ResultTuple, backend: () => Promise<ResultBackend>): CanvasResult {
  // Celery 5.2 saves groups as [[gid, null], [...]]; accept [gid, [...]] too.
  const head = t[0] as unknown;
  const id = Array.isArray(head) ? String(head[0]) : String(head);
  const members = t[1];
  if (Array.isArray(members)) return new GroupResult(id, members.map((m) => fromTuple(m, backend) as AsyncResult<unknown>), backend);
  const parent = Array.isArray(head) && head[1] ? fromTuple(head[1] as ResultTuple, backend) : null;
  return withParent(new AsyncResult<unknown>(id, backend), parent);
}

// ------------------------------------------------------------------ signatures

/** `applyAsync(args, kwargs, options)` of a signature that still accepts the args `A` in front. */
export type SignatureApplyArgs<A extends unknown[]> = [] extends A
  ? [args?: A, kwargs?: WireObject, options?: ApplyOptions]
  : [args: A, kwargs?: WireObject, options?: ApplyOptions];

/**
 * A task signature (Celery `Signature`): a task name with partial args, kwargs and options.
 * `A` are the args it still accepts in front of its partial args (a chain's previous step gives
 * the first), `R` the task's result as `get()` gives it, `H` what applying it resolves with.
 */
export class Signature<A extends unknown[] = WireValue[], R = unknown, H extends CanvasResult = AsyncResult<R>> {
  task: string;
  args: WireValue[];
  kwargs: WireObject;
  /** Options in Celery's wire form (snake_case keys). */
  options: WireObject;
  subtaskType: string | null;
  immutable: boolean;

  constructor(readonly app: CanvasApp, dict: SignatureDict) {
    this.task = dict.task;
    this.args = [...dict.args];
    this.kwargs = { ...dict.kwargs };
    this.options = { ...dict.options };
    this.subtaskType = dict.subtask_type;
    this.immutable = dict.immutable;
  }

  /** Celery's dict form, key order included. */
  toDict(): SignatureDict {
    return {
      task: this.task,
      args: this.args,
      kwargs: this.kwargs,
      options: this.options,
      subtask_type: this.subtaskType,
      immutable: this.immutable,
    };
  }

  toJSON(): SignatureDict {
    return this.toDict();
  }

  /** Merge apply options (camelCase) into the signature's options; returns this. */
  set(options: ApplyOptions): this {
    Object.assign(this.options, applyToWireOptions(options));
    return this;
  }

  /**
   * Celery's `a | b | c`: a chain of this signature and the next ones. A chain on either side is
   * extended rather than nested (and, as in Celery, the result carries no chain-level options).
   */
  pipe<S extends [AnySignature, ...AnySignature[]]>(...next: S): ChainOf<[this, ...S]>;
  pipe(...next: SignatureInput[]): Chain;
  pipe(...next: SignatureInput[]): Chain {
    const steps = (s: SignatureInput): SignatureInput[] => (s instanceof Chain ? s.tasks : [s]);
    return new Chain(this.app, [...steps(this), ...next.flatMap(steps)]);
  }

  /** Add a callback (Celery `link`). */
  link(sig: SignatureInput): this {
    const list = Array.isArray(this.options.link) ? this.options.link : [];
    this.options.link = [...list, toSignatureDict(sig)];
    return this;
  }

  /** Add an errback (Celery `link_error`). */
  linkError(sig: SignatureInput): this {
    const list = Array.isArray(this.options.link_error) ? this.options.link_error : [];
    this.options.link_error = [...list, toSignatureDict(sig)];
    return this;
  }

  /** A copy with args prepended and kwargs/options merged (Celery `clone`/partial). */
  clone(args: WireValue[] = [], kwargs: WireObject = {}, options: ApplyOptions = {}): Signature<WireValue[], R, H> {
    const d = this.toDict();
    const copy = fromDict(this.app, {
      ...d,
      args: [...args, ...d.args],
      kwargs: { ...d.kwargs, ...kwargs },
      options: { ...d.options, ...applyToWireOptions(options) },
    });
    return copy as Signature<WireValue[], R, H>;
  }

  /** Mark immutable (Celery `.set(immutable=True)` / `si`). */
  setImmutable(immutable = true): this {
    this.immutable = immutable;
    return this;
  }

  /** Send with extra positional args (prepended unless immutable). */
  delay(...args: A): Promise<H> {
    return this.applyAsync(...([args] as SignatureApplyArgs<A>));
  }

  /** Send; args are prepended to the partial args unless the signature is immutable. */
  applyAsync(...[args, kwargs, options]: SignatureApplyArgs<A>): Promise<H> {
    return applySignature(this.app, this.toDict(), (args ?? []) as WireValue[], options, kwargs) as Promise<H>;
  }

  /**
   * Run it in this process, now (Celery `signature.apply()`): a task gives an `EagerResult`, a
   * chain its last step's (`.parent` links back), a group a `GroupResult` of them, a chord its
   * body's. Nothing is sent; see `Task.apply`.
   */
  apply(args: WireValue[] = [], kwargs: WireObject = {}, options: EagerApplyOptions = {}): Promise<CanvasResult> {
    return eagerOf(this.app).apply(this.toDict(), args, options, kwargs);
  }
}

/** True for a Signature object (of any args and result). */
function isSignature(value: unknown): value is AnySignature {
  return value instanceof Signature;
}

/** True for a Group object (of any results). */
function isGroup(value: unknown): value is Group {
  return value instanceof Group;
}

/** A signature of another type (group/chain/chord) from its dict form. */
export function fromDict(app: CanvasApp, dict: SignatureDict | WireValue): AnySignature {
  const d = normalizeSignature(dict);
  switch (d.subtask_type) {
    case "group":
      return new Group(app, tasksOf(d).map((t) => fromDict(app, t)), d.options).setImmutable(d.immutable);
    case "chain":
      return new Chain(app, tasksOf(d).map((t) => fromDict(app, t)), d.options).setImmutable(d.immutable);
    case "chord": {
      const k = d.kwargs;
      const header = fromDict(app, k.header);
      const body = k.body == null ? null : fromDict(app, k.body);
      const group = isGroup(header) ? header : new Group(app, [header]);
      return new Chord(app, group, body, d.options).setImmutable(d.immutable);
    }
    default:
      return new Signature(app, d);
  }
}

function tasksOf(d: SignatureDict): WireValue[] {
  const tasks = d.kwargs.tasks;
  return Array.isArray(tasks) ? tasks : [];
}

/** A composite signature over a list of signatures (`celery.group`, `celery.chain`). */
abstract class SignatureList<A extends unknown[], R, H extends CanvasResult> extends Signature<A, R, H> {
  readonly tasks: AnySignature[];
  constructor(app: CanvasApp, kind: "group" | "chain", tasks: SignatureInput[], options: WireObject) {
    const sigs = tasks.map((t) => (isSignature(t) ? t : fromDict(app, toSignatureDict(t))));
    super(app, { task: `celery.${kind}`, args: [], kwargs: {}, options, subtask_type: kind, immutable: false });
    this.tasks = sigs;
  }

  override toDict(): SignatureDict {
    return { ...super.toDict(), kwargs: { tasks: this.tasks.map((t) => t.toDict()) } };
  }
}

/** Celery `group(...)`: members sent in parallel sharing a group id; `R` lists their results. */
export class Group<R extends unknown[] = unknown[]> extends SignatureList<WireValue[], R, GroupResult<R>> {
  constructor(app: CanvasApp, tasks: SignatureInput[], options: WireObject = {}) {
    super(app, "group", tasks, options);
  }

  override applyAsync(args: WireValue[] = [], kwargs: WireObject = {}, options: ApplyOptions = {}): Promise<GroupResult<R>> {
    return applyGroup(this.app, this.toDict(), args, options, kwargs) as Promise<GroupResult<R>>;
  }
}

/**
 * Celery `chain(...)`: each step gets the previous result prepended. `A` are the first step's
 * args, `R` the last step's result, `H` what applying it resolves with (the last step's handle).
 */
export class Chain<A extends unknown[] = WireValue[], R = unknown, H extends CanvasResult = CanvasResult> extends SignatureList<A, R, H> {
  constructor(app: CanvasApp, tasks: SignatureInput[], options: WireObject = {}) {
    super(app, "chain", tasks, options);
  }

  /** Resolves with the result of the LAST step; `.parent` links back to the first. */
  override applyAsync(...[args, kwargs, options]: SignatureApplyArgs<A>): Promise<H> {
    return applyChain(this.app, this.toDict(), (args ?? []) as WireValue[], options, kwargs) as Promise<H>;
  }
}

/** The chain of the signatures `S`: the first one's args, the last one's result and handle. */
export type ChainOf<S extends AnySignature[]> = S extends [infer F, ...unknown[]]
  ? S extends [...unknown[], infer L]
    ? Chain<ArgsOf<F>, ResultOf<L>, HandleOf<L>>
    : Chain
  : Chain<WireValue[], ResultOf<S[number]>, HandleOf<S[number]>>;

/** The results of a group of the signatures `S`, in order (a nested group's members in its place). */
export type GroupResultsOf<S extends unknown[]> = S extends [infer F, ...infer T]
  ? [...(HandleOf<F> extends GroupResult<infer G> ? G : [ResultOf<F>]), ...GroupResultsOf<T>]
  : S extends []
    ? []
    : (HandleOf<S[number]> extends GroupResult<infer G> ? G[number] : ResultOf<S[number]>)[];

/** Celery `chord(header, body)`: the body gets the list of header results; `R` is the body's result. */
export class Chord<R = unknown, H extends CanvasResult = AsyncResult<R>> extends Signature<WireValue[], R, H> {
  constructor(app: CanvasApp, readonly header: Group, readonly body: AnySignature | null, options: WireObject = {}) {
    super(app, { task: "celery.chord", args: [], kwargs: {}, options, subtask_type: "chord", immutable: false });
  }

  override toDict(): SignatureDict {
    return {
      ...super.toDict(),
      kwargs: { kwargs: {}, header: this.header.toDict(), body: this.body ? this.body.toDict() : null },
    };
  }

  /** Resolves with the body's AsyncResult (its `.parent` is the header GroupResult). */
  override applyAsync(args: WireValue[] = [], kwargs: WireObject = {}, options: ApplyOptions = {}): Promise<H> {
    return applyChord(this.app, this.toDict(), args, options, kwargs) as Promise<H>;
  }
}

function asSignatures(app: CanvasApp, items: (SignatureInput | SignatureInput[])[]): AnySignature[] {
  const flat = items.length === 1 && Array.isArray(items[0]) ? (items[0]) : (items as SignatureInput[]);
  return flat.map((t) => (isSignature(t) ? t : fromDict(app, toSignatureDict(t))));
}

/**
 * `chain(a.s(), b.s(), c.s())` or `chain([..])`: typed by its steps (`Chain<A, R>`: the first
 * step's args, the last step's result), so `(await chain(...).applyAsync()).get()` is typed.
 */
export function chain<S extends [AnySignature, ...AnySignature[]]>(...tasks: S): ChainOf<S>;
export function chain<S extends AnySignature[]>(tasks: [...S]): ChainOf<S>;
export function chain(...tasks: (AnySignature | SignatureInput[])[]): Chain;
export function chain(...tasks: (AnySignature | SignatureInput[])[]): Chain {
  const sigs = tasks.flat() as SignatureInput[];
  const app = findApp(sigs);
  return new Chain(app, asSignatures(app, sigs));
}

/** `group(a.s(), b.s())` or `group([..])`: typed by its members (`Group<[Ra, Rb]>`, `Group<R[]>` for a list). */
export function group<S extends [AnySignature, ...AnySignature[]]>(...tasks: S): Group<GroupResultsOf<S>>;
export function group<S extends AnySignature[]>(tasks: [...S]): Group<GroupResultsOf<S>>;
export function group(...tasks: (AnySignature | SignatureInput[])[]): Group;
export function group(...tasks: (AnySignature | SignatureInput[])[]): Group {
  const sigs = tasks.flat() as SignatureInput[];
  const app = findApp(sigs);
  return new Group(app, asSignatures(app, sigs));
}

/** `chord([header...], body)` or `chord(group(...), body)`: typed by its body (`Chord<R>`: the body's result). */
export function chord<B extends AnySignature>(header: Group | SignatureInput[], body: B): Chord<ResultOf<B>, HandleOf<B>> {
  const app = body.app;
  const g = isGroup(header) ? header : new Group(app, header);
  return new Chord(app, g, body);
}

function findApp(sigs: SignatureInput[]): CanvasApp {
  for (const s of sigs) if (s instanceof Signature) return s.app;
  throw new Error("canvas: at least one Signature object (from task.s() or app.signature()) is required");
}

// ------------------------------------------------------------------ applying (client and worker)

function mergeArgs(sig: SignatureDict, args: WireValue[]): WireValue[] {
  return sig.immutable ? sig.args : [...args, ...sig.args];
}

/**
 * Send any signature dict (plain or composite) with partial args (prepended unless immutable)
 * and extra apply options layered over the signature's own options.
 */
export async function applySignature(
  app: CanvasApp,
  dict: SignatureDict,
  args: WireValue[] = [],
  options: ApplyOptions = {},
  kwargs: WireObject = {},
): Promise<CanvasResult> {
  const eager = alwaysEager(app);
  if (eager) return eager.apply(dict, args, options, kwargs);
  switch (dict.subtask_type) {
    case "group":
      return applyGroup(app, dict, args, options, kwargs);
    case "chain":
      return applyChain(app, dict, args, options, kwargs);
    case "chord":
      return applyChord(app, dict, args, options, kwargs);
    default: {
      const m = taskMessage(dict, args, options, kwargs);
      return app.sendTask(m.name, m.args, m.kwargs, m.options);
    }
  }
}

/** The message of a plain task signature applied with partial args, extra options and kwargs. */
function taskMessage(dict: SignatureDict, args: WireValue[], options: ApplyOptions, kwargs: WireObject): Required<TaskMessage> {
  const merged = dict.immutable ? dict.kwargs : { ...dict.kwargs, ...kwargs };
  return { name: dict.task, args: mergeArgs(dict, args), kwargs: merged, options: { ...wireToApplyOptions(dict.options), ...options } };
}

/**
 * Apply the members of a group or chord header, member `i` with `optionsOf(i)`: plain tasks all
 * go out in one `sendTasks` (one broker round trip), any nested canvas one member after another.
 */
async function applyMembers(
  app: CanvasApp,
  members: SignatureDict[],
  args: WireValue[],
  optionsOf: (i: number) => ApplyOptions,
  kwargs: WireObject,
): Promise<CanvasResult[]> {
  if (members.length > 0 && members.every((m) => !m.subtask_type)) return app.sendTasks(members.map((m, i) => taskMessage(m, args, optionsOf(i), kwargs)));
  const out: CanvasResult[] = [];
  for (let i = 0; i < members.length; i++) out.push(await applySignature(app, members[i], args, optionsOf(i), kwargs));
  return out;
}

function withOptions(sig: SignatureDict, wire: WireObject): SignatureDict {
  return { ...sig, options: { ...sig.options, ...wire } };
}

/** Send every member with the same group id; returns the GroupResult. */
export async function applyGroup(
  app: CanvasApp,
  dict: SignatureDict,
  args: WireValue[] = [],
  options: ApplyOptions = {},
  kwargs: WireObject = {},
): Promise<GroupResult> {
  const eager = alwaysEager(app);
  if (eager) return eager.applyGroup(dict, args, options, kwargs);
  const groupOpts = { ...wireToApplyOptions(dict.options), ...options };
  const gid = groupOpts.groupId ?? groupOpts.taskId ?? uuid4();
  const { taskId: _t, groupId: _g, groupIndex: _i, link, linkError, ...shared } = groupOpts;
  void _t;
  void _g;
  void _i;
  const partial = dict.immutable ? [] : args;
  const members = tasksOf(dict).map((t) => normalizeSignature(t));
  const memberOpts: ApplyOptions = { ...shared, groupId: gid };
  if (link !== undefined) memberOpts.link = link;
  if (linkError !== undefined) memberOpts.linkError = linkError;
  const results: AsyncResult<unknown>[] = [];
  for (const r of await applyMembers(app, members, partial, () => memberOpts, kwargs)) {
    if (r instanceof GroupResult) results.push(...r.results);
    else results.push(r);
  }
  return new GroupResult(gid, results, () => app.backend());
}

/** Give each step after the first a pre-assigned task id and reply_to (Celery's freeze). */
function freezeStep(app: CanvasApp, step: SignatureDict): SignatureDict {
  const o = step.options;
  const extra: WireObject = {};
  if (step.subtask_type === "chord") {
    const body = step.kwargs.body;
    if (body && typeof body === "object" && !Array.isArray(body)) {
      const b = normalizeSignature(body);
      return { ...step, kwargs: { ...step.kwargs, body: freezeStep(app, b) } };
    }
    return step;
  }
  if (step.subtask_type === "group" || step.subtask_type === "chain") return step;
  if (o.task_id == null) extra.task_id = uuid4();
  if (o.reply_to == null) extra.reply_to = app.oid;
  return Object.keys(extra).length ? withOptions(step, extra) : step;
}

/** The task id a frozen step will run under (last task for chains, body for chords). */
function frozenId(step: SignatureDict): string | null {
  if (step.subtask_type === "chord") {
    const body = step.kwargs.body;
    return body && typeof body === "object" && !Array.isArray(body) ? frozenId(normalizeSignature(body)) : null;
  }
  const id = step.options.task_id;
  return typeof id === "string" ? id : null;
}

/** Flatten nested chains; upgrade `group` followed by a step into `chord(group, step)` like Celery. */
function chainSteps(dict: SignatureDict): SignatureDict[] {
  const flat: SignatureDict[] = [];
  for (const t of tasksOf(dict)) {
    const s = normalizeSignature(t);
    if (s.subtask_type === "chain") flat.push(...chainSteps(s));
    else flat.push(s);
  }
  const out: SignatureDict[] = [];
  for (let i = 0; i < flat.length; i++) {
    const s = flat[i];
    if (s.subtask_type === "group" && i + 1 < flat.length) {
      out.push(chordDict(s, flat[i + 1]));
      i++;
    } else out.push(s);
  }
  return out;
}

/** A chord signature dict. */
export function chordDict(header: SignatureDict, body: SignatureDict | null, options: WireObject = {}): SignatureDict {
  return {
    task: "celery.chord",
    args: [],
    kwargs: { kwargs: {}, header, body },
    options,
    subtask_type: "chord",
    immutable: false,
  };
}

/** Send the first step with the rest (reversed, frozen) in embed.chain; returns the last step's result. */
export async function applyChain(
  app: CanvasApp,
  dict: SignatureDict,
  args: WireValue[] = [],
  options: ApplyOptions = {},
  kwargs: WireObject = {},
): Promise<CanvasResult> {
  const eager = alwaysEager(app);
  if (eager) return eager.apply(dict, args, options, kwargs);
  const steps = chainSteps(dict);
  if (steps.length === 0) throw new Error("chain is empty");
  // Celery checks while preparing the steps, before the first one is sent.
  if (steps.some((s) => s.subtask_type === "chord")) (await app.backend()).ensureChordsAllowed?.();
  const chainOpts = { ...wireToApplyOptions(dict.options), ...options };
  const { taskId, chain: outer, ...rest } = chainOpts;
  const tail = steps.slice(1).map((s) => freezeStep(app, s));
  if (taskId !== undefined && tail.length && tail[tail.length - 1].subtask_type == null) {
    tail[tail.length - 1] = withOptions(tail[tail.length - 1], { task_id: taskId });
  }
  const first = steps[0];
  // embed.chain is reversed (next step last); an enclosing chain's remaining steps come first.
  const remaining = [...(outer ?? []), ...[...tail].reverse()];
  // The chain's own options (queue, ...) apply to its first step; later steps keep theirs.
  const firstOpts: ApplyOptions = { ...rest, chain: remaining.length ? remaining : null };
  if (taskId !== undefined && tail.length === 0) firstOpts.taskId = taskId;
  const r0 = await applySignature(app, first, args, firstOpts, kwargs);
  let prev: CanvasResult = r0;
  for (const step of tail) {
    const id = frozenId(step);
    if (!id) continue;
    prev = withParent(new AsyncResult<unknown>(id, () => app.backend()), prev);
  }
  return prev;
}

/**
 * A chord: header members share a fresh group id, carry group_index and embed.chord = body (with
 * its task id). On Redis (native join) `.s` is written before the last member; on a backend that
 * records chords (django-db's ChordCounter) the record is made before any member is sent.
 */
export async function applyChord(
  app: CanvasApp,
  dict: SignatureDict,
  args: WireValue[] = [],
  options: ApplyOptions = {},
  kwargs: WireObject = {},
): Promise<CanvasResult> {
  const eager = alwaysEager(app);
  if (eager) return eager.apply(dict, args, options, kwargs);
  const k = dict.kwargs;
  const headerDict = normalizeSignature(k.header);
  const members = headerDict.subtask_type === "group" ? tasksOf(headerDict).map((t) => normalizeSignature(t)) : [headerDict];
  const chordOpts = { ...wireToApplyOptions(dict.options), ...options };
  let body = k.body == null ? null : normalizeSignature(k.body);
  if (!body) throw new Error("chord needs a body");
  if (chordOpts.taskId && body.options.task_id == null) body = withOptions(body, { task_id: chordOpts.taskId });
  body = freezeStep(app, body);
  // Options given to the chord itself (link/link_error) belong to the body, as in Celery.
  const bodyExtra: WireObject = {};
  if (chordOpts.link !== undefined) bodyExtra.link = applyToWireOptions({ link: chordOpts.link }).link;
  if (chordOpts.linkError !== undefined) bodyExtra.link_error = applyToWireOptions({ linkError: chordOpts.linkError }).link_error;
  if (chordOpts.chain && chordOpts.chain.length) bodyExtra.chain = chordOpts.chain;
  if (Object.keys(bodyExtra).length) body = withOptions(body, bodyExtra);
  const bodyId = frozenId(body) as string;
  const backendRef = () => app.backend();
  const { taskId: _t, groupId, groupIndex: _i, link: _l, linkError: _e, chord: _c, chain: _ch, ...shared } = chordOpts;
  void _t;
  void _i;
  void _l;
  void _e;
  void _c;
  void _ch;
  const gid = groupId ?? uuid4();
  const partial = dict.immutable ? [] : args;
  if (members.length === 0) {
    // Celery: an empty header calls the body at once with an empty list.
    const r = await applySignature(app, body, [[]], { parentId: options.parentId, rootId: options.rootId });
    (r as { parent?: CanvasResult | null }).parent = new GroupResult(gid, [], backendRef);
    return r;
  }
  const backend = await app.backend();
  backend.ensureChordsAllowed?.();
  const optionsOf = (i: number): ApplyOptions => ({ ...shared, groupId: gid, groupIndex: i, chord: body });
  if (isChordRecordBackend(backend)) {
    // As Celery's chord.run: the header's ids are frozen and the chord recorded before any member is sent.
    const frozen = members.map((m) => freezeStep(app, m));
    const header = frozen.map((m): ResultTuple => {
      const id = m.subtask_type ? null : frozenId(m);
      if (!id) throw new Error(`a chord on the ${backend.name} backend takes task signatures as header members (not a ${String(m.subtask_type)})`);
      return [[id, null], null];
    });
    await backend.applyChord(gid, header);
    const results = (await applyMembers(app, frozen, partial, optionsOf, kwargs)) as AsyncResult<unknown>[];
    return withParent(new AsyncResult<unknown>(bodyId, backendRef), new GroupResult(gid, results, backendRef));
  }
  if (!isChordBackend(backend)) throw new Error(`chords need a backend with a chord join (Redis, django-db); ${backend.name} has none`);
  // As Celery: the size is written before the last member is sent (the others go out before it).
  const last = members.length - 1;
  const results = (await applyMembers(app, members.slice(0, last), partial, optionsOf, kwargs)) as AsyncResult<unknown>[];
  await backend.setChordSize(gid, members.length);
  results.push((await applySignature(app, members[last], partial, optionsOf(last), kwargs)) as AsyncResult<unknown>);
  const header = new GroupResult(gid, results, backendRef);
  return withParent(new AsyncResult<unknown>(bodyId, backendRef), header);
}

// ------------------------------------------------------------------ map / starmap / chunks

/** Items of an iterable as wire values (tuples from zip become lists, as in JSON). */
function itemsOf(it: Iterable<WireValue>): WireValue[] {
  return Array.from(it, (x) => (Array.isArray(x) ? [...x] : x));
}

/**
 * Celery `xmap` / `xstarmap`: one `celery.map` / `celery.starmap` task calling `task` for every
 * item in the worker process. In 5.2 the dict has `subtask_type: null` and `immutable: true`.
 */
export class XMap<R = unknown[]> extends Signature<[], R> {
  constructor(app: CanvasApp, name: "celery.map" | "celery.starmap", task: SignatureInput, it: Iterable<WireValue>, options: WireObject = {}) {
    super(app, {
      task: name,
      args: [],
      kwargs: { task: toSignatureDict(task), it: itemsOf(it) },
      options,
      subtask_type: null,
      immutable: true,
    });
  }
}

/** Celery `chunks(task, it, n)`: applied, a group of `celery.starmap` tasks over parts of n items. */
export class Chunks<R extends unknown[] = unknown[][]> extends Signature<[], R, GroupResult<R>> {
  constructor(app: CanvasApp, task: SignatureInput, it: Iterable<WireValue>, n: number, options: WireObject = {}) {
    super(app, {
      task: "celery.chunks",
      args: [],
      kwargs: { task: toSignatureDict(task), it: itemsOf(it), n },
      options,
      subtask_type: null,
      immutable: true,
    });
  }

  /** The group of starmap signatures (Celery `chunks.group()`). */
  group(): Group {
    return chunksGroup(this.app, this.toDict());
  }

  /** Sends the group of starmaps (Celery `chunks.apply_async`). */
  override applyAsync(args: WireValue[] = [], kwargs: WireObject = {}, options: ApplyOptions = {}): Promise<GroupResult<R>> {
    return this.group().applyAsync(args, kwargs, { ...wireToApplyOptions(this.options), ...options }) as Promise<GroupResult<R>>;
  }
}

/** The starmap group of a `celery.chunks` signature dict. */
export function chunksGroup(app: CanvasApp, dict: SignatureDict): Group {
  const k = dict.kwargs;
  const it = Array.isArray(k.it) ? k.it : [];
  const n = typeof k.n === "number" && k.n > 0 ? Math.floor(k.n) : 1;
  const task = normalizeSignature(k.task);
  const parts: AnySignature[] = [];
  for (let i = 0; i < it.length; i += n) parts.push(new XMap(app, "celery.starmap", task, it.slice(i, i + n)));
  return new Group(app, parts);
}
