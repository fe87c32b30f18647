/**
 * The Redis URL hosted providers hand out, `rediss://:password@host:port/0?ssl_cert_reqs=CERT_NONE`
 * (TLS, a password, no client certificate, the server's certificate not checked), as broker and
 * result backend:
 *  - the Django example (examples/django, django-db results on the test PostgreSQL) with it as
 *    CELERY_BROKER_URL: `manage.py celeriac_config` carries it to the Node worker's --config, and
 *    Django's tasks run on the Node worker;
 *  - a Python client (newest Celery and 5.2) and a celeriac worker with it as broker and Redis
 *    result backend, both ways round.
 * The server is a TLS-only redis-server of this file's own that asks for no client certificate.
 */
import { Celery, type Worker } from "../src";
import { captureLogger, unique } from "../test/support/app";
import { startDjangoExample, type DjangoExample } from "../test/support/django-example";
import { pyClient, type PyOutcome, PYTHONS, type PythonWorker, startPythonWorker } from "../test/support/python";
import { makeCerts, redisTlsPort, removeCerts, startTlsRedis, type TestCerts, type TlsRedis } from "../test/support/tls";

const PASSWORD = "hosted-s3cret";
let certs: TestCerts;
let redis: TlsRedis;
/** The provider's URL for database `db`. */
let hosted: (db: number) => string;

beforeAll(async () => {
  certs = await makeCerts();
  redis = await startTlsRedis(certs, PASSWORD, redisTlsPort() + 1, false);
  hosted = (db) => `rediss://:${PASSWORD}@127.0.0.1:${redis.port}/${db}?ssl_cert_reqs=CERT_NONE`;
}, 60_000);

afterAll(async () => {
  await redis?.stop();
  if (certs) removeCerts(certs);
});

describe("the Django example with the hosted URL as CELERY_BROKER_URL", () => {
  let example: DjangoExample;

  beforeAll(async () => {
    example = await startDjangoExample("hosted", 0, undefined, hosted(0));
  }, 240_000);

  afterAll(async () => {
    await example?.stop();
  });

  test("celeriac_config carries the URL to the Node worker, which runs Django's tasks over TLS", async () => {
    const out = await example.djangoShell(`
import json
from proj.celery import app
r = app.send_task("node.double", [21])
print(json.dumps({"value": r.get(timeout=30), "broker": app.conf.broker_url.split("@")[-1]}))
`);
    expect(out).toEqual({ value: 42, broker: `127.0.0.1:${redis.port}/0?ssl_cert_reqs=CERT_NONE` });
    expect(example.output(example.nodeWorker)).not.toContain(PASSWORD);
  });
});

describe("a Python client and a celeriac worker with the hosted URL as broker and result backend", () => {
  let app: Celery;
  let worker: Worker;
  const queue = unique("hosted-ts");

  beforeAll(async () => {
    app = new Celery("ts", { broker: hosted(1), backend: hosted(2), taskDefaultQueue: queue, brokerConnectionMaxRetries: 0 });
    app.task("ts.add", (x: number, y: number) => x + y);
    worker = app.worker({ concurrency: 2, hostname: `${unique("hosted")}@celeriac`, logger: captureLogger() });
    await worker.start();
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    await app?.close();
  });

  describe.each(PYTHONS)("with $label", (py) => {
    const pyQueue = unique(`hosted-${py.label}`);
    let pyWorker: PythonWorker;
    const env = { PYAPP_BROKER: "", PYAPP_BACKEND: "" };

    beforeAll(async () => {
      Object.assign(env, { PYAPP_BROKER: hosted(1), PYAPP_BACKEND: hosted(2) });
      pyWorker = await startPythonWorker(py, { broker: env.PYAPP_BROKER, backend: env.PYAPP_BACKEND, queues: [pyQueue], env });
    }, 120_000);

    afterAll(async () => {
      await pyWorker?.stop();
    });

    test("a Python client's task runs on the celeriac worker; the Python client reads its result", async () => {
      const out = (await pyClient(py, ["call", "ts.add", "--args", "[20, 22]", "--timeout", "30"], { ...env, PYAPP_QUEUES: queue })) as PyOutcome;
      expect(out).toMatchObject({ state: "SUCCESS", result: 42 });
    });

    test("a celeriac client's task runs on the Python worker; the celeriac client reads its result", async () => {
      const r = await app.sendTask("py.add", [2, 3], {}, { queue: pyQueue });
      expect(await r.get({ timeout: 30_000 })).toBe(5);
    });
  });
});
