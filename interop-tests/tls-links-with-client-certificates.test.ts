/**
 * TLS links with a client certificate (mutual TLS), celeriac and Python Celery (newest and 5.2)
 * on the same links:
 *  - Redis: a TLS-only redis-server of this file's own (password, client certificate required),
 *    broker and result backend. The celeriac worker reads Celery's settings (brokerUseSsl,
 *    redisBackendUseSsl with redis-py's keys); the celeriac client and Python read the URL
 *    parameters (rediss://...?ssl_cert_reqs=required&ssl_ca_certs=...&ssl_certfile=...&ssl_keyfile=...).
 *  - RabbitMQ: the private node's AMQPS listener; broker_use_ssl with py-amqp's keys on both sides
 *    (the celeriac client on amqp://, which broker_use_ssl makes TLS, as kombu); results over
 *    rpc://, which rides the broker link.
 * Each way: Python client → celeriac worker and celeriac client → Python worker, results read on
 * the other side; remote control (ping) reaches both workers over the link. A wrong CA and a
 * missing client certificate fail with an error naming host:port and the TLS reason, never the
 * password.
 */
import { Celery, type CelerySettings, type Worker } from "../src";
import { captureLogger, unique } from "../test/support/app";
import { createVhost, deleteVhost } from "../test/support/amqp";
import { pyClient, type PyOutcome, PYTHONS, type PythonWorker, startPythonWorker, type Env } from "../test/support/python";
import { makeCerts, rabbitTls, removeCerts, startTlsRedis, type TestCerts, type TlsRedis } from "../test/support/tls";

const PASSWORD = "tls-s3cret-pw";

/** One TLS link: the settings each side uses, and its certificates. */
interface TlsLink {
  port: number;
  certs: TestCerts;
  /** The celeriac worker's settings. */
  worker: CelerySettings;
  /** A celeriac client's settings; `ca` / `client` replace the CA and drop the client certificate. */
  client(opts?: { ca?: string; clientCert?: boolean }): CelerySettings;
  /** pyapp's PYAPP_* variables (queues apart). */
  py: Env;
  close(): Promise<void>;
}

interface LinkKind {
  name: "Redis" | "RabbitMQ";
  open(): Promise<TlsLink>;
}

/** ?ssl_cert_reqs=required&ssl_ca_certs=...: redis-py's keys as URL parameters, percent-encoded. */
function sslQuery(ca: string, certs: TestCerts | null): string {
  const q: Record<string, string> = { ssl_cert_reqs: "required", ssl_ca_certs: ca };
  if (certs) Object.assign(q, { ssl_certfile: certs.clientCert, ssl_keyfile: certs.clientKey });
  return Object.entries(q).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
}

const LINKS: LinkKind[] = [
  {
    name: "Redis",
    async open() {
      const certs = await makeCerts();
      let redis: TlsRedis;
      try {
        redis = await startTlsRedis(certs, PASSWORD);
      } catch (err) {
        removeCerts(certs);
        throw err;
      }
      const base = `rediss://:${PASSWORD}@127.0.0.1:${redis.port}`;
      const withQuery = (db: number, ca: string, cert: boolean) => `${base}/${db}?${sslQuery(ca, cert ? certs : null)}`;
      const keys = { ssl_cert_reqs: "CERT_REQUIRED" as const, ssl_ca_certs: certs.ca, ssl_certfile: certs.clientCert, ssl_keyfile: certs.clientKey };
      return {
        port: redis.port,
        certs,
        worker: { broker: `${base}/0`, backend: `${base}/1`, brokerUseSsl: keys, redisBackendUseSsl: keys },
        client: ({ ca = certs.ca, clientCert = true } = {}) => ({ broker: withQuery(0, ca, clientCert), backend: withQuery(1, ca, clientCert) }),
        py: { PYAPP_BROKER: withQuery(0, certs.ca, true), PYAPP_BACKEND: withQuery(1, certs.ca, true) },
        async close() {
          await redis.stop();
          removeCerts(certs);
        },
      };
    },
  },
  {
    name: "RabbitMQ",
    async open() {
      const { port, certs } = rabbitTls();
      const vhost = await createVhost("tls");
      const url = (scheme: string) => `${scheme}://guest:guest@127.0.0.1:${port}/${encodeURIComponent(vhost)}`;
      const useSsl = (ca: string, clientCert: boolean) => ({
        cert_reqs: "required" as const,
        ca_certs: ca,
        ...(clientCert ? { certfile: certs.clientCert, keyfile: certs.clientKey } : {}),
      });
      return {
        port,
        certs,
        worker: { broker: url("amqps"), backend: "rpc://", brokerUseSsl: useSsl(certs.ca, true) },
        client: ({ ca = certs.ca, clientCert = true } = {}) => ({ broker: url("amqp"), backend: "rpc://", brokerUseSsl: useSsl(ca, clientCert) }),
        py: { PYAPP_BROKER: url("amqps"), PYAPP_BACKEND: "rpc://", PYAPP_BROKER_USE_SSL: JSON.stringify(useSsl(certs.ca, true)) },
        close: () => deleteVhost(vhost),
      };
    },
  },
];

describe.each(LINKS)("TLS with a client certificate on $name", (kind) => {
  let link: TlsLink;
  let app: Celery;
  let worker: Worker;
  const logger = captureLogger();
  const queue = unique("tls-ts");

  beforeAll(async () => {
    link = await kind.open();
    app = new Celery("ts", { ...link.worker, taskDefaultQueue: queue, brokerConnectionMaxRetries: 0 });
    app.task("ts.add", (x: number, y: number) => x + y);
    worker = app.worker({ concurrency: 2, hostname: `${unique("tls")}@celeriac`, logger });
    await worker.start();
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await link?.close();
  }, 60_000);

  describe.each(PYTHONS)("with $label", (py) => {
    const pyQueue = unique(`tls-${py.label}`);
    let pyWorker: PythonWorker;
    let client: Celery;

    beforeAll(async () => {
      pyWorker = await startPythonWorker(py, { broker: link.py.PYAPP_BROKER!, backend: link.py.PYAPP_BACKEND, queues: [pyQueue], env: link.py });
      client = new Celery("client", { ...link.client(), taskDefaultQueue: pyQueue });
    }, 120_000);

    afterAll(async () => {
      await pyWorker?.stop();
      await client?.close();
    }, 60_000);

    test("a Python client's task runs on the celeriac worker and the Python client reads its result", async () => {
      const out = (await pyClient(py, ["call", "ts.add", "--args", "[20, 22]", "--timeout", "30"], { ...link.py, PYAPP_QUEUES: queue })) as PyOutcome;
      expect(out).toMatchObject({ state: "SUCCESS", result: 42 });
    });

    test("a celeriac client's task runs on the Python worker and the celeriac client reads its result", async () => {
      const r = await client.sendTask("py.add", [2, 3]);
      expect(await r.get({ timeout: 30_000 })).toBe(5);
    });

    test("remote control reaches the celeriac and the Python worker over the link", async () => {
      // this link has these two workers only: both replies end the wait
      const replies = await client.control.ping({ timeout: 20, limit: 2 });
      const nodes = replies.flatMap((r) => Object.keys(r));
      expect(nodes).toContain(worker.hostname);
      expect(nodes.some((n) => n.startsWith(pyWorker.hostname.replace("@%h", "@")))).toBe(true);
    });
  });

  /** The error of a celeriac client's first broker connect (and, on Redis, of its backend's). */
  async function failures(settings: CelerySettings): Promise<string[]> {
    const bad = new Celery("bad", { ...settings, brokerConnectionMaxRetries: 0 });
    try {
      const errors = [await bad.connection({ retry: false }).then(() => "connected", (e: Error) => e.message)];
      if (kind.name === "Redis") errors.push(await bad.backend().then(() => "connected", (e: Error) => e.message));
      return errors;
    } finally {
      await bad.close();
    }
  }

  test("a wrong CA fails with the host, port and 'unknown CA', never the password", async () => {
    const errors = await failures(link.client({ ca: link.certs.wrongCa }));
    for (const message of errors) {
      expect(message).toContain(`TLS handshake with 127.0.0.1:${link.port} failed: unknown CA: the server's certificate is not signed by a CA this client trusts`);
      expect(message).not.toContain(PASSWORD);
    }
  });

  test("a missing client certificate fails with 'the server requires a client certificate'", async () => {
    const errors = await failures(link.client({ clientCert: false }));
    for (const message of errors) {
      expect(message).toContain(`TLS handshake with 127.0.0.1:${link.port} failed: the server requires a client certificate`);
      expect(message).not.toContain(PASSWORD);
    }
  });

  test("a celeriac worker given a wrong CA logs the TLS reason and does not start", async () => {
    const lines = captureLogger();
    const bad = new Celery("bad", { ...link.worker, ...link.client({ ca: link.certs.wrongCa }), brokerConnectionMaxRetries: 0, taskDefaultQueue: unique("tls-bad") });
    const w = bad.worker({ logger: lines });
    await expect(w.start()).rejects.toThrow(/unknown CA/);
    await w.stop().catch(() => undefined);
    await bad.close();
    expect(lines.lines.join("\n")).toMatch(new RegExp(`Cannot connect to .*127\\.0\\.0\\.1:${link.port}.*: TLS handshake with 127\\.0\\.0\\.1:${link.port} failed: unknown CA`));
    expect(lines.lines.join("\n")).not.toContain(PASSWORD);
  });
});
