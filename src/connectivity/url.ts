import { sanitizeUrl, URL_MASK } from "../redact";

/**
 * Broker and backend URLs as they may appear in logs and errors: the password masked as `**`,
 * as kombu's `Connection.as_uri()` shows it (`redis://:**@127.0.0.1:6379/0`,
 * `amqp://guest:**@127.0.0.1:5672//`). A `password=` query parameter is masked too.
 */
export function maskUrl(url: string): string {
  return sanitizeUrl(url, URL_MASK).replace(/([?&]password=)[^&#]*/gi, "$1**");
}

/** Host and port of a broker/backend URL, with the scheme's default port (for error texts). */
export function urlEndpoint(url: string): { host: string; port: number } {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d+))?/i.exec(url);
  const scheme = (m?.[1] ?? "").toLowerCase();
  const host = (m?.[2] ?? "").replace(/^\[|\]$/g, "") || "localhost";
  const defaults: Record<string, number> = { redis: 6379, rediss: 6379, sentinel: 26379, amqp: 5672, pyamqp: 5672, amqps: 5671, pyamqps: 5671 };
  return { host, port: m?.[3] ? Number(m[3]) : (defaults[scheme] ?? 0) };
}
