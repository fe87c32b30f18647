/**
 * src/redact.ts against the newest Celery/kombu (interop-tests/.venv): `sanitize_url`,
 * `Connection(url).as_uri(mask=...)` and `filter_hidden_settings` print exactly what celeriac prints;
 * where Celery leaves a URL password visible (arrays, other settings) celeriac masks it.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { brokerUri, filterHiddenSettings, redactText, sanitizeUrl, SETTING_MASK } from "../../src/redact";

const VENV_PYTHON = path.resolve(__dirname, "..", "..", "interop-tests", ".venv", "bin", "python");

const URLS = [
  "redis://:s3cret@h",
  "redis://user:s3cret@h:6380/2",
  "amqp://guest:guest@h//",
  "amqps://u:s3cret@h//",
  "pyamqp://u:s3cret@h//",
  "rediss://:s3cret@h:6379/0?ssl_cert_reqs=required",
  "amqp://u:p%40ss@h:5672/vh",
  "amqp://u:s3cret@h/v%2Fh",
  "amqp://u%40x:s3cret@h:5673/",
  "redis://h:6379/0",
  "redis://user@h/0",
  "redis://localhost",
  "amqp://h",
  "redis://:a@h1:6379/0;redis://:b@h2:6379/0",
  "redis://:s3cret@h/0?x=1;y=2",
  "redis://:p@ss@h/0",
  "sentinel://:s3cret@h1:26379;h2:26379/0",
  "memcached://u:s3cret@s1:11211;s2:11211/",
  "rpc://",
  "not a url",
];

/** Broker URLs kombu's Connection takes (celeriac's schemes). */
const BROKER_URLS = URLS.filter((u) => /^(redis|rediss|amqp|amqps|pyamqp):\/\//.test(u) && !u.includes("?x="));

const SETTINGS = {
  broker_url: "redis://:s3cret@127.0.0.1:6379/0",
  broker_read_url: "amqp://reader:s3cret@h//",
  result_backend: "redis://app:s3cret@127.0.0.1:6379/1",
  cache_backend: "memcached://u:s3cret@h/",
  security_key: "k",
  securityKey: "k",
  beat_dburi: "sqlite:///x",
  database_url: "x",
  my_api: 1,
  task_default_queue: "celery",
  worker_concurrency: 4,
  broker_transport_options: { password: "s3cret", global_keyprefix: "x", visibility_timeout: 60, sentinel_kwargs: { password: "s3cret" } },
  redisOptions: { password: "s3cret", db: 1, tls: { passphrase: "s3cret", servername: "h" } },
  null_backend: null,
};

const PY = `
import json, sys
from kombu import Connection
from celery.app.utils import filter_hidden_settings, sanitize_url
inp = json.loads(sys.stdin.read())
out = {
    "sanitize": [sanitize_url(u) for u in inp["urls"]],
    "broker": [Connection(u).as_uri(mask="**") for u in inp["broker_urls"]],
    "settings": filter_hidden_settings(inp["settings"]),
}
print(json.dumps(out))
`;

interface PyOut {
  sanitize: string[];
  broker: string[];
  settings: Record<string, unknown>;
}

let celery: PyOut;
beforeAll(() => {
  const stdout = execFileSync(VENV_PYTHON, ["-c", PY], { input: JSON.stringify({ urls: URLS, broker_urls: BROKER_URLS, settings: SETTINGS }), encoding: "utf8" });
  celery = JSON.parse(stdout) as PyOut;
});

describe("URLs are masked as Celery masks them", () => {
  test.each(URLS.map((u, i) => [u, i]))("sanitizeUrl(%s) equals Celery's sanitize_url", (url, i) => {
    expect(sanitizeUrl(url)).toBe(celery.sanitize[i]);
  });

  test.each(BROKER_URLS.map((u, i) => [u, i]))("brokerUri(%s) equals kombu's Connection.as_uri()", (url, i) => {
    expect(brokerUri(url)).toBe(celery.broker[i]);
  });

  test("the examples of the docs: redis, redis ACL user, amqp, rediss, URL lists", () => {
    expect(sanitizeUrl("redis://:s3cret@h")).toBe(`redis://:${SETTING_MASK}@h`);
    expect(sanitizeUrl("redis://user:s3cret@h", "**")).toBe("redis://user:**@h");
    expect(brokerUri("amqp://guest:guest@h//")).toBe("amqp://guest:**@h:5672//");
    expect(sanitizeUrl("rediss://:s3cret@h:6379/0?ssl_cert_reqs=required", "**")).toBe("rediss://:**@h:6379/0?ssl_cert_reqs=required");
    expect(sanitizeUrl("redis://:a@h1/0;redis://:b@h2/0", "**")).toBe("redis://:**@h1/0;redis://:**@h2/0");
  });
});

describe("settings are filtered as Celery's filter_hidden_settings", () => {
  test("celeriac's filterHiddenSettings equals Celery's on nested objects, secret names, broker and backend URLs", () => {
    const ours = filterHiddenSettings(SETTINGS);
    expect(ours).toEqual(celery.settings);
    expect(JSON.stringify(ours)).not.toContain("s3cret");
  });

  test("URL passwords Celery leaves (arrays, other string settings, objects in arrays) are masked by celeriac", () => {
    const extra = {
      beat_scheduler_redis_url: "redis://:s3cret@h/2",
      urls: ["redis://:s3cret@h/0", "amqp://u:s3cret@h//"],
      nodes: [{ password: "s3cret", host: "h" }],
      note: "fallback to redis://u:s3cret@h/0 when down",
    };
    const python = JSON.parse(
      execFileSync(VENV_PYTHON, ["-c", "import json,sys; from celery.app.utils import filter_hidden_settings as f; print(json.dumps(f(json.loads(sys.stdin.read()))))"], {
        input: JSON.stringify(extra),
        encoding: "utf8",
      }),
    ) as Record<string, unknown>;
    expect(JSON.stringify(python)).toContain("s3cret"); // Celery shows these
    const ours = filterHiddenSettings(extra);
    expect(JSON.stringify(ours)).not.toContain("s3cret");
    expect(ours).toEqual({
      beat_scheduler_redis_url: `redis://:${SETTING_MASK}@h/2`,
      urls: [`redis://:${SETTING_MASK}@h/0`, `amqp://u:${SETTING_MASK}@h//`],
      nodes: [{ password: SETTING_MASK, host: "h" }],
      note: `fallback to redis://u:${SETTING_MASK}@h/0 when down`,
    });
  });
});

describe("free text (log lines, error messages)", () => {
  test("redactText masks every scheme://user:password@ in a line and keeps URLs without a password", () => {
    expect(redactText("unsupported broker URL: foo://admin:s3cret@h:1/0 (supported: redis://)")).toBe("unsupported broker URL: foo://admin:**@h:1/0 (supported: redis://)");
    expect(redactText("a redis://:s3cret@h1/0;redis://:t0p@h2/0 b")).toBe("a redis://:**@h1/0;redis://:**@h2/0 b");
    expect(redactText(`conf {"url":"amqp://u:s3cret@h//"}`)).toBe(`conf {"url":"amqp://u:**@h//"}`);
    expect(redactText("redis://h:6379/0 and redis://user@h/0")).toBe("redis://h:6379/0 and redis://user@h/0");
  });
});
