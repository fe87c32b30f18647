/** The messages between a slot pool (threads, prefork) and its children (slot-runner.ts). */
import type { SignatureDict, WireValue } from "../../protocol/message";
import type { ResultTuple } from "../../protocol/result-meta";
import type { RequestInfo } from "../../task-types";
import type { SerializedError } from "../errors";

/**
 * What a child sends: ready, a job's outcome (with its memory in bytes after the job, and the
 * tasks it sent), an updateState call, or an error that escaped a task (`stray`, prefork only:
 * `task` is the task whose async context raised it, null outside any task).
 */
export type SlotMessage =
  | { type: "online"; job?: undefined }
  /** `unencodable`: the value could not be sent (a symbol, nesting too deep): why, and value is null. */
  | { type: "return"; job: number; memory: number; value: unknown; children?: ResultTuple[]; unencodable?: string }
  | { type: "stray"; job?: undefined; origin: "unhandled promise rejection" | "uncaught exception"; task: { name: string; id: string } | null; error: SerializedError }
  | { type: "throw"; job: number; memory: number; error: SerializedError }
  | { type: "replace"; job: number; memory: number; signature: SignatureDict }
  | { type: "retry"; job: number; memory: number; options: Record<string, unknown>; exc: SerializedError | null }
  | { type: "updateState"; job: number; seq: number; state: string; meta: WireValue };

/** What the pool sends a child: run a job, its soft limit passed, an updateState call was stored. */
export type ParentMessage =
  | { type: "run"; job: number; name: string; args: unknown[]; info: RequestInfo }
  | { type: "soft"; job: number }
  | { type: "stateStored"; seq: number; error?: string };
