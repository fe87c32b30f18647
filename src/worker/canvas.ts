/**
 * Worker-side canvas (spec §3.3, §3.6, §7.7): after a task succeeds, send its callbacks and the
 * next chain step (their result tuples become the stored `children`); after the result is
 * stored, do the chord part return; after a failure, fail the chord, the pre-assigned chain ids,
 * and send the errbacks.
 */
import type { Celery } from "../app";
import type { ResultBackend } from "../backend/types";
import { applyGroup, applySignature, resultTuple } from "../client/canvas";
import type { CanvasResult } from "../client/canvas";
import type { ApplyOptions } from "../client/options";
import type { Logger } from "../logging";
import { chordError, excRepr, isExceptionInfo } from "../protocol/exceptions";
import type { SignatureDict, WireValue } from "../protocol/message";
import { buildResultMeta } from "../protocol/result-meta";
import type { ExceptionInfo, ResultTuple } from "../protocol/result-meta";
import { pyJsonDumps, pyJsonLoads } from "../protocol/serializers/json";
import type { Request } from "./request";

/** Backends with Celery's native chord join (Redis). */
interface ChordJoinBackend extends ResultBackend {
  onChordPartReturn(groupId: string, groupIndex: number | null, member: string): Promise<{ complete: boolean; members: string[] }>;
}

function hasChordJoin(b: ResultBackend): b is ChordJoinBackend {
  return typeof (b as Partial<ChordJoinBackend>).onChordPartReturn === "function";
}

function groupSig(sigs: SignatureDict[]): SignatureDict {
  return { task: "celery.group", args: [], kwargs: { tasks: sigs as unknown as WireValue }, options: {}, subtask_type: "group", immutable: false };
}

export class WorkerCanvas {
  constructor(
    private readonly app: Celery,
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
      this.logger.error(`Task ${t.name}[${t.id}]: sending callbacks failed: ${(err as Error).message}`);
    }
    return children.map(resultTuple);
  }

  /** SUCCESS or FAILURE, after the result is stored: the chord part return (§7.7). */
  async chordPartReturn(request: Request, state: "SUCCESS" | "FAILURE" | "REVOKED", result: WireValue): Promise<void> {
    const t = request.task;
    const body = t.embed.chord;
    if (!body || !t.group) return;
    if (!hasChordJoin(this.backend)) {
      this.logger.error(`Task ${t.name}[${t.id}] is a chord member but the ${this.backend.name} backend has no chord join`);
      return;
    }
    try {
      const member = pyJsonDumps([1, t.id, state, result]);
      const res = await this.backend.onChordPartReturn(t.group, t.groupIndex, member);
      if (!res.complete) return;
      const parts = res.members.map((m) => pyJsonLoads(m) as WireValue[]);
      const culprit = parts.find((p) => p[2] === "FAILURE" || p[2] === "REVOKED");
      if (culprit) {
        const exc = culprit[3];
        const repr = isExceptionInfo(exc) ? excRepr(exc) : String(exc);
        await this.failBody(request, body, chordError(`Dependency ${String(culprit[1])} raised ${repr}`));
        return;
      }
      await applySignature(this.app, body, [parts.map((p) => p[3])], this.lineage(request));
    } catch (err) {
      this.logger.error(`Chord ${t.group} (member ${t.id}): joining failed: ${(err as Error).message}`);
      await this.failBody(request, body, chordError(`Join error: ${(err as Error).message}`)).catch(() => undefined);
    }
  }

  /** Celery `chord_error_from_stack`: store FAILURE for the body and send its errbacks. */
  private async failBody(request: Request, body: SignatureDict, info: ExceptionInfo): Promise<void> {
    const bodyId = body.options.task_id;
    if (typeof bodyId !== "string") return;
    await this.backend.store(bodyId, buildResultMeta({ taskId: bodyId, status: "FAILURE", result: info as unknown as WireValue, traceback: null }));
    const errbacks = body.options.link_error;
    const list = Array.isArray(errbacks) ? errbacks : errbacks ? [errbacks] : [];
    if (list.length) {
      await applyGroup(this.app, groupSig(list as unknown as SignatureDict[]), [bodyId], { parentId: bodyId, rootId: request.task.rootId });
    }
  }

  /**
   * FAILURE, after the result is stored: chord part return with the exception, the same FAILURE
   * for every pre-assigned chain id, then the errbacks as one group with `[failed id] + args`.
   */
  async afterFailure(request: Request, info: ExceptionInfo, traceback: string | null): Promise<void> {
    const t = request.task;
    await this.chordPartReturn(request, "FAILURE", info as unknown as WireValue);
    try {
      for (const step of t.embed.chain ?? []) {
        const id = step.options.task_id;
        if (typeof id !== "string") continue;
        await this.backend.store(id, buildResultMeta({ taskId: id, status: "FAILURE", result: info as unknown as WireValue, traceback }));
      }
      const errbacks = t.embed.errbacks ?? [];
      if (errbacks.length) await applyGroup(this.app, groupSig(errbacks), [t.id], this.lineage(request));
    } catch (err) {
      this.logger.error(`Task ${t.name}[${t.id}]: sending errbacks failed: ${(err as Error).message}`);
    }
  }
}
