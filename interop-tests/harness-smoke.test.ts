/** Proves the interop harness itself: real Python Celery workers and clients on the private test Redis. */
import { randomBytes } from "crypto";
import { pyClient, pythonCeleryVersion, PYTHONS, PythonWorker, startPythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";

// Explicit: jest 29 ignores testTimeout inside a project's config (it warns "Unknown option").
const TIMEOUT = 90_000;

describe.each(PYTHONS)("harness with $label", (py) => {
  const queue = `harness-smoke-${py.label}-${randomBytes(4).toString("hex")}`;
  const env = { PYAPP_BROKER: testRedisUrl(6), PYAPP_BACKEND: testRedisUrl(7) };
  let worker: PythonWorker;

  beforeAll(async () => {
    worker = await startPythonWorker(py, { broker: env.PYAPP_BROKER, backend: env.PYAPP_BACKEND, queues: [queue] });
  }, TIMEOUT);
  afterAll(async () => {
    await worker?.stop();
  }, TIMEOUT);

  test("runs the Celery it is labelled with", async () => {
    const version = await pythonCeleryVersion(py);
    if (py.label === "celery-5.2") expect(version).toMatch(/^5\.2\./);
    else expect(version).not.toMatch(/^5\.2\./);
    expect(worker.output()).toContain(`${worker.hostname.split("@")[0]}@`);
  }, TIMEOUT);

  test("py.add(2, 3) returns 5 through the Python worker", async () => {
    const out = await pyClient(py, ["call", "py.add", "--args", "[2, 3]", "--options", JSON.stringify({ queue }), "--timeout", "30"], env);
    expect(out).toMatchObject({ state: "SUCCESS", result: 5, exc_type: null });
  }, TIMEOUT);

  test("py.fail reports ValueError with its args", async () => {
    const out = await pyClient(py, ["call", "py.fail", "--args", '["boom"]', "--options", JSON.stringify({ queue }), "--timeout", "30"], env);
    expect(out).toMatchObject({
      state: "FAILURE",
      exc_type: "ValueError",
      exc_module: "builtins",
      exc_message: "('boom', 42)",
      result: { exc_type: "ValueError", exc_message: ["boom", 42] },
    });
  }, TIMEOUT);
});
