/**
 * Why a connection to a broker or result backend could not be made, in words an operator can act
 * on, naming the URL with its password masked. Socket errors read as Python's (redis-py's
 * `Error 111 connecting to host:port. Connection refused.`, py-amqp's `[Errno 111] Connection
 * refused`), so logs of Python and Node workers of one fleet look alike.
 */
import { maskUrl, urlEndpoint } from "./url";

/** errno names Node reports → Linux errno number and strerror text (what Python shows). */
const ERRNO: Record<string, [number, string]> = {
  ECONNREFUSED: [111, "Connection refused"],
  ECONNRESET: [104, "Connection reset by peer"],
  ETIMEDOUT: [110, "Connection timed out"],
  EHOSTUNREACH: [113, "No route to host"],
  ENETUNREACH: [101, "Network is unreachable"],
  EPIPE: [32, "Broken pipe"],
  ENOTFOUND: [-2, "Name or service not known"],
  EAI_NONAME: [-2, "Name or service not known"],
  EAI_AGAIN: [-3, "Temporary failure in name resolution"],
};

/** A connect attempt failed. `fatal` failures (refused credentials) are not retried, as Celery. */
export class ConnectionFailure extends Error {
  /** The URL with its password masked. */
  readonly url: string;
  /** The reason alone (no URL). */
  readonly reason: string;
  /** True when retrying cannot help (wrong password, access refused). */
  readonly fatal: boolean;
  /** `detail` is appended to the message (e.g. why no retry follows). */
  constructor(url: string, reason: string, fatal: boolean, cause?: unknown, detail = "") {
    super(`Cannot connect to ${maskUrl(url)}: ${reason}${detail}`, { cause });
    this.name = "ConnectionFailure";
    this.url = maskUrl(url);
    this.reason = reason;
    this.fatal = fatal;
  }
}

interface NodeError extends Error {
  code?: string;
}

/** An Error, also one of another realm (a vm context, where `instanceof Error` is false). */
export function isErrorLike(value: unknown): value is NodeError {
  return typeof value === "object" && value !== null && typeof (value as { message?: unknown }).message === "string";
}

/** Credentials refused: Redis WRONGPASS / NOAUTH, RabbitMQ 403 ACCESS_REFUSED. */
function isAuthError(message: string): boolean {
  return /^(WRONGPASS|NOAUTH)\b|ACCESS[_-]REFUSED|\b403\b.*refused/i.test(message);
}

/** A TLS handshake or certificate error of node:tls. */
function isTlsError(err: NodeError): boolean {
  const code = err.code ?? "";
  return /^ERR_SSL_|^ERR_TLS_|CERT|SELF_SIGNED|^UNABLE_TO_|^DEPTH_ZERO/.test(code) || /SSL routines|certificate/i.test(err.message);
}

/**
 * The failure of a connect attempt to `url` (the real URL: its password is masked here). The
 * first socket/auth error a client reported is the useful one; "Connection is closed." of a
 * client that gave up says nothing.
 */
export function connectionFailure(url: string, error: unknown): ConnectionFailure {
  if (error instanceof ConnectionFailure) return error;
  const err: NodeError = isErrorLike(error) ? error : new Error(String(error));
  const message = err.message.replace(/\s+$/, "");
  const amqp = !/^rediss?:/i.test(url);
  const errno = err.code ? ERRNO[err.code] : undefined;
  if (errno) {
    const { host, port } = urlEndpoint(url);
    const [n, text] = errno;
    return new ConnectionFailure(url, amqp ? `[Errno ${n}] ${text}` : `Error ${n} connecting to ${host}:${port}. ${text}.`, false, err);
  }
  if (isAuthError(message)) {
    const text = message.replace(/^Handshake terminated by server: /, "").replace(/^.*with message "(.*)"$/s, "$1");
    return new ConnectionFailure(url, `${text} (credentials refused: check the user and password)`, true, err);
  }
  if (isTlsError(err)) {
    const text = message.replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:([^:]*):.*$/s, "$1");
    return new ConnectionFailure(url, `TLS handshake failed: ${text}${err.code ? ` (${err.code})` : ""}`, false, err);
  }
  return new ConnectionFailure(url, message || err.name, false, err);
}
