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
 * What a node:tls / OpenSSL error code means, in the words of the settings to change: the
 * server's certificate (unknown CA, name, dates) or ours (missing, refused), or no TLS there.
 * `amqp` picks py-amqp's key names, else redis-py's.
 */
const TLS_REASONS: Array<[RegExp, (amqp: boolean, err: NodeError) => string]> = [
  [
    /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?)$/,
    (amqp) => `unknown CA: the server's certificate is not signed by a CA this client trusts (${amqp ? "ca_certs" : "ssl_ca_certs"})`,
  ],
  [/^ERR_TLS_CERT_ALTNAME_INVALID$/, (_, err) => `hostname mismatch: ${err.message.replace(/^Hostname\/IP does not match certificate's altnames: /, "")}`],
  [/^CERT_HAS_EXPIRED$/, () => "the server's certificate has expired"],
  [/^CERT_NOT_YET_VALID$/, () => "the server's certificate is not valid yet"],
  [/CERTIFICATE_REQUIRED$/, (amqp) => `the server requires a client certificate (${amqp ? "certfile and keyfile" : "ssl_certfile and ssl_keyfile"})`],
  [/ALERT_UNKNOWN_CA$/, () => "the server does not trust the client certificate (unknown CA)"],
  [/ALERT_CERTIFICATE_EXPIRED$/, () => "the server refused the client certificate: expired"],
  [/ALERT_(BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE)$/, () => "the server refused the client certificate"],
  [/ALERT_HANDSHAKE_FAILURE$/, () => "handshake failure (the server may require a client certificate, or shares no protocol version or cipher)"],
  [/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|RECORD_LAYER_FAILURE/, (amqp) => `the server does not speak TLS on this port (${amqp ? "amqp://" : "redis://"}?)`],
];

function tlsReason(err: NodeError, amqp: boolean): string {
  const code = err.code ?? "";
  for (const [pattern, reason] of TLS_REASONS) if (pattern.test(code)) return `${reason(amqp, err)} (${code})`;
  const text = err.message.replace(/\s+$/, "").replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:([^:]*):.*$/s, "$1");
  return `${text}${code ? ` (${code})` : ""}`;
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
  const amqp = !/^(rediss?|sentinel):/i.test(url);
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
    const { host, port } = urlEndpoint(url);
    return new ConnectionFailure(url, `TLS handshake with ${host}:${port} failed: ${tlsReason(err, amqp)}`, false, err);
  }
  return new ConnectionFailure(url, message || err.name, false, err);
}
