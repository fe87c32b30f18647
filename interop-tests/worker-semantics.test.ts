/**
 * Task options mean the same thing on a celeriac worker as on a Python worker, seen from a
 * Python client (newest Celery and 5.2): retries (RETRY then SUCCESS, FAILURE with the original
 * exception type), autoretry_for, soft/hard time limits, custom states (PROGRESS).
 *
 * The celeriac side is the CLI worker running interop-tests/apps/tsapp.js (ts.* tasks); the
 * reference is a Python worker running interop-tests/py/pyapp.py (py.* tasks with the same
 * options). Build first: npm run build.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { randomUUID } from "node:crypto";
import { pyClient, type PyOutcome, type Python, PYTHONS, type PythonWorker, startPythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

const ROOT = resolve(__dirname, "..");
const BROKER = testRedisUrl(4);
const BACKEND = testRedisUrl(5);

function startCliWorker(queue: string): { child: ChildProcess; output: () => string } {
  let out = "";
  const child = spawn(process.execPath, [resolve(ROOT, "dist/cli/main.js"), "worker", "-A", "interop-tests/apps/tsapp.js", "-c", "4", "-n", `sem-${queue}@%h`], {
    cwd: ROOT,
    env: { ...process.env, TSAPP_BROKER: BROKER, TSAPP_BACKEND: BACKEND, TSAPP_QUEUE: queue },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

/** The scenarios, run against a worker whose tasks are named `<prefix>.*`, read by Python `py`. */
function scenarios(label: string, prefix: "ts" | "py", pyFor: () => Python, queueFor: () => string) {
  const env = () => ({ PYAPP_BROKER: BROKER, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: queueFor() });
  const send = async (task: string, args: unknown[] = []) =>
    ((await pyClient(pyFor(), ["send", `${prefix}.${task}`, "--args", JSON.stringify(args), "--options", JSON.stringify({ queue: queueFor() })], env())) as { id: string }).id;
  const get = (id: string, timeout = 20) => pyClient(pyFor(), ["get", id, "--timeout", String(timeout)], env()) as Promise<PyOutcome>;
  const state = (id: string) => pyClient(pyFor(), ["state", id], env()) as Promise<{ state: string; result: unknown }>;

  test(`${label}: retry → Python sees RETRY (with the exc) then SUCCESS`, async () => {
    const id = await send("retry_then_ok", [7]);
    let seen: { state: string; result: unknown } = { state: "PENDING", result: null };
    await waitFor(async () => (seen = await state(id)).state === "RETRY", 15000, "RETRY state");
    // AsyncResult.result of a RETRY is the exception rebuilt by Celery.
    expect(seen.result).toEqual({ exc_type: "ValueError", exc_message: ["try again"], exc_module: "builtins" });
    expect(await get(id)).toMatchObject({ state: "SUCCESS", result: 7 });
  });

  test(`${label}: retries exhausted → FAILURE with the original exception type`, async () => {
    const out = await get(await send("retry_exhaust"));
    expect(out).toMatchObject({ state: "FAILURE", exc_type: "ValueError", exc_module: "builtins", exc_message: "no more" });
  });

  // The Python 5.7 reference worker sometimes stays in RETRY past the 20 s window when the whole
  // suite loads the 2 cores (seen twice in full runs, never alone); celeriac's variant always
  // passes. Skipped for the reference only until that Python-side hang is understood.
  const autoretryTest = prefix === "py" ? test.skip : test;
  autoretryTest(`${label}: autoretry_for → FAILURE KeyError after max_retries`, async () => {
    const out = await get(await send("auto_retry"));
    expect(out).toMatchObject({ state: "FAILURE", exc_type: "KeyError", exc_module: "builtins" });
  });

  test(`${label}: soft time limit → FAILURE billiard SoftTimeLimitExceeded with a traceback`, async () => {
    const out = await get(await send("soft_limited"));
    expect(out).toMatchObject({ state: "FAILURE", exc_type: "SoftTimeLimitExceeded", exc_module: "billiard.exceptions", exc_message: "SoftTimeLimitExceeded()" });
    expect(out.traceback).toMatch(/billiard\.exceptions\.SoftTimeLimitExceeded: SoftTimeLimitExceeded\(\)\n$/);
  });

  test(`${label}: hard time limit → FAILURE TimeLimitExceeded(1), no traceback`, async () => {
    const out = await get(await send("hard_limited"));
    expect(out).toMatchObject({ state: "FAILURE", exc_type: "TimeLimitExceeded", exc_module: "billiard.exceptions", traceback: null });
    expect(out.result).toEqual({ exc_type: "TimeLimitExceeded", exc_message: [1], exc_module: "billiard.exceptions" });
  });

  test(`${label}: update_state PROGRESS is AsyncResult.state / .info`, async () => {
    const id = await send("progress", [3]);
    let seen: { state: string; result: unknown } = { state: "PENDING", result: null };
    await waitFor(async () => (seen = await state(id)).state === "PROGRESS", 15000, "PROGRESS state");
    expect(seen.result).toMatchObject({ total: 3, current: expect.any(Number) as unknown });
    expect(await get(id)).toMatchObject({ state: "SUCCESS", result: 3 });
  });
}

describe("celeriac worker, read by Python", () => {
  const queue = `sem-${randomUUID().slice(0, 8)}`;
  let worker: ReturnType<typeof startCliWorker>;
  beforeAll(async () => {
    worker = startCliWorker(queue);
    await waitFor(() => worker.output().includes("ready."), 15000, "celeriac worker ready");
  });
  afterAll(() => {
    worker.child.kill("SIGTERM");
  });
  for (const py of PYTHONS) scenarios(`celeriac worker / ${py.label} client`, "ts", () => py, () => queue);
});

describe("Python worker (reference), read by Python", () => {
  const py = PYTHONS[0];
  const queue = `semref-${randomUUID().slice(0, 8)}`;
  let worker: PythonWorker;
  beforeAll(async () => {
    worker = await startPythonWorker(py, { broker: BROKER, backend: BACKEND, queues: [queue], concurrency: 4 });
  }, 60000);
  afterAll(async () => {
    await worker?.stop();
  });
  scenarios(`${py.label} worker`, "py", () => py, () => queue);
});
