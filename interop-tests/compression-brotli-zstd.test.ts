/**
 * brotli and zstd (optional in Python: the `brotli` and `zstandard` packages, installed in the
 * newest-Celery venv) cross in both directions: Python → celeriac worker reads both; celeriac
 * sends brotli (zstd sending needs Node ≥ 22.15) and a Python worker reads it.
 */
import type { Celery, Worker } from "../src";
import { captureLogger, testApp } from "../test/support/app";
import { pyClient, PYTHONS, startPythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";

const py = PYTHONS.find((p) => p.label === "celery-latest") ?? PYTHONS[0];
const BROKER = testRedisUrl(10);
const BACKEND = testRedisUrl(11);

describe("brotli and zstd with the newest Celery", () => {
  let app: Celery;
  let worker: Worker;

  beforeAll(async () => {
    app = testApp({ broker: BROKER, backend: BACKEND });
    app.task("ts.echo", (...args: unknown[]) => args);
    worker = app.worker({ concurrency: 2, logger: captureLogger() });
    await worker.start();
  });

  afterAll(async () => {
    await worker.stop();
    await app.close();
  });

  test.each(["brotli", "zstd"])("Python sends %s, the celeriac worker reads it", async (compression) => {
    const env = { PYAPP_BROKER: BROKER, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: app.conf.taskDefaultQueue };
    const out = (await pyClient(py, ["call", "ts.echo", "--args", JSON.stringify(["z".repeat(3000)]), "--options", JSON.stringify({ queue: app.conf.taskDefaultQueue, compression }), "--timeout", "20"], env)) as { state: string; result: unknown };
    expect(out).toMatchObject({ state: "SUCCESS", result: ["z".repeat(3000)] });
  });

  test("celeriac sends brotli, the Python worker reads it", async () => {
    const client = testApp({ broker: BROKER, backend: BACKEND });
    const w = await startPythonWorker(py, { broker: BROKER, backend: BACKEND, queues: [client.conf.taskDefaultQueue], concurrency: 1 });
    try {
      const r = await client.sendTask("py.echo", ["b".repeat(3000)], {}, { compression: "brotli" });
      expect(await r.get({ timeout: 20000 })).toEqual({ args: ["b".repeat(3000)], kwargs: {} });
    } finally {
      await w.stop();
      await client.close();
    }
  });
});
