/**
 * Why a TLS server dropped a connection. With TLS 1.3 a server that refuses the client's
 * certificate (or its absence) says so in an alert sent after the client's handshake is done;
 * a client that writes at once (ioredis's first commands) is reset before it reads the alert, and
 * reports only ECONNRESET / "Connection is closed.". A second handshake that writes nothing reads
 * the alert.
 */
import { connect, type ConnectionOptions } from "node:tls";
import { isErrorLike } from "./errors";

/** Socket errors a refused client certificate hides behind. */
const HIDING = /^(ECONNRESET|EPIPE)$/;

/** Whether `error` may hide a TLS alert (a reset, a pipe broken, a client that gave up). */
export function mayHideTlsAlert(error: unknown): boolean {
  if (!isErrorLike(error)) return false;
  return HIDING.test(error.code ?? "") || /Connection is closed|socket disconnected|socket hang up/i.test(error.message);
}

/**
 * Handshake with `host:port` and wait up to `waitMs` without writing: resolves with the TLS error
 * the server sent (or the handshake failed with), or null when nothing went wrong.
 */
export function probeTls(host: string, port: number, options: ConnectionOptions, waitMs = 1500): Promise<Error | null> {
  return new Promise((resolve) => {
    let done = false;
    const socket = connect({ ...options, host, port });
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => finish(null), waitMs);
    socket.on("error", (err: Error) => finish(err));
    socket.on("close", () => finish(null));
    socket.on("data", () => finish(null));
  });
}
