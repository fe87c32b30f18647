/**
 * `celeriac worker --config FILE`: settings written with Celery's names (`task_routes`,
 * `result_backend`, ...; Django's `CELERY_TASK_ROUTES` form too), read from JSON, YAML or a
 * `.cjs`/`.mjs`/`.js` module, and applied to an app's settings before it connects.
 *
 * The names the Django example needs are checked and converted here (`CELERY_NAMES`: routes with
 * Python's `routing_key`, the django-db database); every other setting name is looked up in the
 * settings table (src/settings-names.ts) and its value taken as given.
 */
import { readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { CeleryConfig, Route } from "./config";
import { settingKeyOf } from "./settings-names";

/** Settings as Celery names them: `{ task_routes: {...}, result_backend: "django-db", ... }`. */
export type CelerySettingsObject = { [celeryName: string]: unknown };

/** What applying a settings object leaves to the worker: the queues it declares (`task_queues`). */
export interface AppliedCeleryConfig {
  /** `task_queues` (names): consumed when the worker is given no `-Q`, as Celery's worker does. */
  queues?: string[];
}

type Convert = (value: unknown, name: string) => unknown;

const asString: Convert = (v, name) => {
  if (typeof v !== "string") throw new TypeError(`${name} must be a string`);
  return v;
};
const asStringOrNull: Convert = (v, name) => (v === null ? null : asString(v, name));
const asBoolean: Convert = (v, name) => {
  if (typeof v !== "boolean") throw new TypeError(`${name} must be true or false`);
  return v;
};
const asNumberOrNull: Convert = (v, name) => {
  if (v !== null && (typeof v !== "number" || !Number.isFinite(v))) throw new TypeError(`${name} must be a number or null`);
  return v;
};
const asStringList: Convert = (v, name) => {
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) throw new TypeError(`${name} must be a list of strings`);
  return list;
};
const asRoutes: Convert = (v, name) => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new TypeError(`${name} must be a mapping of task name (or glob) to route`);
  const routes: { [nameOrGlob: string]: Route } = {};
  for (const [pattern, route] of Object.entries(v as Record<string, unknown>)) {
    const r = (typeof route === "string" ? { queue: route } : route) as Record<string, unknown> | null;
    if (typeof r !== "object" || r === null) throw new TypeError(`${name}[${JSON.stringify(pattern)}] must be a route ({"queue": ...})`);
    const out: Route = {};
    if (r.queue !== undefined) out.queue = asString(r.queue, `${name}[${JSON.stringify(pattern)}].queue`) as string;
    if (r.exchange !== undefined) out.exchange = asString(r.exchange, `${name}[${JSON.stringify(pattern)}].exchange`) as string;
    const rk = r.routing_key ?? r.routingKey;
    if (rk !== undefined) out.routingKey = asString(rk, `${name}[${JSON.stringify(pattern)}].routing_key`) as string;
    if (r.priority !== undefined) out.priority = asNumberOrNull(r.priority, `${name}[${JSON.stringify(pattern)}].priority`) as number;
    routes[pattern] = out;
  }
  return routes;
};
const asDatabase: Convert = (v, name) => {
  if (typeof v === "string") return { url: v };
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new TypeError(`${name} must be a URL or Django's DATABASES fields`);
  return v;
};

/** Celery's name → [our setting, conversion], for the names whose values are checked or converted. */
const CELERY_NAMES: { [celeryName: string]: [keyof CeleryConfig, Convert] } = {
  broker_url: ["broker", asString],
  result_backend: ["backend", asStringOrNull],
  task_serializer: ["taskSerializer", asString],
  result_serializer: ["resultSerializer", asString],
  accept_content: ["acceptContent", asStringList],
  task_compression: ["taskCompression", asStringOrNull],
  task_default_queue: ["taskDefaultQueue", asString],
  task_default_exchange: ["taskDefaultExchange", asStringOrNull],
  task_default_routing_key: ["taskDefaultRoutingKey", asStringOrNull],
  task_default_priority: ["taskDefaultPriority", asNumberOrNull],
  task_routes: ["taskRoutes", asRoutes],
  result_expires: ["resultExpires", asNumberOrNull],
  result_extended: ["resultExtended", asBoolean],
  task_track_started: ["taskTrackStarted", asBoolean],
  task_acks_late: ["taskAcksLate", asBoolean],
  task_ignore_result: ["taskIgnoreResult", asBoolean],
  task_time_limit: ["taskTimeLimit", asNumberOrNull],
  task_soft_time_limit: ["taskSoftTimeLimit", asNumberOrNull],
  timezone: ["timezone", asStringOrNull],
  enable_utc: ["enableUtc", asBoolean],
  worker_prefetch_multiplier: ["workerPrefetchMultiplier", asNumberOrNull],
  worker_concurrency: ["workerConcurrency", asNumberOrNull],
  // celeriac's: the database of the django-db result backend (a URL or DATABASES["default"]'s fields)
  django_database: ["djangoDatabase", asDatabase],
};

/** Celery's name of a key: `CELERY_TASK_ROUTES` (Django's namespace) → `task_routes`. */
function celeryName(key: string): string {
  return /^CELERY_[A-Z0-9_]+$/.test(key) ? key.slice("CELERY_".length).toLowerCase() : key;
}

/**
 * Applies settings given with Celery's names to `app.conf` (before the app connects). Refuses an
 * unknown name or a value of the wrong type, naming it. `task_queues` (a list of names, or a
 * mapping keyed by them) is returned for the worker, not stored.
 */
export function applyCeleryConfig(app: { readonly conf: CeleryConfig }, settings: CelerySettingsObject): AppliedCeleryConfig {
  const applied: AppliedCeleryConfig = {};
  const changes: Partial<Record<keyof CeleryConfig, unknown>> = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(settings)) {
    const name = celeryName(key);
    if (name === "task_queues") {
      const names = Array.isArray(value) || typeof value === "string" ? value : value && typeof value === "object" ? Object.keys(value) : value;
      applied.queues = asStringList(names, key) as string[];
      continue;
    }
    const entry = Object.hasOwn(CELERY_NAMES, name) ? CELERY_NAMES[name] : undefined;
    if (entry) {
      changes[entry[0]] = entry[1](value, key);
      continue;
    }
    const settingKey = settingKeyOf(name);
    if (settingKey) changes[settingKey] = value;
    else unknown.push(key);
  }
  if (unknown.length > 0) {
    throw new Error(`unknown setting${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} (not one of Celery's or celeriac's setting names)`);
  }
  Object.assign(app.conf, changes);
  return applied;
}

/**
 * A real `import()`: this package compiles to CommonJS, where TypeScript rewrites `import()` to
 * `require()`, which cannot load an `.mjs` file on Node 20.
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- a constant source, no user input
const importModule = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<unknown>;

/** Reads a settings file: `.json`, `.yaml`/`.yml`, or a module (`.cjs`, `.mjs`, `.js`) exporting the object. */
export async function readCeleryConfigFile(path: string): Promise<CelerySettingsObject> {
  const full = resolve(process.cwd(), path);
  const ext = extname(full).toLowerCase();
  let value: unknown;
  if (ext === ".json") {
    value = JSON.parse(readFileSync(full, "utf8"));
  } else if (ext === ".yaml" || ext === ".yml") {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- yaml is loaded for YAML files only
    const yaml = require("yaml") as { parse(text: string): unknown };
    value = yaml.parse(readFileSync(full, "utf8"));
  } else if (ext === ".cjs" || ext === ".js") {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the user's settings module, named at run time
    const mod = require(full) as { default?: unknown };
    value = mod.default !== undefined ? mod.default : mod;
  } else if (ext === ".mjs") {
    const mod = (await importModule(pathToFileURL(full).href)) as { default?: unknown };
    value = mod.default !== undefined ? mod.default : mod;
  } else {
    throw new Error(`${path}: a settings file is .json, .yaml, .yml, .cjs, .mjs or .js`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${path} does not hold a mapping of settings`);
  return value as CelerySettingsObject;
}
