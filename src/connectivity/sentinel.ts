/**
 * Redis Sentinel links of the broker and the result backend, read as kombu's `SentinelChannel` and
 * Celery's `SentinelBackend` read them (pure: the ioredis options are built here, no connection).
 *
 * URL: `sentinel://[user:password@]host[:port][/db];sentinel://host2[:port2];...`, one URL per
 * sentinel (port 26379 by default). As in kombu and Celery, the user, password and database of the
 * FIRST URL are those of the master (and of the replica promoted in its place); the sentinels
 * themselves are asked with the credentials of `sentinel_kwargs` only. Transport options
 * (`broker_transport_options` / `result_backend_transport_options`, camelCase): `masterName`
 * (required: kombu refuses a Sentinel broker without it), `sentinelKwargs` (redis-py's keyword
 * arguments of the sentinel connections: `password`, `username`, `socket_timeout`,
 * `socket_connect_timeout`) and `minOtherSentinels` (only 0, the default, is supported).
 */
import type { RedisOptions } from "ioredis";

/** The Sentinel options of `broker_transport_options` / `result_backend_transport_options` (kombu's names in camelCase). */
export interface SentinelTransportOptions {
  /** master_name: the name the sentinels monitor the master under (`sentinel monitor <name> ...`). */
  masterName?: string;
  /** sentinel_kwargs: how the sentinels themselves are reached (redis-py's keyword arguments). */
  sentinelKwargs?: SentinelKwargs;
  /** min_other_sentinels: only 0 (the default) is supported; ioredis has no such check. */
  minOtherSentinels?: number;
}

/** `sentinel_kwargs`: redis-py's keyword arguments of the connections to the sentinels. */
export interface SentinelKwargs {
  /** The sentinels' `requirepass`. */
  password?: string;
  /** The sentinels' ACL user. */
  username?: string;
  /** Seconds a command to a sentinel may take. */
  socket_timeout?: number;
  /** Seconds a connection to a sentinel may take. */
  socket_connect_timeout?: number;
}

/** One sentinel's address. */
export interface SentinelAddress {
  host: string;
  port: number;
}

/** What a `sentinel://` URL list names. */
export interface SentinelUrl {
  sentinels: SentinelAddress[];
  /** The master's credentials and database (from the first URL). */
  username?: string;
  password?: string;
  db: number;
}

const SENTINEL_PORT = 26379;
const KWARGS = new Set(["password", "username", "socket_timeout", "socket_connect_timeout"]);

/** True for a `sentinel://` URL (or list of them). */
export function isSentinelUrl(url: string): boolean {
  return /^sentinel:\/\//i.test(url.trim());
}

/** The database of a Redis URL path (`/3` → 3; kombu's virtual host, Celery's db). */
function dbOf(pathname: string): number {
  const m = /^\/(\d+)/.exec(pathname);
  return m ? Number(m[1]) : 0;
}

/** Parse a `;`-separated list of `sentinel://` URLs (the password is never part of an error). */
export function parseSentinelUrl(url: string): SentinelUrl {
  const chunks = url.split(";").map((c) => c.trim()).filter(Boolean);
  const out: SentinelUrl = { sentinels: [], db: 0 };
  chunks.forEach((chunk, i) => {
    let u: URL;
    try {
      u = new URL(chunk);
    } catch {
      throw new Error(`invalid Sentinel URL #${i + 1}: expected sentinel://[user:password@]host[:port][/db]`);
    }
    if (u.protocol !== "sentinel:") throw new Error(`invalid Sentinel URL #${i + 1}: every URL of the list must be sentinel:// (got ${u.protocol}//)`);
    if (!u.hostname) throw new Error(`invalid Sentinel URL #${i + 1}: no host`);
    out.sentinels.push({ host: u.hostname.replace(/^\[|\]$/g, ""), port: u.port ? Number(u.port) : SENTINEL_PORT });
    if (i > 0) return;
    if (u.username) out.username = decodeURIComponent(u.username);
    if (u.password) out.password = decodeURIComponent(u.password);
    const q = u.searchParams.get("db");
    out.db = q !== null && /^\d+$/.test(q) ? Number(q) : dbOf(u.pathname);
  });
  if (out.sentinels.length === 0) throw new Error("invalid Sentinel URL: no sentinel given");
  return out;
}

/**
 * ioredis options that reach the current master through the sentinels of `url`, as kombu and
 * Celery do: after a failover a reconnect asks the sentinels again and lands on the promoted
 * replica; a master demoted under a connection (READONLY replies) is left for the new one.
 * `setting` names where the options came from, for errors.
 */
export function sentinelRedisOptions(url: string, options: SentinelTransportOptions, setting: string): RedisOptions {
  const parsed = parseSentinelUrl(url);
  if (!options.masterName) throw new Error(`'master_name' transport option must be specified (${setting}.masterName) for a sentinel:// URL`);
  if (options.minOtherSentinels) throw new Error(`${setting}.minOtherSentinels is not supported (only 0)`);
  const kwargs = options.sentinelKwargs ?? {};
  for (const key of Object.keys(kwargs)) {
    if (!KWARGS.has(key)) throw new Error(`${setting}.sentinelKwargs.${key} is not supported (supported: ${[...KWARGS].join(", ")})`);
  }
  const seconds = (v: number | undefined): number | undefined => (typeof v === "number" && v > 0 ? Math.round(v * 1000) : undefined);
  const commandTimeout = seconds(kwargs.socket_timeout);
  const connectTimeout = seconds(kwargs.socket_connect_timeout);
  return {
    sentinels: parsed.sentinels,
    name: options.masterName,
    role: "master",
    db: parsed.db,
    ...(parsed.username ? { username: parsed.username } : {}),
    ...(parsed.password ? { password: parsed.password } : {}),
    ...(kwargs.username ? { sentinelUsername: kwargs.username } : {}),
    ...(kwargs.password ? { sentinelPassword: kwargs.password } : {}),
    ...(commandTimeout ? { sentinelCommandTimeout: commandTimeout } : {}),
    ...(connectTimeout ? { connectTimeout } : {}),
    // A master demoted to a replica answers writes with READONLY: reconnect (through the
    // sentinels, to the new master) and resend the command.
    reconnectOnError: (err: Error) => (/^READONLY\b/.test(err.message) ? 2 : false),
  };
}
