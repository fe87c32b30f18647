/** The `celeriac` CLI: worker, call, result, purge, against the private test Redis. */
import { execFile, spawn } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { unique } from "../support/app";
import { testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";

const ROOT = resolve(__dirname, "../..");
const CLI = resolve(ROOT, "dist/cli/main.js");
const run = promisify(execFile);
const env = (queue: string) => ({ ...process.env, TSAPP_BROKER: testRedisUrl(8), TSAPP_BACKEND: testRedisUrl(9), TSAPP_QUEUE: queue, CELERY_BROKER_URL: testRedisUrl(8), CELERY_RESULT_BACKEND: testRedisUrl(9) });

test("call prints an id, the worker runs it with Celery-style logs, result prints state and result", async () => {
  const queue = unique("cli");
  let log = "";
  const worker = spawn(process.execPath, [CLI, "worker", "-A", "interop-tests/apps/tsapp.js", "-Q", queue, "-c", "2", "-n", "cli@%h"], { cwd: ROOT, env: env(queue) });
  worker.stderr.on("data", (d: Buffer) => (log += d.toString()));
  worker.stdout.on("data", (d: Buffer) => (log += d.toString()));
  try {
    await waitFor(() => log.includes("ready."), 15000, "worker ready");
    const { stdout } = await run(process.execPath, [CLI, "call", "ts.add", "--args", "[20, 22]", "--queue", queue], { cwd: ROOT, env: env(queue) });
    const id = stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const res = await run(process.execPath, [CLI, "result", id, "--wait", "10"], { cwd: ROOT, env: env(queue) });
    expect(JSON.parse(res.stdout)).toEqual({ state: "SUCCESS", result: 42, traceback: null });
    await waitFor(() => log.includes(`Task ts.add[${id}] succeeded in`), 5000, "success log");
    expect(log).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: INFO\/MainProcess\] Task ts\.add\[[0-9a-f-]+\] received$/m);
  } finally {
    worker.kill("SIGTERM");
    await new Promise((r) => worker.on("exit", r));
  }
  expect(log).toContain("Warm shutdown");
});

test("purge -f removes waiting messages without asking and says how many", async () => {
  const queue = unique("purge");
  for (let i = 0; i < 3; i++) await run(process.execPath, [CLI, "call", "ts.add", "--args", "[1, 1]", "--queue", queue], { cwd: ROOT, env: env(queue) });
  const { stdout } = await run(process.execPath, [CLI, "purge", "-f", "-Q", queue], { cwd: ROOT, env: env(queue) });
  expect(stdout.trim()).toBe("Purged 3 messages from 1 known task queue.");
});

test("bad arguments exit non-zero with a clear message", async () => {
  const err = await run(process.execPath, [CLI, "call", "ts.add", "--args", "{not json"], { cwd: ROOT, env: env("x") }).catch((e: { code: number; stderr: string }) => e);
  expect(err).toMatchObject({ code: 2 }); // a usage error, as click exits in `celery`
  expect((err as { stderr: string }).stderr).toMatch(/--args is not valid JSON/);
});
