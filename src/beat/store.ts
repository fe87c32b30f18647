/**
 * Where beat keeps its state: each entry's last run time and run count (Celery's
 * `last_run_at` / `total_run_count`), plus the zone settings that state was computed in.
 *
 * - FileStore: a local JSON file (Celery's PersistentScheduler keeps a shelve file); one beat.
 * - RedisStore: a Redis hash, shared by several beats of which only the holder of a lease
 *   sends; it also holds the entries added at run time.
 */
import { promises as fs, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { randomUUID as uuid4 } from "node:crypto";
import type Redis from "ioredis";
import type { RedisOptions } from "ioredis";
import type { Logger } from "../logging";
import type { BeatEntryJSON } from "./entry";
import { sanitizeUrl, URL_MASK } from "../redact";

/** An ioredis client; ioredis is loaded when a Redis store is first made, not with beat. */
function newRedis(url: string, options: RedisOptions): Redis {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous load on first use, which `import` cannot express
  const RedisClient = require("ioredis") as typeof Redis;
  return new RedisClient(url, options);
}

/** Celery's `last_run_at` (epoch ms) and `total_run_count` of one entry. */
export interface EntryState {
  lastRunAt: number;
  totalRunCount: number;
}

/** The settings the stored times depend on: a change resets the state, as in Celery. */
export interface StoreMeta {
  timezone: string;
  utcEnabled: boolean;
}

/** Outcome of a lease attempt. */
export type LeaseResult = "acquired" | "renewed" | "lost";

export interface BeatStore {
  /** For the banner, e.g. `celeriac-beat-schedule.json`. */
  readonly description: string;
  /** Several beats may share the store: only the lease holder sends. */
  readonly shared: boolean;
  /** Open (and for unshared stores, check the zone settings and reset if they changed). */
  open(meta: StoreMeta, logger: Logger): Promise<void>;
  /** All stored states. */
  load(): Promise<Map<string, EntryState>>;
  /**
   * Record a run before its message is sent (Celery reserves before sending too). Returns false
   * when this beat may not send it: the lease is lost, or another beat already recorded a run.
   */
  reserve(name: string, prev: EntryState, next: EntryState): Promise<boolean>;
  /** Add the states of entries that have none yet and drop the states of entries not in `keep`. */
  sync(fresh: Map<string, EntryState>, keep: Set<string>): Promise<void>;
  close(): Promise<void>;

  /** Shared stores: take or renew the lease. */
  lease?(): Promise<LeaseResult>;
  /** Shared stores: give the lease up (on shutdown) so another beat takes over at once. */
  releaseLease?(): Promise<void>;
  /** Shared stores: check the zone settings once leader (reset the state if they changed). */
  checkMeta?(meta: StoreMeta, logger: Logger): Promise<void>;
  /** Shared stores: a token that changes whenever run-time entries change. */
  entriesVersion?(): Promise<string>;
  /** Shared stores: the entries added at run time. */
  loadEntries?(): Promise<Map<string, BeatEntryJSON>>;
}

interface StoredState {
  last_run_at: string;
  total_run_count: number;
}

function encodeState(s: EntryState): StoredState {
  return { last_run_at: new Date(s.lastRunAt).toISOString(), total_run_count: s.totalRunCount };
}

function decodeState(raw: unknown): EntryState | null {
  if (!raw || typeof raw !== "object") return null;
  const r = raw as Partial<StoredState>;
  const t = typeof r.last_run_at === "string" ? Date.parse(r.last_run_at) : NaN;
  if (Number.isNaN(t)) return null;
  return { lastRunAt: t, totalRunCount: typeof r.total_run_count === "number" ? r.total_run_count : 0 };
}

const FILE_VERSION = "celeriac-beat-1";

interface StateFile {
  __version__?: string;
  tz?: string;
  utc_enabled?: boolean;
  entries?: Record<string, unknown>;
}

/* ------------------------------------------------------------------ file */

/** A JSON file; written atomically (temp file + rename) after every change. */
export class FileStore implements BeatStore {
  readonly shared = false;
  readonly path: string;
  private states = new Map<string, EntryState>();
  private meta: StoreMeta | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = resolve(path);
  }

  get description(): string {
    return this.path;
  }

  async open(meta: StoreMeta, logger: Logger): Promise<void> {
    this.meta = meta;
    const doc = this.read(logger);
    this.states.clear();
    if (doc) {
      if (doc.__version__ !== FILE_VERSION) {
        logger.warn("DB Reset: Account for new __version__ field");
      } else if (doc.tz !== undefined && doc.tz !== meta.timezone) {
        logger.warn(`Reset: Timezone changed from '${doc.tz}' to '${meta.timezone}'`);
      } else if (doc.utc_enabled !== undefined && doc.utc_enabled !== meta.utcEnabled) {
        const word = (b: boolean) => (b ? "enabled" : "disabled");
        logger.warn(`Reset: UTC changed from ${word(doc.utc_enabled)} to ${word(meta.utcEnabled)}`);
      } else {
        for (const [name, raw] of Object.entries(doc.entries ?? {})) {
          const s = decodeState(raw);
          if (s) this.states.set(name, s);
        }
      }
    }
    await this.flush();
  }

  private read(logger: Logger): StateFile | null {
    try {
      const doc = JSON.parse(readFileSync(this.path, "utf8")) as unknown;
      if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new Error("not a JSON object");
      return doc;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        logger.error(`Removing corrupted schedule file '${this.path}': ${(err as Error).message}`);
      }
      return null;
    }
  }

  async load(): Promise<Map<string, EntryState>> {
    return new Map(this.states);
  }

  async reserve(name: string, _prev: EntryState, next: EntryState): Promise<boolean> {
    this.states.set(name, next);
    await this.flush();
    return true;
  }

  async sync(fresh: Map<string, EntryState>, keep: Set<string>): Promise<void> {
    for (const [name, s] of fresh) if (!this.states.has(name)) this.states.set(name, s);
    for (const name of [...this.states.keys()]) if (!keep.has(name)) this.states.delete(name);
    await this.flush();
  }

  /** Write the file (serialized; each write sees the latest state). */
  flush(): Promise<void> {
    const run = async () => {
      const doc = {
        __version__: FILE_VERSION,
        tz: this.meta?.timezone,
        utc_enabled: this.meta?.utcEnabled,
        entries: Object.fromEntries([...this.states].map(([k, v]) => [k, encodeState(v)])),
      };
      const tmp = `${this.path}.${process.pid}.tmp`;
      await fs.mkdir(dirname(this.path), { recursive: true });
      await fs.writeFile(tmp, JSON.stringify(doc, null, 1) + "\n");
      await fs.rename(tmp, this.path);
    };
    this.writing = this.writing.then(run, run);
    return this.writing;
  }

  async close(): Promise<void> {
    await this.writing.catch(() => undefined);
  }
}

/* ------------------------------------------------------------------ redis */

/** Keys of one schedule in Redis. */
export function redisKeys(prefix: string): { lock: string; state: string; entries: string; version: string; meta: string } {
  return {
    lock: `${prefix}lock`,
    state: `${prefix}state`,
    entries: `${prefix}entries`,
    version: `${prefix}entries-version`,
    meta: `${prefix}meta`,
  };
}

// KEYS: lock. ARGV: owner, lease ms. 1 = renewed, 2 = acquired, 0 = held by another.
const LEASE_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0`;

// KEYS: lock. ARGV: owner.
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

// KEYS: lock, state. ARGV: owner, name, expected last_run_at (ms), new state JSON.
// 1 = reserved; 0 = not the lease holder; -1 = the stored state is not the expected one.
const RESERVE_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local cur = redis.call('HGET', KEYS[2], ARGV[2])
if cur then
  local ok, doc = pcall(cjson.decode, cur)
  if not ok or type(doc) ~= 'table' or tonumber(doc['ms']) ~= tonumber(ARGV[3]) then return -1 end
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
return 1`;

// KEYS: lock, state. ARGV: owner, n, name1, json1, ..., then names to keep.
const SYNC_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  redis.call('HSETNX', KEYS[2], ARGV[3 + 2 * i], ARGV[4 + 2 * i])
end
local keep = {}
for i = 3 + 2 * n, #ARGV do keep[ARGV[i]] = true end
for _, name in ipairs(redis.call('HKEYS', KEYS[2])) do
  if not keep[name] then redis.call('HDEL', KEYS[2], name) end
end
return 1`;

function stateJSON(s: EntryState): string {
  return JSON.stringify({ ...encodeState(s), ms: s.lastRunAt });
}

export interface RedisStoreOptions {
  /** Key prefix of this schedule (several schedules can share a database). */
  keyPrefix?: string;
  /** Lease time-to-live in seconds. */
  leaseTimeout?: number;
  /** Identity written into the lease. */
  owner?: string;
}

/** Beat state, run-time entries and the leader lease in Redis. */
export class RedisStore implements BeatStore {
  readonly shared = true;
  readonly url: string;
  readonly keys: ReturnType<typeof redisKeys>;
  readonly owner: string;
  readonly leaseMs: number;
  private readonly redis: Redis;

  constructor(url: string, options: RedisStoreOptions = {}) {
    this.url = url;
    this.keys = redisKeys(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.leaseMs = Math.max(1, Math.round((options.leaseTimeout ?? DEFAULT_LEASE_TIMEOUT) * 1000));
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${uuid4()}`;
    this.redis = newRedis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    this.redis.on("error", () => undefined); // reported through failed commands
  }

  get description(): string {
    return `${sanitizeUrl(this.url, URL_MASK)} ${this.keys.state}`;
  }

  async open(): Promise<void> {
    if (this.redis.status === "wait") await this.redis.connect();
  }

  async checkMeta(meta: StoreMeta, logger: Logger): Promise<void> {
    const [tz, utc] = await this.redis.hmget(this.keys.meta, "tz", "utc_enabled");
    const utcEnabled = meta.utcEnabled ? "1" : "0";
    let reset = false;
    if (tz !== null && tz !== meta.timezone) {
      logger.warn(`Reset: Timezone changed from '${tz}' to '${meta.timezone}'`);
      reset = true;
    } else if (utc !== null && utc !== utcEnabled) {
      const word = (b: string) => (b === "1" ? "enabled" : "disabled");
      logger.warn(`Reset: UTC changed from ${word(utc)} to ${word(utcEnabled)}`);
      reset = true;
    }
    if (reset) await this.redis.del(this.keys.state);
    await this.redis.hset(this.keys.meta, "tz", meta.timezone, "utc_enabled", utcEnabled);
  }

  async load(): Promise<Map<string, EntryState>> {
    return readStates(this.redis, this.keys.state);
  }

  async lease(): Promise<LeaseResult> {
    const r = (await this.redis.eval(LEASE_LUA, 1, this.keys.lock, this.owner, String(this.leaseMs))) as number;
    return r === 1 ? "renewed" : r === 2 ? "acquired" : "lost";
  }

  async releaseLease(): Promise<void> {
    await this.redis.eval(RELEASE_LUA, 1, this.keys.lock, this.owner);
  }

  async reserve(name: string, prev: EntryState, next: EntryState): Promise<boolean> {
    const r = (await this.redis.eval(RESERVE_LUA, 2, this.keys.lock, this.keys.state, this.owner, name, String(prev.lastRunAt), stateJSON(next))) as number;
    return r === 1;
  }

  async sync(fresh: Map<string, EntryState>, keep: Set<string>): Promise<void> {
    const args: string[] = [this.owner, String(fresh.size)];
    for (const [name, s] of fresh) args.push(name, stateJSON(s));
    args.push(...keep);
    await this.redis.eval(SYNC_LUA, 2, this.keys.lock, this.keys.state, ...args);
  }

  async entriesVersion(): Promise<string> {
    return (await this.redis.get(this.keys.version)) ?? "0";
  }

  async loadEntries(): Promise<Map<string, BeatEntryJSON>> {
    return readEntries(this.redis, this.keys.entries);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/** Default key prefix of the Redis store. */
export const DEFAULT_KEY_PREFIX = "celeriac:beat:";
/** Default lease, seconds. */
export const DEFAULT_LEASE_TIMEOUT = 5;

/** Last-run states kept in a Redis hash; an unreadable one is skipped (that entry starts afresh). */
async function readStates(redis: Redis, key: string): Promise<Map<string, EntryState>> {
  const all = await redis.hgetall(key);
  const out = new Map<string, EntryState>();
  for (const [name, text] of Object.entries(all)) {
    try {
      const s = decodeState(JSON.parse(text));
      if (s) out.set(name, s);
    } catch {
      // unreadable: skipped
    }
  }
  return out;
}

async function readEntries(redis: Redis, key: string): Promise<Map<string, BeatEntryJSON>> {
  const all = await redis.hgetall(key);
  const out = new Map<string, BeatEntryJSON>();
  for (const [name, text] of Object.entries(all)) {
    try {
      out.set(name, JSON.parse(text) as BeatEntryJSON);
    } catch {
      // skipped; `celeriac beat list` shows what is readable
    }
  }
  return out;
}

/** Run-time entries in Redis, without a running beat (API and CLI). */
export class RedisEntryAdmin {
  readonly keys: ReturnType<typeof redisKeys>;
  private readonly redis: Redis;
  constructor(url: string, keyPrefix: string = DEFAULT_KEY_PREFIX) {
    this.keys = redisKeys(keyPrefix);
    this.redis = newRedis(url, { maxRetriesPerRequest: 2 });
    this.redis.on("error", () => undefined);
  }

  /** Add or replace an entry; a replaced entry keeps its last run time (Celery's entry update). */
  async put(name: string, entry: BeatEntryJSON, now: number = Date.now()): Promise<void> {
    // A new entry's first run is one period after it was added; a replaced one keeps its state.
    const state = stateJSON({ lastRunAt: now, totalRunCount: 0 });
    await this.redis
      .multi()
      .hset(this.keys.entries, name, JSON.stringify(entry))
      .hsetnx(this.keys.state, name, state)
      .incr(this.keys.version)
      .exec();
  }

  /** Remove an entry and its state; false when there was none. */
  async remove(name: string): Promise<boolean> {
    const res = await this.redis.multi().hdel(this.keys.entries, name).hdel(this.keys.state, name).incr(this.keys.version).exec();
    return Number(res?.[0]?.[1] ?? 0) > 0;
  }

  entries(): Promise<Map<string, BeatEntryJSON>> {
    return readEntries(this.redis, this.keys.entries);
  }

  async states(): Promise<Map<string, EntryState>> {
    return readStates(this.redis, this.keys.state);
  }

  /** The current lease holder, if any. */
  leader(): Promise<string | null> {
    return this.redis.get(this.keys.lock);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
