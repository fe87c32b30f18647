/**
 * ioredis clients of the Redis transport and backend: a first connect that fails with the
 * reason (not ioredis's "Connection is closed."), and their state changes while running.
 */
import Redis, { type RedisOptions } from "ioredis";
import { connectionFailure } from "./errors";
import { mayHideTlsAlert, probeTls } from "./tls-probe";
import type { ConnectionStateEmitter } from "./state";

/**
 * A new ioredis client of a link: `base` are the options of a Sentinel link
 * (sentinel.ts's `sentinelRedisOptions`), null for a redis:// or rediss:// `url`.
 */
export function newRedisClient(url: string, base: RedisOptions | null, options: RedisOptions): Redis {
  return base ? new Redis({ ...base, ...options }) : new Redis(url, options);
}

/**
 * Connect a lazy client and PING it, once. On failure the client is disconnected (no reconnects
 * left running behind the caller's back) and a ConnectionFailure with the first error the client
 * reported (ECONNREFUSED, WRONGPASS, ...) is thrown; a TLS link that was reset is probed for the
 * server's alert (client certificate required or refused).
 */
export async function connectRedisClient(client: Redis, url: string): Promise<void> {
  let first: Error | null = null;
  const remember = (err: Error): void => {
    first ??= err;
  };
  client.on("error", remember);
  // Through sentinels, ioredis retries a first connect forever once every sentinel failed: one
  // round is the attempt (the worker retries it with Celery's policy).
  let noMaster: ((err: Error) => void) | null = null;
  const sentinelRound = new Promise<never>((_, reject) => {
    noMaster = (err: Error) => {
      if (err.message.startsWith("All sentinels are unreachable")) reject(sentinelFailure(client, err));
    };
  });
  sentinelRound.catch(() => undefined);
  if ("sentinels" in client.options && client.options.sentinels) client.on("error", noMaster!);
  try {
    if (client.status === "wait") await Promise.race([client.connect(), sentinelRound]);
    await client.ping();
  } catch (err) {
    client.disconnect();
    const error = err instanceof SentinelFailure ? err : (first ?? err);
    const { tls, host, port } = client.options;
    // A TLS server refusing our certificate resets ioredis, which writes at once: ask it why.
    const alert = tls && mayHideTlsAlert(error) ? await probeTls(host ?? "localhost", port ?? 6379, tls) : null;
    throw connectionFailure(url, alert ?? error);
  } finally {
    client.off("error", remember);
    if (noMaster) client.off("error", noMaster);
  }
}

/** redis-py's MasterNotFoundError: no sentinel answered, or none knows the master. */
class SentinelFailure extends Error {}

/** ioredis's "All sentinels are unreachable" as redis-py words it, with the last error (no retry delay: the worker tells its own). */
function sentinelFailure(client: Redis, err: Error): SentinelFailure {
  const last = /Last error: (.*)$/s.exec(err.message)?.[1];
  const why = last ? `no sentinel answered (${last.replace(/\.$/, "")})` : "no sentinel knows it";
  return new SentinelFailure(`No master found for '${client.options.name ?? ""}': ${why}`);
}

/**
 * Follow an ioredis client: once it was ready, an unexpected close is `lost` (with the socket
 * error that came with it), errors while it reconnects are `failed`, and `ready` again is
 * `connected`. `closing()` tells an intended close (quit/disconnect) from a loss.
 */
export function followRedisClient(client: Redis, url: string, emitter: ConnectionStateEmitter, closing: () => boolean): void {
  let wasReady = false;
  let lastError: Error | null = null;
  client.on("ready", () => {
    wasReady = true;
    lastError = null;
    emitter.connected(url);
  });
  client.on("error", (err: Error) => {
    lastError = err;
    if (wasReady && client.status !== "ready") emitter.failed(url, err);
  });
  client.on("close", () => {
    if (!wasReady || closing() || client.status === "end") return;
    emitter.lost(url, lastError ?? new Error("Connection closed by server."));
    lastError = null;
  });
}
