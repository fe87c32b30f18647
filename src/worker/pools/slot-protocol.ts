/** The messages between a slot pool (threads, prefork) and its children (slot-runner.ts). */
import type { SignatureDict, WireValue } from "../../protocol/message";
import type { RequestInfo } from "../../task-types";
import type { SerializedError } from "../errors";

/** What a child sends: ready, a job's outcome (with its memory in bytes after the job), or an updateState call. */
export type SlotMessage =
  | { type: "online"; job?: undefined }
  | { type: "return"; job: number; memory: number; value: unknown }
  | { type: "throw"; job: number; memory: number; error: SerializedError }
  | { type: "replace"; job: number; memory: number; signature: SignatureDict }
  | { type: "retry"; job: number; memory: number; options: Record<string, unknown>; exc: SerializedError | null }
  | { type: "updateState"; job: number; seq: number; state: string; meta: WireValue };

/** What the pool sends a child: run a job, its soft limit passed, an updateState call was stored. */
export type ParentMessage =
  | { type: "run"; job: number; name: string; args: unknown[]; info: RequestInfo }
  | { type: "soft"; job: number }
  | { type: "stateStored"; seq: number; error?: string };
