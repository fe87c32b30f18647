/**
 * AMQP broker URLs as kombu reads them (docs/protocol.md §6.7):
 *
 *   amqp://user:pass@host:port/vhost     (pyamqp:// is Python's alias of amqp://)
 *   amqps://…                            TLS, default port 5671
 *
 * vhost: the path without its leading "/", percent-decoded; empty → "/" (`%2F` is "/" too).
 * Defaults: guest/guest, localhost, 5672. Query `heartbeat=<s>` and `frame_max=<bytes>` are
 * read (kombu's names); other query parameters are ignored, but `ssl_*` ones are refused
 * (connectivity/tls-settings.ts: TLS comes from broker_use_ssl, as for kombu).
 */
import { sanitizeUrl, URL_MASK } from "../../redact";

export interface AmqpUrl {
  protocol: "amqp" | "amqps";
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  heartbeat?: number;
  frameMax?: number;
}

/** Schemes accepted by the AMQP transport. */
export const AMQP_URL_PATTERN = /^(amqps?|pyamqp|pyamqps):\/\//i;

export function isAmqpUrl(url: string): boolean {
  return AMQP_URL_PATTERN.test(url);
}

/** `url` read as kombu does; `ssl` (broker_use_ssl given) makes even amqp:// TLS, on port 5671 unless the URL has one. */
export function parseAmqpUrl(url: string, ssl = false): AmqpUrl {
  const m = /^([a-z]+):\/\/(.*)$/is.exec(url);
  if (!m || !isAmqpUrl(url)) throw new Error(`not an AMQP URL: ${redactAmqpUrl(url)} (expected amqp://, amqps:// or pyamqp://)`);
  const scheme = m[1].toLowerCase();
  const tls = ssl || scheme === "amqps" || scheme === "pyamqps";
  // WHATWG URL needs a special-ish scheme to split authority/path; use http as a carrier.
  const carrier = new URL(`http://${m[2]}`);
  const path = carrier.pathname.startsWith("/") ? carrier.pathname.slice(1) : carrier.pathname;
  const vhost = path === "" ? "/" : decodeURIComponent(path);
  const rawPort = carrier.port;
  const result: AmqpUrl = {
    protocol: tls ? "amqps" : "amqp",
    hostname: carrier.hostname.replace(/^\[|\]$/g, "") || "localhost",
    port: rawPort ? Number(rawPort) : tls ? 5671 : 5672,
    username: carrier.username ? decodeURIComponent(carrier.username) : "guest",
    password: carrier.password ? decodeURIComponent(carrier.password) : carrier.username ? "" : "guest",
    vhost,
  };
  const hb = carrier.searchParams.get("heartbeat");
  if (hb !== null && hb !== "" && Number.isFinite(Number(hb))) result.heartbeat = Number(hb);
  const fm = carrier.searchParams.get("frame_max");
  if (fm !== null && fm !== "" && Number.isFinite(Number(fm))) result.frameMax = Number(fm);
  return result;
}

/** The URL with the password masked, for logs and errors. */
export function redactAmqpUrl(url: string): string {
  return sanitizeUrl(url, URL_MASK);
}
