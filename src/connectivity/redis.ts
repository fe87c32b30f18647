/**
 * ioredis clients of the Redis transport and backend: a first connect that fails with the
 * reason (not ioredis's "Connection is closed."), and their state changes while running.
 */
import type Redis from "ioredis";
import { connectionFailure } from "./errors";
import { mayHideTlsAlert, probeTls } from "./tls-probe";
import type { ConnectionStateEmitter } from "./state";

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
  try {
    if (client.status === "wait") await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    const error = first ?? err;
    const { tls, host, port } = client.options;
    // A TLS server refusing our certificate resets ioredis, which writes at once: ask it why.
    const alert = tls && mayHideTlsAlert(error) ? await probeTls(host ?? "localhost", port ?? 6379, tls) : null;
    throw connectionFailure(url, alert ?? error);
  } finally {
    client.off("error", remember);
  }
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
