/**
 * TLS of broker and result-backend links from Celery's settings and URL parameters, read as
 * Celery, kombu, redis-py and py-amqp read them (pure: no file is read here, see tls-options.ts).
 *
 * Redis (broker and backend) takes redis-py's keys, in `broker_use_ssl` /
 * `redis_backend_use_ssl` or as URL parameters (`rediss://...?ssl_cert_reqs=required&
 * ssl_ca_certs=...&ssl_certfile=...&ssl_keyfile=...`, percent-encoded); URL parameters win over
 * the setting's keys. RabbitMQ takes py-amqp's keys (`ca_certs`, `certfile`, `keyfile`,
 * `cert_reqs`, `server_hostname`) in `broker_use_ssl` only: kombu hands `ssl_*` URL parameters
 * of an amqps:// URL to py-amqp, which fails on them (TypeError), so they are refused here too.
 *
 * Where celeriac differs, it is stricter: a link without `ssl_cert_reqs` verifies the server
 * (kombu's Redis broker falls back to CERT_NONE, Celery's Redis backend refuses the URL), and the
 * server's name is checked on RabbitMQ too (py-amqp checks it only with `server_hostname`).
 */

/** Python's ssl.CERT_* by name (Celery's `CERT_REQUIRED` or kombu's `required`) or value (0, 1, 2). */
export type CertReqs = "required" | "optional" | "none" | "CERT_REQUIRED" | "CERT_OPTIONAL" | "CERT_NONE" | 0 | 1 | 2;

/** `broker_use_ssl` / `redis_backend_use_ssl` for Redis: redis-py's keys, as in Celery. */
export interface RedisSslSettings {
  /** Verify the server's certificate: "required" (default), "optional" (the same for a client) or "none". */
  ssl_cert_reqs?: CertReqs;
  /** PEM file of the CA(s) to trust, besides the system's (redis-py loads both). */
  ssl_ca_certs?: string;
  /** PEM file of the client certificate (mutual TLS). */
  ssl_certfile?: string;
  /** PEM file of the client certificate's private key (unencrypted). */
  ssl_keyfile?: string;
  /** Check the server's name against its certificate (redis-py 6+: true; off with "none"). */
  ssl_check_hostname?: boolean;
}

/** `broker_use_ssl` for RabbitMQ: py-amqp's keys (those of Python's `ssl.wrap_socket`), as in Celery. */
export interface AmqpSslSettings {
  /** Verify the server's certificate: "required" (default), "optional" (the same for a client) or "none". */
  cert_reqs?: CertReqs;
  /** PEM file of the CA(s) to trust instead of the system's (py-amqp loads only it). */
  ca_certs?: string;
  /** PEM file of the client certificate (mutual TLS). */
  certfile?: string;
  /** PEM file of the client certificate's private key (unencrypted). */
  keyfile?: string;
  /** The name the server's certificate must carry (and SNI), instead of the URL's host. */
  server_hostname?: string;
}

/** `broker_use_ssl`: true (TLS with the defaults), or the broker's keys. */
export type BrokerUseSsl = boolean | RedisSslSettings | AmqpSslSettings;

/** What a TLS link needs, resolved from the settings and the URL; files not read yet. */
export interface TlsPlan {
  /** Where the options came from, for errors: "broker_use_ssl", "redis_backend_use_ssl". */
  setting: string;
  /** The server's certificate is verified (cert_reqs required/optional). */
  verify: boolean;
  /** The server's name is checked against its certificate (when verified). */
  checkHostname: boolean;
  /** The name to check and send (SNI) instead of the URL's host. */
  servername?: string;
  /** CA file, and whether it is added to the system's CAs (redis-py) or replaces them (py-amqp). */
  caFile?: string;
  caAddsToSystem: boolean;
  certFile?: string;
  keyFile?: string;
  /** The key names of this broker (for errors): ssl_ca_certs or ca_certs, ... */
  keys: { ca: string; cert: string; key: string; reqs: string };
}

const REDIS_KEYS = ["ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_check_hostname"] as const;
const AMQP_KEYS = ["cert_reqs", "ca_certs", "certfile", "keyfile", "server_hostname"] as const;

const CERT_REQS: Record<string, boolean> = {
  required: true, optional: true, none: false,
  CERT_REQUIRED: true, CERT_OPTIONAL: true, CERT_NONE: false,
  2: true, 1: true, 0: false,
};

/** Whether a cert_reqs value verifies the server (CERT_OPTIONAL does, for a client, as in Python). */
function verifies(value: unknown, key: string, setting: string): boolean {
  const v = CERT_REQS[String(value)];
  if (v === undefined || (typeof value !== "string" && typeof value !== "number")) {
    throw new Error(`${setting}: ${key} must be required, optional or none (CERT_REQUIRED, CERT_OPTIONAL, CERT_NONE), not ${JSON.stringify(value)}`);
  }
  return v;
}

function str(value: unknown, key: string, setting: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new Error(`${setting}: ${key} must be a file path, not ${JSON.stringify(value)}`);
  return value;
}

/** The setting's keys, refusing those of the other broker and unknown ones. */
function settingKeys(value: unknown, setting: string, known: readonly string[], other: readonly string[], broker: string): Record<string, unknown> {
  if (value === undefined || value === null || value === false || value === true) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new Error(`${setting} must be true/false or a mapping of ${known.join(", ")}`);
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const i = other.indexOf(key);
    const hint = i >= 0 ? `: that is the ${broker === "Redis" ? "RabbitMQ (py-amqp)" : "Redis (redis-py)"} name, ${broker} takes ${known[i]}` : ` (${broker} takes ${known.join(", ")})`;
    throw new Error(`${setting}: unknown key ${key}${hint}`);
  }
  return value as Record<string, unknown>;
}

/** The `ssl_*` query parameters of a URL, percent-decoded. */
function sslQuery(url: string): Record<string, string> {
  const q = /^[^?#]*\?([^#]*)/.exec(url)?.[1];
  if (!q) return {};
  return Object.fromEntries([...new URLSearchParams(q)].filter(([k]) => k.startsWith("ssl_")));
}

/**
 * TLS of a Redis link, or null for a plain one. TLS when the URL is rediss://, or the setting
 * is given (Celery 5.3+ and kombu honour it with redis:// too), or (broker only: kombu) the URL
 * has ssl_* parameters; a backend redis:// URL with ssl_* parameters is refused, as Celery does.
 */
export function redisTlsPlan(url: string, setting: "broker_use_ssl" | "redis_backend_use_ssl", value: unknown): TlsPlan | null {
  const given = settingKeys(value, setting, REDIS_KEYS, AMQP_KEYS, "Redis");
  const query = sslQuery(url);
  for (const key of Object.keys(query)) {
    if (!(REDIS_KEYS as readonly string[]).includes(key)) throw new Error(`unknown URL parameter ${key} (Redis takes ${REDIS_KEYS.join(", ")})`);
  }
  const secureScheme = /^rediss:/i.test(url);
  if (!secureScheme && Object.keys(query).length > 0 && setting === "redis_backend_use_ssl") {
    throw new Error("SSL connection parameters have been provided but the specified URL scheme is redis://. A Redis SSL connection URL should use the scheme rediss://.");
  }
  if (!secureScheme && !value && Object.keys(query).length === 0) return null;
  const o: Record<string, unknown> = { ...given, ...query };
  const verify = o.ssl_cert_reqs === undefined || verifies(o.ssl_cert_reqs, "ssl_cert_reqs", setting);
  const check = o.ssl_check_hostname;
  return {
    setting,
    verify,
    checkHostname: verify && !(check === false || (typeof check === "string" && check.toLowerCase() === "false")),
    caFile: str(o.ssl_ca_certs, "ssl_ca_certs", setting),
    caAddsToSystem: true,
    certFile: str(o.ssl_certfile, "ssl_certfile", setting),
    keyFile: str(o.ssl_keyfile, "ssl_keyfile", setting),
    keys: { ca: "ssl_ca_certs", cert: "ssl_certfile", key: "ssl_keyfile", reqs: "ssl_cert_reqs" },
  };
}

/** TLS of a RabbitMQ link, or null: amqps:// / pyamqps://, or amqp:// with broker_use_ssl (kombu's default port is then 5671). */
export function amqpTlsPlan(url: string, value: unknown): TlsPlan | null {
  const setting = "broker_use_ssl";
  const given = settingKeys(value, setting, AMQP_KEYS, REDIS_KEYS, "RabbitMQ");
  const query = Object.keys(sslQuery(url));
  if (query.length > 0) {
    throw new Error(
      `URL parameter ${query[0]} is not read for RabbitMQ (kombu passes it to py-amqp, which fails on it): set broker_use_ssl (brokerUseSsl) with ${AMQP_KEYS.slice(0, 4).join(", ")}`,
    );
  }
  if (!/^(amqps|pyamqps):/i.test(url) && !value) return null;
  const verify = given.cert_reqs === undefined || verifies(given.cert_reqs, "cert_reqs", setting);
  const servername = given.server_hostname;
  if (servername !== undefined && servername !== null && typeof servername !== "string") throw new Error(`${setting}: server_hostname must be a host name`);
  return {
    setting,
    verify,
    checkHostname: verify,
    ...(servername ? { servername } : {}),
    caFile: str(given.ca_certs, "ca_certs", setting),
    caAddsToSystem: false,
    certFile: str(given.certfile, "certfile", setting),
    keyFile: str(given.keyfile, "keyfile", setting),
    keys: { ca: "ca_certs", cert: "certfile", key: "keyfile", reqs: "cert_reqs" },
  };
}
