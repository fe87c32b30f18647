/** Schedule entries: Celery's `beat_schedule` items and their JSON form. */
import type { ApplyOptions } from "../client/options";
import type { WireObject, WireValue } from "../protocol/message";
import { safeRepr } from "../protocol/repr";
import { maybeSchedule, type Schedule, type ScheduleJSON } from "./schedules";

/** `options` of an entry: apply options in camelCase; Celery's snake_case names are accepted too. */
export type BeatEntryOptions = ApplyOptions & {
  routing_key?: string;
  time_limit?: number;
  soft_time_limit?: number;
  ignore_result?: boolean;
  reply_to?: string;
};

/** One `beatSchedule` item, as Celery's `beat_schedule` dict values. */
export interface BeatEntrySpec {
  /** Task name (sent by name; Python or celeriac workers run it). */
  task: string;
  /** A schedule (`crontab(...)`, `schedule(s)`, `solar(...)`), seconds, or the JSON form. */
  schedule: Schedule | number | ScheduleJSON;
  args?: WireValue[];
  kwargs?: WireObject;
  options?: BeatEntryOptions;
  /** For interval schedules given as seconds: round to the interval's resolution (Celery `relative`). */
  relative?: boolean;
}

/** `beatSchedule`: entry name → entry. */
export type BeatSchedule = { [name: string]: BeatEntrySpec };

/** An entry with its schedule object. */
export interface BeatEntry {
  name: string;
  task: string;
  schedule: Schedule;
  args: WireValue[];
  kwargs: WireObject;
  options: ApplyOptions;
  /** Where it was defined: the app's `beatSchedule`, or added at run time (stored in Redis). */
  source: "config" | "dynamic";
}

/** JSON form of an entry (Redis, CLI). */
export interface BeatEntryJSON {
  task: string;
  schedule: ScheduleJSON;
  args: WireValue[];
  kwargs: WireObject;
  options: ApplyOptions;
}

const SNAKE: Record<string, keyof ApplyOptions> = {
  routing_key: "routingKey",
  time_limit: "timeLimit",
  soft_time_limit: "softTimeLimit",
  ignore_result: "ignoreResult",
  reply_to: "replyTo",
  task_id: "taskId",
};

/** camelCase the snake_case option names Celery users write. */
export function normalizeOptions(options: BeatEntryOptions | undefined): ApplyOptions {
  const out: { [k: string]: unknown } = {};
  for (const [k, v] of Object.entries(options ?? {})) {
    if (v === undefined) continue;
    out[SNAKE[k] ?? k] = v;
  }
  return out;
}

/** Validate and build an entry. */
export function makeEntry(name: string, spec: BeatEntrySpec, source: BeatEntry["source"] = "config"): BeatEntry {
  if (!name) throw new Error("a schedule entry needs a name");
  if (!spec || typeof spec !== "object") throw new Error(`schedule entry ${name}: not an object`);
  if (typeof spec.task !== "string" || !spec.task) throw new Error(`schedule entry ${name}: "task" must be a task name`);
  if (spec.schedule === undefined || spec.schedule === null) throw new Error(`schedule entry ${name}: "schedule" is missing`);
  const args = spec.args ?? [];
  if (!Array.isArray(args)) throw new Error(`schedule entry ${name}: "args" must be an array`);
  const kwargs = spec.kwargs ?? {};
  if (typeof kwargs !== "object" || Array.isArray(kwargs)) throw new Error(`schedule entry ${name}: "kwargs" must be an object`);
  return {
    name,
    task: spec.task,
    schedule: maybeSchedule(spec.schedule, spec.relative ?? false),
    args: [...args],
    kwargs: { ...kwargs },
    options: normalizeOptions(spec.options),
    source,
  };
}

/** The JSON form of an entry (dates in options become ISO strings). */
export function entryToJSON(entry: BeatEntry): BeatEntryJSON {
  return JSON.parse(
    JSON.stringify({ task: entry.task, schedule: entry.schedule.toJSON(), args: entry.args, kwargs: entry.kwargs, options: entry.options }),
  ) as BeatEntryJSON;
}

/** Python-like repr of a call, for logs: `tasks.add(1, 2, k=1)`. */
export function describeCall(entry: BeatEntry): string {
  const parts = entry.args.map((a) => safeRepr(a));
  for (const [k, v] of Object.entries(entry.kwargs)) parts.push(`${k}=${safeRepr(v)}`);
  return `${entry.task}(${parts.join(", ")})`;
}
