/** The messages between a slot pool (threads, prefork) and its children (slot-runner.ts). */
import type { SignatureDict, WireValue } from "../../protocol/message";
import type { ResultTuple } from "../../protocol/result-meta";
import type { RequestInfo } from "../../task-types";
import type { LogLevel } from "../../logging";
import type { SerializedError } from "../errors";

/**
 * The settings the main process resolved (its `app.conf`, under celeriac's names: the app module's
 * own, then `--config`, `--time-limit`, ...), as a child is given them to set on its app.
 */
export type ChildConf = { [settingKey: string]: unknown };

/**
 * What a child sends: ready, a job's outcome (with its memory in bytes after the job, and the
 * tasks it sent), an updateState call, an error that escaped a task (`stray`: `task` is the task
 * whose async context raised it, null outside any task), the error that kept it from loading the
 * app module (`loadError`, then it exits), or a line for the worker's log (`log`: `level` null is
 * what the child printed, logged at worker_redirect_stdouts_level).
 */
export type SlotMessage =
  | { type: "online"; job?: undefined }
  | { type: "loadError"; job?: undefined; error: SerializedError }
  /** `task`: a `ctx.logger` line of this task (JSON lines carry its id and name). */
  | { type: "log"; job?: undefined; level: LogLevel | null; text: string; task?: { id: string; name: string } }
  /** `unencodable`: the value could not be sent (a symbol, nesting too deep): why, and value is null. */
  | { type: "return"; job: number; memory: number; value: unknown; children?: ResultTuple[]; unencodable?: string }
  | { type: "stray"; job?: undefined; origin: "unhandled promise rejection" | "uncaught exception"; task: { name: string; id: string } | null; error: SerializedError }
  | { type: "throw"; job: number; memory: number; error: SerializedError }
  | { type: "replace"; job: number; memory: number; signature: SignatureDict }
  | { type: "retry"; job: number; memory: number; options: Record<string, unknown>; exc: SerializedError | null }
  | { type: "updateState"; job: number; seq: number; state: string; meta: WireValue };

/**
 * What the pool sends a child: the main process's settings (prefork: the first message, before
 * the child loads the app), run a job, its soft limit passed, an updateState call was stored, exit
 * cleanly (prefork: after workerProcessShutdown).
 */
export type ParentMessage =
  | { type: "conf"; conf: ChildConf }
  | { type: "shutdown" }
  /** `trace`: the run span's context as headers (telemetry/spans.ts), when tracing. */
  | { type: "run"; job: number; name: string; args: unknown[]; info: RequestInfo; trace?: Record<string, string> }
  | { type: "soft"; job: number }
  | { type: "stateStored"; seq: number; error?: string };
