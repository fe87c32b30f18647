/**
 * Celery's `task_annotations` (celery/app/annotations.py): per-task overrides of task attributes
 * in the settings. As in Celery, the setting is one annotation or a list; an annotation is a
 * mapping of task name (or "*") to attributes, or an object with `annotate(task)` and/or
 * `annotateAny()` returning attributes (or null). For a task, the first annotation of the list
 * that has its name gives attributes, then the first that has "*"; both are applied in that order
 * over the task's own options, so "*" wins over the name (Celery sets them on the task class in
 * that order). Attributes go under Celery's names (`rate_limit`, `acks_late`, ...) or camelCase.
 * Celery's "@method" annotations (wrapping task methods) have no equivalent and are warned about.
 */
import type { TaskOptions } from "./task-types";
import { warnOnce, warnUnknownName } from "./nearest-name";

/** Task attributes of an annotation: `{ rate_limit: "10/s", time_limit: 30, acksLate: true }`. */
export type TaskAnnotationAttributes = { [attribute: string]: unknown };

/** An annotation object (Celery's `annotate` / `annotate_any` methods). */
export interface TaskAnnotator {
  /** Attributes for this task, or null/undefined. */
  annotate?(task: { name: string }): TaskAnnotationAttributes | null | undefined;
  /** Attributes for every task, or null/undefined. */
  annotateAny?(): TaskAnnotationAttributes | null | undefined;
}

/** One annotation: task name or "*" → attributes, or a `TaskAnnotator`. */
export type TaskAnnotation = { [taskNameOrStar: string]: TaskAnnotationAttributes | undefined } | TaskAnnotator;

/** The `taskAnnotations` setting: one annotation or a list of them. */
export type TaskAnnotations = TaskAnnotation | readonly TaskAnnotation[];

/** The task options an annotation may set. */
const ATTRIBUTES = [
  "acksLate",
  "ignoreResult",
  "trackStarted",
  "maxRetries",
  "defaultRetryDelay",
  "autoretryFor",
  "dontAutoretryFor",
  "retryKwargs",
  "retryBackoff",
  "retryBackoffMax",
  "retryJitter",
  "timeLimit",
  "softTimeLimit",
  "rateLimit",
  "rejectOnWorkerLost",
  "acksOnFailureOrTimeout",
  "storeErrorsEvenIfIgnored",
  "resultReprMaxsize",
] as const satisfies readonly (keyof TaskOptions)[];

type Attribute = (typeof ATTRIBUTES)[number];

const KNOWN = new Set<string>(ATTRIBUTES);
/** Celery's attribute names for the warning's suggestion. */
const CELERY_ATTRIBUTES = ATTRIBUTES.map((a) => a.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));

function isAnnotator(a: TaskAnnotation): a is TaskAnnotator {
  return typeof (a as TaskAnnotator).annotate === "function" || typeof (a as TaskAnnotator).annotateAny === "function";
}

function forName(a: TaskAnnotation, name: string): TaskAnnotationAttributes | null {
  if (isAnnotator(a)) return a.annotate?.({ name }) ?? null;
  return Object.hasOwn(a, name) ? (a[name] ?? null) : null;
}

function forAny(a: TaskAnnotation): TaskAnnotationAttributes | null {
  if (isAnnotator(a)) return a.annotateAny?.() ?? null;
  return Object.hasOwn(a, "*") ? (a["*"] ?? null) : null;
}

/** The options the annotations give the task `name` (Celery's `resolve_all` then `annotate`). */
export function annotationsFor(annotations: TaskAnnotations | null | undefined, name: string): Partial<Pick<TaskOptions, Attribute>> {
  if (!annotations) return {};
  const list: readonly TaskAnnotation[] = Array.isArray(annotations) ? annotations : [annotations as TaskAnnotation];
  const first = (pick: (a: TaskAnnotation) => TaskAnnotationAttributes | null): TaskAnnotationAttributes | null => {
    for (const a of list) {
      let found: TaskAnnotationAttributes | null = null;
      try {
        found = a && typeof a === "object" ? pick(a) : null;
      } catch (err) {
        // an annotate() that throws must not reach the worker, which reads options per task
        warnOnce(`task_annotations: an annotation's annotate method threw (${err instanceof Error ? err.message : String(err)}); it is skipped`);
      }
      if (found && typeof found === "object") return found;
    }
    return null;
  };
  const out: { [attribute: string]: unknown } = {};
  for (const attrs of [first((a) => forName(a, name)), first(forAny)]) {
    if (!attrs || typeof attrs !== "object") continue;
    for (const [attr, value] of Object.entries(attrs)) {
      const key = attr.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
      if (KNOWN.has(key)) out[key] = value;
      else warnUnknownName("task annotation attribute", attr, CELERY_ATTRIBUTES);
    }
  }
  return out;
}

/**
 * A task's options with the app's annotations over them: a live view of `declared` that reads
 * `annotations()` (the app's `taskAnnotations` setting) and resolves it again whenever the
 * setting is replaced, so annotations configured after the task was declared apply too.
 */
export function annotatedOptions(name: string, declared: TaskOptions, annotations: () => TaskAnnotations | null | undefined): TaskOptions {
  const stale = Symbol("stale");
  let source: TaskAnnotations | null | undefined | typeof stale = stale;
  let merged: TaskOptions = declared;
  const current = (): TaskOptions => {
    const a = annotations();
    if (a !== source) {
      source = a;
      const over = annotationsFor(a, name);
      merged = Object.keys(over).length ? { ...declared, ...over } : declared;
    }
    return merged;
  };
  return new Proxy(declared, {
    get: (_t, key) => (current() as { [key: string | symbol]: unknown })[key],
    has: (_t, key) => key in current(),
    set: (t, key, value) => {
      source = stale; // a change of the declared options is seen through the annotations
      return Reflect.set(t, key, value);
    },
    ownKeys: () => Reflect.ownKeys(current()),
    getOwnPropertyDescriptor: (_t, key) => {
      const d = Reflect.getOwnPropertyDescriptor(current(), key);
      return d ? { ...d, configurable: true } : undefined;
    },
  });
}
