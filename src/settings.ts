/**
 * Settings as Celery resolves them. Highest first:
 *   1. the environment, for the broker and the result backend only: `CELERY_BROKER_URL` and
 *      `CELERY_RESULT_BACKEND` win over everything else, read whenever the setting is read (as
 *      Celery's `Settings.broker_url` / `result_backend` properties; checked against Celery 5.2
 *      and the newest in interop-tests/settings-resolve-like-celery.test.ts). `celery -b` and
 *      `--result-backend` set these variables, and celeriac's CLI does the same;
 *   2. settings given to the app's constructor and set on `app.conf` (Celery's "changes");
 *   3. the config object of `app.configFromObject()` (Celery's config source; a later call
 *      replaces what an earlier one set);
 *   4. Celery's defaults (`DEFAULTS`).
 * Every name of settings-names.ts is accepted in each of them; an unknown name is warned about
 * once, with the nearest known name.
 */
import { createRequire } from "node:module";
import * as path from "node:path";
import { DEFAULTS } from "./config";
import type { CeleryConfig } from "./config";
import { knownSettingNames, lookupSettingName, settingKeys, settingNamesOf } from "./settings-names";
import type { CelerySnakeSettings, NameKind, SettingKey } from "./settings-names";
import { warnUnknownName } from "./nearest-name";

/** Settings under celeriac's names or Celery's (`new Celery(main, settings)`, `app.conf` updates). */
export type NamedSettings = Partial<CeleryConfig> & CelerySnakeSettings & { brokerUrl?: string; resultBackend?: string | null };

/** Options of `configFromObject`. */
export interface ConfigFromObjectOptions {
  /**
   * Celery's `namespace`: settings are read from `<NAMESPACE>_<NAME>` keys, upper case when the
   * namespace is (`namespace: "CELERY"` reads `CELERY_BROKER_URL`, `CELERY_TASK_SERIALIZER`, as
   * Django projects write them), before the plain names. Other keys are left alone.
   */
  namespace?: string;
}

/** The environment variables that win over a setting (Celery's Settings properties). */
const ENV_OVERRIDES: Partial<Record<SettingKey, string>> = { broker: "CELERY_BROKER_URL", backend: "CELERY_RESULT_BACKEND" };

/**
 * The settings the environment decides, as Celery: `{ broker }` from `CELERY_BROKER_URL` and
 * `{ backend }` from `CELERY_RESULT_BACKEND` when they are set and not empty. What a CLI's
 * `-b/--broker` and `--result-backend` feed (they set these variables, as `celery` does).
 */
export function envSettings(env: NodeJS.ProcessEnv = process.env): Partial<CeleryConfig> {
  const out: Partial<Record<SettingKey, string>> = {};
  for (const [key, variable] of Object.entries(ENV_OVERRIDES)) if (env[variable]) out[key as SettingKey] = env[variable];
  return out as Partial<CeleryConfig>;
}

const RANK: Record<NameKind | "namespace", number> = { namespace: 0, key: 1, celery: 2, old: 3 };

/**
 * Settings under celeriac's keys from an object under any accepted names (undefined values
 * skipped). When two names of one setting are given, the namespaced name wins, then the key,
 * then Celery's name, then its old name. Unknown names are warned about and kept as they are
 * (with a namespace, only those that carry it).
 */
export function normalizeSettings(given: object, options: ConfigFromObjectOptions = {}): Partial<CeleryConfig> {
  const prefix = options.namespace ? options.namespace.replace(/_+$/, "") + "_" : null;
  const upper = prefix !== null && prefix === prefix.toUpperCase();
  const found = new Map<SettingKey, { rank: number; value: unknown }>();
  const unknown: { [name: string]: unknown } = {};
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined) continue;
    let hit: { key: SettingKey; rank: number } | undefined;
    if (prefix && name.startsWith(prefix)) {
      const rest = name.slice(prefix.length);
      const named = lookupSettingName(upper ? rest.toLowerCase() : rest);
      if (named && named.kind !== "old" && (upper ? rest === rest.toUpperCase() : rest === rest.toLowerCase())) hit = { key: named.key, rank: RANK.namespace };
    }
    if (!hit) {
      const named = lookupSettingName(name);
      if (named) hit = { key: named.key, rank: RANK[named.kind] };
    }
    if (!hit) {
      // Kept under its own name, as Celery keeps any key (code may read its own settings from conf).
      if (!prefix || name.startsWith(prefix)) {
        warnUnknownName("setting", name, knownSettingNames());
        unknown[name] = value;
      }
      continue;
    }
    const had = found.get(hit.key);
    if (!had || hit.rank < had.rank) found.set(hit.key, { rank: hit.rank, value });
  }
  return { ...unknown, ...Object.fromEntries([...found].map(([key, { value }]) => [key, value])) };
}

/**
 * Resolve settings without an app: defaults, `given` (any accepted names) over them, and the
 * environment's broker and backend over those (see the top of this file). Returns a `conf`
 * object as the app's: Celery's names read and write their setting (`conf.broker_url`).
 */
export function resolveConfig(given: NamedSettings = {}, env: NodeJS.ProcessEnv = process.env): CeleryConfig {
  return new Settings(given, env).conf;
}

/**
 * The settings of one app: the `conf` object and where each value came from, so that a config
 * object never overrides what the constructor or a `conf` assignment set.
 */
export class Settings {
  /** The resolved settings (the app's `conf`). */
  readonly conf: CeleryConfig;
  private readonly values: CeleryConfig;
  /** Keys set by the constructor or on `conf`. */
  private readonly changed = new Set<SettingKey>();
  /** Keys the current config object set. */
  private fromObject = new Set<SettingKey>();

  constructor(given: NamedSettings, env: NodeJS.ProcessEnv = process.env) {
    const values = { ...DEFAULTS };
    const record = values as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(normalizeSettings(given))) {
      record[key] = value;
      this.changed.add(key as SettingKey);
    }
    for (const [key, variable] of Object.entries(ENV_OVERRIDES)) {
      let value = record[key];
      Object.defineProperty(values, key, {
        enumerable: true,
        configurable: false,
        get: () => env[variable] || value,
        set: (v: unknown) => (value = v),
      });
    }
    for (const key of settingKeys()) {
      for (const alias of settingNamesOf(key)) {
        if (alias === key) continue;
        Object.defineProperty(values, alias, { enumerable: false, configurable: false, get: () => record[key], set: (v: unknown) => (record[key] = v) });
      }
    }
    this.values = values;
    const changed = this.changed;
    this.conf = new Proxy(values, {
      set(target, name, value) {
        if (typeof name === "string") {
          const named = lookupSettingName(name);
          if (named) changed.add(named.key);
          else if (!(name in target)) warnUnknownName("setting", name, knownSettingNames());
        }
        return Reflect.set(target, name, value);
      },
    });
  }

  /**
   * Celery's `config_from_object`: the settings of `source` (an object, or a module path: relative
   * paths from the working directory, `path:attribute` for one export; a module's `default` export
   * when it is the only one) under any accepted names, below those given to the constructor or set
   * on `conf`. Replaces what an earlier config object set.
   */
  configFromObject(source: object | string, options: ConfigFromObjectOptions = {}): void {
    const obj = typeof source === "string" ? loadConfigModule(source) : source;
    const settings = normalizeSettings(obj, options) as Record<string, unknown>;
    const record = this.values as unknown as Record<string, unknown>;
    const defaults = DEFAULTS as unknown as Record<string, unknown>;
    for (const key of this.fromObject) {
      if (this.changed.has(key)) continue;
      if (key in defaults) record[key] = defaults[key];
      else delete record[key];
    }
    this.fromObject = new Set();
    for (const [key, value] of Object.entries(settings)) {
      if (this.changed.has(key as SettingKey)) continue;
      record[key] = value;
      this.fromObject.add(key as SettingKey);
    }
  }
}

/** A config module's exports: `module.exports`, the `default` export of an ES module, or `path:attribute`. */
function loadConfigModule(spec: string): object {
  const m = /^(.+):([A-Za-z_$][\w$]*)$/.exec(spec);
  const [file, attribute] = m ? [m[1], m[2]] : [spec, null];
  const requireFrom = createRequire(path.join(process.cwd(), "noop.js"));
  let resolved: string;
  try {
    resolved = requireFrom.resolve(file); // a relative path, an absolute one, or a package
  } catch {
    resolved = requireFrom.resolve(path.resolve(file)); // `celeryconfig`: a module in the working directory, as Python finds it
  }
  const mod = requireFrom(resolved) as { [name: string]: unknown } | null;
  if (mod === null || typeof mod !== "object") throw new TypeError(`config module ${spec} does not export an object`);
  if (attribute !== null) {
    const value = mod[attribute];
    if (value === null || typeof value !== "object") throw new TypeError(`config module ${file} has no object export ${attribute}`);
    return value;
  }
  const names = Object.keys(mod).filter((k) => k !== "__esModule");
  if (names.length === 1 && names[0] === "default" && typeof mod.default === "object" && mod.default !== null) return mod.default;
  return Object.fromEntries(Object.entries(mod).filter(([k]) => k !== "__esModule" && k !== "default"));
}
