/**
 * Task options a Python producer sets mean the same on a celeriac worker, observed from Python:
 * countdown, expires, rate limits, ignore_result, and a revoke (worker side).
 */
import type { Celery, Worker } from "../src";
import { captureLogger, testApp } from "../test/support/app";
import { PY_SEND_MANY, pyClient, pyInline, type PyOutcome, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

const BROKER = testRedisUrl(10);
const BACKEND = testRedisUrl(11);

describe.each(PYTHONS)("Python ($label) options → celeriac worker", (py) => {
  let app: Celery;
  let worker: Worker;
  let ran: string[] = [];
  const env = () => ({ PYAPP_BROKER: BROKER, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: app.conf.taskDefaultQueue });
  const send = async (task: string, args: unknown[], options: object = {}) =>
    ((await pyClient(py, ["send", task, "--args", JSON.stringify(args), "--options", JSON.stringify({ queue: app.conf.taskDefaultQueue, ...options })], env())) as { id: string }).id;
  const get = (id: string) => pyClient(py, ["get", id, "--timeout", "20"], env()) as Promise<PyOutcome>;
  const state = (id: string) => pyClient(py, ["state", id], env()) as Promise<PyOutcome>;

  beforeAll(async () => {
    app = testApp({ broker: BROKER, backend: BACKEND });
    app.task("ts.now", (tag: string) => {
      ran.push(tag);
      return Date.now();
    });
    app.task("ts.limited", () => Date.now(), { rateLimit: "2/s" });
    worker = app.worker({ concurrency: 4, logger: captureLogger() });
    await worker.start();
  });

  beforeEach(() => {
    ran = [];
  });

  afterAll(async () => {
    await worker.stop();
    await app.close();
  });

  test("countdown: PENDING until the ETA, then SUCCESS no earlier than the countdown", async () => {
    const sent = Date.now();
    const id = await send("ts.now", ["eta"], { countdown: 2 });
    expect((await state(id)).state).toBe("PENDING");
    const out = await get(id);
    expect(out.state).toBe("SUCCESS");
    expect(out.result as number).toBeGreaterThanOrEqual(sent + 1900);
  });

  test("expires in the past: not run, REVOKED, Python raises TaskRevokedError", async () => {
    const id = await send("ts.now", ["expired"], { expires: new Date(Date.now() - 5000).toISOString() });
    const out = await get(id);
    expect(out.state).toBe("REVOKED");
    expect(out.exc_type).toBe("TaskRevokedError");
    expect(ran).not.toContain("expired");
  });

  test("rate_limit 2/s spaces the runs of one task type", async () => {
    // Sent at once by one Python process, so that the spacing is the worker's, not Python's start-ups.
    const ids = (await pyInline(py, PY_SEND_MANY, { task: "ts.limited", queue: app.conf.taskDefaultQueue, argsList: [[], [], [], []] }, env())) as string[];
    const times: number[] = [];
    for (const id of ids) times.push((await get(id)).result as number);
    times.sort((a, b) => a - b);
    expect(times[3] - times[0]).toBeGreaterThanOrEqual(1300); // 3 intervals at 2/s = 1.5 s (timer slack)
  });

  test("ignore_result from the Python call: the task runs and nothing is stored", async () => {
    const id = await send("ts.now", ["ignored"], { ignore_result: true });
    await waitFor(() => ran.includes("ignored"), 10000, "the task ran");
    await new Promise((r) => setTimeout(r, 200));
    expect((await state(id)).state).toBe("PENDING");
  });

  test("a revoked id is discarded when it arrives: REVOKED, Python raises TaskRevokedError", async () => {
    const taskId = `revoked-${Date.now()}-${py.label}`;
    worker.revoke(taskId);
    await send("ts.now", ["revoked"], { task_id: taskId });
    const out = await get(taskId);
    expect(out.state).toBe("REVOKED");
    expect(out.exc_type).toBe("TaskRevokedError");
    expect(ran).not.toContain("revoked");
  });
});
