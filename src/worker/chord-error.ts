/**
 * Celery's `Backend.chord_error_from_stack`: a chord that cannot call its body stores FAILURE
 * (a ChordError) under the body's id and sends the body's errbacks with `[body id]`.
 */
import type { AppContext } from "../app-context";
import type { ResultBackend } from "../backend/types";
import { applyGroup } from "../client/canvas";
import type { SignatureDict, WireValue } from "../protocol/message";
import { buildResultMeta } from "../protocol/result-meta";
import type { ExceptionInfo } from "../protocol/result-meta";

/**
 * A `celery.group` signature dict of `sigs` (how Celery sends several callbacks or errbacks).
 * Members may be signature dicts as received: applying the group normalizes each one.
 */
export function groupSig(sigs: WireValue[]): SignatureDict {
  return { task: "celery.group", args: [], kwargs: { tasks: sigs }, options: {}, subtask_type: "group", immutable: false };
}

/** Store FAILURE `info` for the chord body and send its errbacks (parent = the body id). */
export async function chordErrorFromStack(app: AppContext, backend: ResultBackend, body: SignatureDict, info: ExceptionInfo, rootId: string | undefined): Promise<void> {
  const bodyId = body.options.task_id;
  if (typeof bodyId !== "string") return;
  await backend.store(bodyId, buildResultMeta({ taskId: bodyId, status: "FAILURE", result: info, traceback: null }));
  const errbacks = body.options.link_error;
  const list = Array.isArray(errbacks) ? errbacks : errbacks ? [errbacks] : [];
  if (list.length) {
    await applyGroup(app, groupSig(list), [bodyId], { parentId: bodyId, rootId });
  }
}
