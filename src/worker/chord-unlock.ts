/**
 * Celery's builtin `celery.chord_unlock` (celery/app/builtins.py), the chord join of result
 * backends without a native one: it polls the header's results, retrying itself every
 * `interval` seconds until all are ready, then sends the body with the results in header order,
 * or fails the body with a ChordError naming the first failed part.
 *
 * Python Celery sends it (`fallback_chord_unlock`) when its backend cannot join natively; a
 * celeriac worker consuming that queue runs it as a Python worker would.
 */
import { pyStr } from "../protocol/repr";
import type { AppContext } from "../app-context";
import type { ResultBackend } from "../backend/types";
import { applySignature } from "../client/canvas";
import type { BoundTaskContext } from "../task-types";
import { chordError, excRepr, isStoredException } from "../protocol/exceptions";
import type { WireValue } from "../protocol/message";
import { READY_STATES } from "../protocol/result-meta";
import { normalizeSignature } from "../protocol/signature";
import { chordErrorFromStack } from "./chord-error";

/** A header result from its `as_tuple()` form: `[[id, parent], null]`, or a group's `[[gid, parent], [children]]`. */
interface Dep {
  id: string;
  children: Dep[] | null;
}

function depFromTuple(t: WireValue): Dep {
  const [head, kids] = Array.isArray(t) ? t : [t, null];
  const id = Array.isArray(head) ? head[0] : head;
  return { id: pyStr(id), children: Array.isArray(kids) ? kids.map(depFromTuple) : null };
}

/** What the header looks like now: not ready, the values in order, or the first failure (join order). */
type Joined = { ready: false } | { ready: true; values: WireValue[] } | { ready: true; failed: { id: string; repr: string } };

async function join(backend: ResultBackend, deps: Dep[]): Promise<Joined> {
  const values: WireValue[] = [];
  let failed: { id: string; repr: string } | null = null;
  for (const dep of deps) {
    if (dep.children) {
      const inner = await join(backend, dep.children);
      if (!inner.ready) return inner;
      if ("failed" in inner) failed ??= inner.failed;
      else values.push(inner.values);
      continue;
    }
    const meta = await backend.get(dep.id);
    if (!meta || !READY_STATES.has(meta.status)) return { ready: false };
    if (meta.status === "SUCCESS") values.push(meta.result);
    else failed ??= { id: dep.id, repr: isStoredException(meta.result) ? excRepr(meta.result) : pyStr(meta.result) };
  }
  return failed ? { ready: true, failed } : { ready: true, values };
}

/** Registers `celery.chord_unlock` (ignore_result, unlimited retries, retry delay result_chord_retry_interval). */
export function registerChordUnlock(app: AppContext): void {
  app.task(
    "celery.chord_unlock",
    // unlock_chord(group_id, callback, ..., **kwargs): read from ctx.request; the rest parameter
    // takes every keyword (Celery 5.5+ sends more than the named ones)
    async (ctx: BoundTaskContext, ..._args: WireValue[]) => {
      const { args, kwargs, id, rootId } = ctx.request;
      // unlock_chord(group_id, callback, interval=None, max_retries=None, result=None), by position or keyword
      const param = (i: number, name: string): WireValue | undefined => (i < args.length ? args[i] : kwargs[name]);
      const groupId = pyStr(param(0, "group_id"));
      const body = normalizeSignature(param(1, "callback"));
      const interval = param(2, "interval");
      const maxRetries = param(3, "max_retries");
      const result = param(4, "result");
      const backend = await app.backend();
      const deps = (Array.isArray(result) ? result : []).map(depFromTuple);
      const joined = await join(backend, deps);
      if (!joined.ready) {
        return ctx.retry({
          countdown: typeof interval === "number" ? interval : app.conf.resultChordRetryInterval,
          maxRetries: typeof maxRetries === "number" ? maxRetries : null,
        });
      }
      if ("failed" in joined) {
        const reason = `Dependency ${joined.failed.id} raised ${joined.failed.repr}`;
        await chordErrorFromStack(app, backend, body, chordError(reason), rootId);
        throw new Error(`Chord ${groupId} raised: ${reason}`);
      }
      await applySignature(app, body, [joined.values], { parentId: id, rootId: rootId || id });
      return null;
    },
    { bind: true, ignoreResult: true, maxRetries: null, defaultRetryDelay: app.conf.resultChordRetryInterval },
  );
}
