/**
 * Secrets are never shown: Celery's masking of passwords in URLs and of settings whose names
 * look secret, in one place (pure, no I/O).
 *
 * - `sanitizeUrl`: Celery's `celery.app.utils.sanitize_url` (Celery 5.5+): the password of each URL
 *   (also of `;`-separated URL lists and multi-host authorities) becomes the mask; the rest of the
 *   URL is kept as written.
 * - `brokerUri`: kombu's `Connection(url).as_uri(mask=...)`, what Celery shows for `broker_url`.
 * - `filterHiddenSettings`: Celery's `filter_hidden_settings` (`inspect conf`, `report`), plus:
 *   celeriac also masks URL passwords in every other string value and inside arrays, which Celery leaves.
 * - `redactText`: a last pass for free text (log lines, error messages): `scheme://user:pass@` → `scheme://user:**@`.
 */

/** Celery's `HIDDEN_SETTINGS` (celery/app/utils.py): a setting whose name matches is shown as the mask. */
export const HIDDEN_SETTINGS = /API|TOKEN|KEY|SECRET|PASS|PROFANITIES_LIST|SIGNATURE|DATABASE|BEAT_DBURI/i;

/** Celery's mask for hidden settings and URL passwords in `inspect conf` / `report`. */
export const SETTING_MASK = "********";

/** kombu's default mask for URL passwords (`maybe_sanitize_url`, banners, connection errors). */
export const URL_MASK = "**";

/** Setting names Celery shows as kombu's `Connection(url).as_uri()`. */
const BROKER_URL_NAMES = new Set(["broker_url", "broker_read_url", "broker_write_url"]);

function maskUserinfo(userinfo: string, mask: string): string {
  const colon = userinfo.indexOf(":");
  return colon < 0 ? userinfo : `${userinfo.slice(0, colon)}:${mask}`;
}

/**
 * The URL with its password replaced by `mask` (Celery's `sanitize_url`): `redis://:pw@h/0` →
 * `redis://:********@h/0`, `amqp://guest:guest@h//` → `amqp://guest:********@h//`; each URL of a
 * `;`-separated list is sanitized. A string without `://` is returned unchanged.
 */
export function sanitizeUrl(url: string, mask: string = SETTING_MASK): string {
  if (!url.includes("://")) return url;
  const parts = url.split(";");
  if (parts.length > 1 && parts.slice(1).some((p) => p.includes("://"))) {
    return parts.map((p) => sanitizeUrl(p.trim(), mask)).join(";");
  }
  const at = url.indexOf("://");
  const scheme = url.slice(0, at);
  const rest = url.slice(at + 3);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const tail = end < 0 ? "" : rest.slice(end);
  const sep = authority.includes(";") ? ";" : authority.includes(",") ? "," : null;
  if (!authority.includes("@")) {
    if (!sep) return url;
    return `${scheme}://${authority.split(sep).map((h) => h.trim()).filter(Boolean).join(sep)}${tail}`;
  }
  const lastAt = authority.lastIndexOf("@");
  const userinfo = authority.slice(0, lastAt);
  const host = authority.slice(lastAt + 1);
  const chunks = sep ? authority.split(sep).map((c) => c.trim()).filter(Boolean) : [];
  const multiServer =
    chunks.length > 1 &&
    !chunks.some((c) => !c.includes("@") && c.startsWith(":")) &&
    !chunks.some((c) => c.includes("@") && !c.slice(0, c.lastIndexOf("@")).includes(":"));
  if (!multiServer) {
    if (authority.split("@").length > 2 && !userinfo.includes(":")) return `${scheme}://${mask}@${host}${tail}`;
    return `${scheme}://${maskUserinfo(userinfo, mask)}@${host}${tail}`;
  }
  const servers = chunks.map((c) => {
    const i = c.lastIndexOf("@");
    return i < 0 ? c : `${maskUserinfo(c.slice(0, i), mask)}@${c.slice(i + 1)}`;
  });
  return `${scheme}://${servers.join(sep as string)}${tail}`;
}

/** Python's `urllib.parse.quote(s, safe)`. */
function pyQuote(s: string, safe: string): string {
  let out = "";
  for (const byte of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.\-~]/.test(c) || safe.includes(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function unquote(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const KOMBU_TRANSPORTS: Record<string, { name: string; port: number; userid: string | null }> = {
  redis: { name: "redis", port: 6379, userid: null },
  rediss: { name: "rediss", port: 6379, userid: null },
  amqp: { name: "amqp", port: 5672, userid: "guest" },
  pyamqp: { name: "amqp", port: 5672, userid: "guest" },
  amqps: { name: "amqps", port: 5671, userid: "guest" },
  pyamqps: { name: "amqps", port: 5671, userid: "guest" },
};

/**
 * The broker URL as Celery shows it (kombu `Connection(url).as_uri(mask=mask)`): the first URL of
 * a failover list, with the transport's default port, user and virtual host filled in and the
 * password always replaced by `mask`: `redis://:pw@h` → `redis://:**@h:6379//`. Schemes celeriac
 * does not know are passed to `sanitizeUrl`.
 */
export function brokerUri(url: string, mask: string = URL_MASK): string {
  const first = url.split(";")[0].trim();
  const m = /^([a-z0-9+.-]+):\/\/(.*)$/is.exec(first);
  const transport = m ? KOMBU_TRANSPORTS[m[1].toLowerCase()] : undefined;
  if (!m || !transport) return sanitizeUrl(url, mask);
  const rest = m[2];
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const pathAndQuery = end < 0 ? "" : rest.slice(end);
  const at = authority.lastIndexOf("@");
  const userinfo = at < 0 ? "" : authority.slice(0, at);
  const hostPort = at < 0 ? authority : authority.slice(at + 1);
  const portMatch = /:(\d*)$/.exec(hostPort);
  const host = unquote(portMatch ? hostPort.slice(0, portMatch.index) : hostPort).toLowerCase() || "localhost";
  const port = portMatch && portMatch[1] ? Number(portMatch[1]) : transport.port;
  const user = userinfo ? unquote(userinfo.split(":")[0]) || null : null;
  const userid = user ?? transport.userid;
  let path = pathAndQuery.replace(/[?#].*$/s, "");
  if (path.startsWith("/")) path = path.slice(1);
  const vhost = unquote(path) || "/";
  return `${transport.name}://${userid ? pyQuote(userid, "") : ""}:${mask}@${host}:${port}/${pyQuote(vhost, "/")}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);
}

/** Beyond Celery: URL passwords inside any other value (strings, arrays, objects in arrays). */
function redactValue(value: unknown, mask: string): unknown {
  if (typeof value === "string") return redactText(value, mask);
  if (Array.isArray(value)) return value.map((v) => (isPlainObject(v) ? filterHiddenSettings(v, mask) : redactValue(v, mask)));
  return value;
}

/**
 * Celery's `filter_hidden_settings`: nested objects are filtered recursively; a value whose key
 * matches `HIDDEN_SETTINGS` (`security_key`, `securityKey`, `password`, ...) becomes `mask`;
 * `broker_url`/`broker_read_url`/`broker_write_url` are shown as `brokerUri`; a key containing
 * `backend` has its URL sanitized. celeriac also masks URL passwords in any other string and
 * inside arrays (Celery shows those as given).
 */
export function filterHiddenSettings(conf: Record<string, unknown>, mask: string = SETTING_MASK): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(conf)) {
    if (isPlainObject(value)) out[key] = filterHiddenSettings(value, mask);
    else if (HIDDEN_SETTINGS.test(key)) out[key] = mask;
    else if (BROKER_URL_NAMES.has(key.toLowerCase()) && typeof value === "string") out[key] = brokerUri(value, mask);
    else if (key.toLowerCase().includes("backend") && typeof value === "string") out[key] = sanitizeUrl(value, mask);
    else out[key] = redactValue(value, mask);
  }
  return out;
}

const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"]*:)[^\s@]*@/gi;

/**
 * Free text with every `scheme://user:password@` shown as `scheme://user:<mask>@` (a last pass
 * over log lines and error messages, whatever produced them).
 */
export function redactText(text: string, mask: string = URL_MASK): string {
  if (!text.includes("://")) return text;
  return text.replace(URL_CREDENTIALS, (_, prefix: string) => `${prefix}${mask}@`);
}
