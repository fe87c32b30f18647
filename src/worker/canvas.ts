/**
 * Worker-side canvas (docs/protocol.md §3.3, §3.6, §7.7): after a task succeeds, send its callbacks and the
 * next chain step (their result tuples become the stored `children`); after the result is
 * stored, do the chord part return; after a failure, fail the chord, the pre-assigned chain ids,
 * and send the errbacks.
 */
import { pyStr } from "../protocol/repr";
import type { AppContext } from "../app-context";
import type { ResultBackend } from "../backend/types";
import { applyGroup, applySignature, chordDict, Chunks, resultTuple } from "../client/canvas";
import type { BoundTaskContext } from "../task-types";
import { CeleryError } from "../protocol/exceptions";
import { normalizeSignature, toSignatureDict } from "../protocol/signature";
import type { SignatureInput } from "../protocol/signature";
import type { CanvasResult } from "../client/canvas";
import type { ApplyOptions } from "../client/options";
import type { Logger } from "../logging";
import { chordError, excRepr, isStoredException } from "../protocol/exceptions";
import type { DecodedTask, SignatureDict, WireObject, WireValue } from "../protocol/message";
import type { ExceptionInfo, ResultTuple } from "../protocol/result-meta";
import { buildResultMeta, decodeStoredValue, encodeStoredValue } from "../protocol/result-meta";
import type { Request } from "./request";
import { chordErrorFromStack, groupSig } from "./chord-error";
import { registerChordUnlock } from "./chord-unlock";
import { taskLabel } from "./task-label";

/** Backends with Celery's native chord join (Redis). */
interface ChordJoinBackend extends ResultBackend {
  onChordPartReturn(groupId: string, groupIndex: number | null, member: string): Promise<{ complete: boolean; members: string[] }>;
  /** A member as the backend stores it (JSON, or signed with result_serializer "auth"); JSON when absent. */
  encodeValue?(value: unknown): string;
  /** A stored member read back; JSON when absent. */
  decodeValue?(text: string): WireValue;
}

function hasChordJoin(b: ResultBackend): b is ChordJoinBackend {
  return typeof (b as Partial<ChordJoinBackend>).onChordPartReturn === "function";
}

/** Call a registered task in this process with `args` (Celery `task(*args)`, as the map builtins do). */
async function callLocal(app: AppContext, ctx: BoundTaskContext, sig: WireValue, args: WireValue[]): Promise<WireValue> {
  const d = normalizeSignature(sig);
  const task = app.tasks.get(d.task);
  if (!task) throw new CeleryError("NotRegistered", [d.task], "celery.exceptions");
  const h = task.handler as (...a: unknown[]) => unknown;
  const value = await (task.options.bind ? h(ctx, ...args) : h(...args));
  return (value === undefined ? null : value) as WireValue;
}

/**
 * Celery's builtin tasks for map/starmap/chunks, Task.replace with a group (docs/protocol.md §3.7) and the
 * chord_unlock fallback, so a celeriac worker runs them as a Python worker does.
 */
export function registerCanvasBuiltins(app: AppContext): void {
  registerChordUnlock(app);
  const list = (it: WireValue): WireValue[] => (Array.isArray(it) ? it : []);
  app.task(
    "celery.map",
    async (ctx: BoundTaskContext, task: WireValue, it: WireValue) => {
      const out: WireValue[] = [];
      for (const item of list(it)) out.push(await callLocal(app, ctx, task, [item]));
      return out;
    },
    { bind: true, params: ["task", "it"] },
  );
  app.task(
    "celery.starmap",
    async (ctx: BoundTaskContext, task: WireValue, it: WireValue) => {
      const out: WireValue[] = [];
      for (const item of list(it)) out.push(await callLocal(app, ctx, task, Array.isArray(item) ? item : [item]));
      return out;
    },
    { bind: true, params: ["task", "it"] },
  );
  app.task(
    "celery.chunks",
    async (ctx: BoundTaskContext, task: WireValue, it: WireValue, n: WireValue) => {
      const r = await new Chunks(app, normalizeSignature(task), list(it), Number(n)).applyAsync([], {}, { parentId: ctx.request.id, rootId: ctx.request.rootId });
      return r.asTuple();
    },
    { bind: true, params: ["task", "it", "n"] },
  );
  app.task(
    "celery.accumulate",
    // Celery's accumulate(self, *args, **kwargs): the rest parameter takes the keywords (index)
    (ctx: BoundTaskContext, ..._args: WireValue[]) => {
      const args = ctx.request.args;
      const index = ctx.request.kwargs.index;
      if (typeof index !== "number") return args;
      return args[index < 0 ? args.length + index : index] ?? null;
    },
    { bind: true },
  );
}

/** The innermost signature a composite one finishes with (chain: last step, chord: body), changed by `fn`. */
function mapFinal(d: SignatureDict, fn: (leaf: SignatureDict) => SignatureDict): SignatureDict {
  if (d.subtask_type === "chain") {
    const tasks = Array.isArray(d.kwargs.tasks) ? d.kwargs.tasks.map((x) => normalizeSignature(x)) : [];
    if (!tasks.length) return d;
    tasks[tasks.length - 1] = mapFinal(tasks[tasks.length - 1], fn);
    return { ...d, kwargs: { ...d.kwargs, tasks } };
  }
  if (d.subtask_type === "chord" && d.kwargs.body != null) {
    return { ...d, kwargs: { ...d.kwargs, body: mapFinal(normalizeSignature(d.kwargs.body), fn) } };
  }
  return fn(d);
}

function optList(v: WireValue | undefined): WireValue[] {
  return Array.isArray(v) ? v : v == null ? [] : [v];
}

/** A successful run of this task sends something: link callbacks, or the next step of its chain. */
export function hasFollowUps(t: DecodedTask): boolean {
  return !!(t.embed.callbacks?.length || t.embed.chain?.length);
}

/** This task is a member of a chord's header: its return joins the chord (chordPartReturn). */
export function isChordPart(t: DecodedTask): boolean {
  return !!(t.embed.chord && t.group);
}

export class WorkerCanvas {
  constructor(
    private readonly app: AppContext,
    private readonly backend: ResultBackend,
    private readonly logger: Logger,
  ) {}

  /** Options every message sent on behalf of the request carries (Celery: parent_id, root_id). */
  private lineage(request: Request): ApplyOptions {
    return { parentId: request.task.id, rootId: request.task.rootId || request.task.id };
  }

  /**
   * SUCCESS, before the result is stored: callbacks (one sent directly, several plain ones as
   * one group, group signatures separately) and the next chain step. Returns the children.
   */
  async afterSuccess(request: Request, result: WireValue): Promise<ResultTuple[]> {
    if (!hasFollowUps(request.task)) return [];
    const t = request.task;
    const children: CanvasResult[] = [];
    const lineage = this.lineage(request);
    try {
      const callbacks = t.embed.callbacks ?? [];
      if (callbacks.length === 1) {
        children.push(await applySignature(this.app, callbacks[0], [result], lineage));
      } else if (callbacks.length > 1) {
        const plain = callbacks.filter((c) => c.subtask_type !== "group");
        for (const g of callbacks.filter((c) => c.subtask_type === "group")) {
          children.push(await applySignature(this.app, g, [result], lineage));
        }
        if (plain.length) children.push(await applyGroup(this.app, groupSig(plain), [result], lineage));
      }
      const chain = t.embed.chain;
      if (chain && chain.length) {
        const rest = chain.slice(0, -1);
        const next = chain[chain.length - 1];
        children.push(await applySignature(this.app, next, [result], { ...lineage, chain: rest }));
      }
    } catch (err) {
      this.logger.error(`Task ${taskLabel(t)}: sending callbacks failed: ${(err as Error).message}`);
    }
    return children.map(resultTuple);
  }

  /**
   * Celery `Task.replace` (docs/protocol.md §3.8): send `input` under this task's id, with its callbacks,
   * errbacks, chord, group, group_index, root_id and remaining chain; a group becomes a chord
   * with `celery.accumulate(index=0)` as body. The caller stores nothing for the original.
   */
  async replace(request: Request, input: SignatureInput): Promise<void> {
    const t = request.task;
    let sig = normalizeSignature(toSignatureDict(input));
    if (sig.options.chord != null) throw new CeleryError("ImproperlyConfigured", ["A signature replacing a task must not be part of a chord"], "celery.exceptions");
    if (sig.subtask_type === "chain" && !(Array.isArray(sig.kwargs.tasks) && sig.kwargs.tasks.length)) {
      throw new CeleryError("ImproperlyConfigured", ["Cannot replace with an empty chain"], "celery.exceptions");
    }
    if (sig.subtask_type === "group") {
      const accumulate: SignatureDict = { task: "celery.accumulate", args: [], kwargs: { index: 0 }, options: {}, subtask_type: null, immutable: false };
      sig = chordDict(sig, accumulate);
    }
    const callbacks = t.embed.callbacks ?? [];
    const errbacks = t.embed.errbacks ?? [];
    sig = mapFinal(sig, (leaf) => {
      const o: WireObject = { ...leaf.options, task_id: t.id };
      if (callbacks.length) o.link = [...optList(leaf.options.link), ...callbacks];
      if (errbacks.length) o.link_error = [...optList(leaf.options.link_error), ...errbacks];
      if (t.embed.chord) o.chord = t.embed.chord;
      if (t.group) o.group_id = t.group;
      if (t.groupIndex !== null) o.group_index = t.groupIndex;
      return { ...leaf, options: o };
    });
    const options: ApplyOptions = {
      ...this.lineage(request),
      headers: { replaced_task_nesting: (t.replacedTaskNesting ?? 0) + 1 },
    };
    if (t.embed.chain && t.embed.chain.length) options.chain = t.embed.chain;
    await applySignature(this.app, sig, [], options);
  }

  /** SUCCESS or FAILURE, after the result is stored: the chord part return (§7.7). */
  async chordPartReturn(request: Request, state: "SUCCESS" | "FAILURE" | "REVOKED", result: WireValue): Promise<void> {
    const t = request.task;
    const body = t.embed.chord;
    if (!body || !t.group) return;
    if (!hasChordJoin(this.backend)) {
      this.logger.error(`Task ${taskLabel(t)} is a chord member but the ${this.backend.name} backend has no chord join`);
      return;
    }
    try {
      const backend = this.backend;
      const member = backend.encodeValue ? backend.encodeValue([1, t.id, state, result]) : encodeStoredValue([1, t.id, state, result]);
      const res = await backend.onChordPartReturn(t.group, t.groupIndex, member);
      if (!res.complete) return;
      const parts = res.members.map((m) => (backend.decodeValue ? backend.decodeValue(m) : decodeStoredValue(m)) as WireValue[]);
      const culprit = parts.find((p) => p[2] === "FAILURE" || p[2] === "REVOKED");
      if (culprit) {
        const exc = culprit[3];
        const repr = isStoredException(exc) ? excRepr(exc) : pyStr(exc);
        await this.failBody(request, body, chordError(`Dependency ${pyStr(culprit[1])} raised ${repr}`));
        return;
      }
      await applySignature(this.app, body, [parts.map((p) => p[3])], this.lineage(request));
    } catch (err) {
      this.logger.error(`Chord ${t.group} (member ${t.id}): joining failed: ${(err as Error).message}`);
      await this.failBody(request, body, chordError(`Join error: ${(err as Error).message}`)).catch(() => undefined);
    }
  }

  private failBody(request: Request, body: SignatureDict, info: ExceptionInfo): Promise<void> {
    return chordErrorFromStack(this.app, this.backend, body, info, request.task.rootId);
  }

  /**
   * FAILURE, after the result is stored: chord part return with the exception, the same FAILURE
   * for every pre-assigned chain id, then the errbacks as one group with `[failed id] + args`.
   */
  async afterFailure(request: Request, info: ExceptionInfo, traceback: string | null): Promise<void> {
    const t = request.task;
    await this.chordPartReturn(request, "FAILURE", info);
    try {
      for (const step of t.embed.chain ?? []) {
        const id = step.options.task_id;
        if (typeof id !== "string") continue;
        await this.backend.store(id, buildResultMeta({ taskId: id, status: "FAILURE", result: info, traceback }));
      }
      const errbacks = t.embed.errbacks ?? [];
      if (errbacks.length) await applyGroup(this.app, groupSig(errbacks), [t.id], this.lineage(request));
    } catch (err) {
      this.logger.error(`Task ${taskLabel(t)}: sending errbacks failed: ${(err as Error).message}`);
    }
  }
}
