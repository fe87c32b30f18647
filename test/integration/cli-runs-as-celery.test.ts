/**
 * `celeriac` used the way `celery` is: the worker's banner, --pidfile, -f with JSON lines,
 * ctx.logger's task format, -l debug, Celery's pool names; `purge` asking first; `call` with
 * --eta/--expires/--serializer/--routing-key; -b beating the environment and the app's own URL;
 * ES module, TypeScript and other-copy apps for -A. Against the private test Redis (db 10).
 */
import { execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { unique } from "../support/app";
import { rawRedis, testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";

const ROOT = resolve(__dirname, "../..");
const CLI = resolve(ROOT, "dist/cli/main.js");
const TMP = mkdtempSync(join(ROOT, ".tmp", "cli-"));
const env = (queue: string, extra: Record<string, string> = {}) => ({
  ...process.env,
  TSAPP_BROKER: testRedisUrl(10),
  TSAPP_BACKEND: testRedisUrl(11),
  TSAPP_QUEUE: queue,
  CELERY_BROKER_URL: testRedisUrl(10),
  CELERY_RESULT_BACKEND: testRedisUrl(11),
  ...extra,
});

function run(args: string[], e: NodeJS.ProcessEnv, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd: ROOT, env: e, timeout: 30_000 }, (err, stdout, stderr) =>
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? "");
  });
}

async function queued(queue: string): Promise<Array<{ headers: Record<string, unknown>; properties: Record<string, unknown>; "content-type": string }>> {
  const redis = rawRedis(10);
  try {
    return (await redis.lrange(queue, 0, -1)).map((m) => JSON.parse(m) as { headers: Record<string, unknown>; properties: Record<string, unknown>; "content-type": string });
  } finally {
    redis.disconnect();
  }
}

test("the worker prints Celery's banner, keeps a pidfile, logs JSON lines to -f, ctx.logger in the task format, DEBUG lines with -l debug", async () => {
  const queue = unique("cli-banner");
  const logfile = join(TMP, "%n.log");
  const pidfile = join(TMP, "%n.pid");
  let out = "";
  const worker = spawn(
    process.execPath,
    [CLI, "-b", testRedisUrl(10).replace("redis://", "redis://:hush@"), "worker", "-A", "interop-tests/apps/tsapp.js", "-Q", `${queue},other`, "-X", "other", "-P", "solo", "-n", "bannered@%h", "-l", "debug", "--log-format", "json", "-f", logfile, "--pidfile", pidfile],
    { cwd: ROOT, env: env(queue) },
  );
  worker.stdout.on("data", (d: Buffer) => (out += d.toString()));
  worker.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const log = () => (existsSync(join(TMP, "bannered.log")) ? readFileSync(join(TMP, "bannered.log"), "utf8") : "");
  try {
    await waitFor(() => log().includes("ready."), 20_000, "worker ready");
    expect(out).toMatch(/ -------------- bannered@\S+ v\d+\.\d+\.\d+ \(celeriac\)/);
    expect(out).toContain(".> transport:   redis://:**@127.0.0.1:");
    expect(out).not.toContain("hush");
    expect(out).toContain(`.> concurrency: 1 (eventloop)`);
    expect(out).toContain(".> task events: OFF (enable -E to monitor tasks in this worker)");
    expect(out).toContain(`.> ${queue.padEnd(16)} exchange=${queue}(direct) key=${queue}`);
    expect(out).not.toContain(".> other");
    expect(out).toMatch(/\[tasks\]\n( {2}\. .*\n)* {2}\. ts\.add\n/);
    expect(readFileSync(join(TMP, "bannered.pid"), "utf8")).toBe(`${worker.pid}\n`);

    const r = await run(["call", "ts.log", "--args", '["hello from the task"]', "--queue", queue], env(queue));
    const id = r.stdout.trim();
    await waitFor(() => log().includes("succeeded"), 10_000, "task done");
    const lines = log().trim().split("\n").map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines.find((l) => l.level === "WARNING" && l.task_id === id)).toMatchObject({ process: "MainProcess", task_name: "ts.log", message: `ts.log[${id}]: hello from the task` });
    expect(lines.find((l) => l.message.startsWith(`Received message of task ts.log[${id}]`))).toMatchObject({ level: "DEBUG" });
    expect(lines.find((l) => l.message === `Acked message of task ts.log[${id}]`)).toMatchObject({ level: "DEBUG" });
    expect(lines.some((l) => l.level === "DEBUG" && l.message.startsWith("consumer: Connecting to broker redis://:**@"))).toBe(true);
    expect(lines.every((l) => typeof l.time === "string" && !JSON.stringify(l).includes("hush"))).toBe(true);
  } finally {
    worker.kill("SIGTERM");
    await new Promise((r) => worker.on("exit", r));
  }
  expect(existsSync(join(TMP, "bannered.pid"))).toBe(false);
});

test("-l info prints no DEBUG lines; ctx.logger of a prefork child is logged under the child's name", async () => {
  const queue = unique("cli-info");
  let out = "";
  const worker = spawn(process.execPath, [CLI, "worker", "-A", "interop-tests/apps/tsapp.js", "-Q", queue, "-c", "1", "-l", "info"], { cwd: ROOT, env: env(queue) });
  worker.stdout.on("data", (d: Buffer) => (out += d.toString()));
  worker.stderr.on("data", (d: Buffer) => (out += d.toString()));
  try {
    await waitFor(() => out.includes("ready."), 20_000, "worker ready");
    const id = (await run(["call", "ts.log", "--args", '["from a child"]', "--queue", queue], env(queue))).stdout.trim();
    await waitFor(() => out.includes("succeeded"), 10_000, "task done");
    expect(out).toMatch(new RegExp(`\\[[^\\]]+: WARNING/ForkPoolWorker-1\\] ts\\.log\\[${id}\\]: from a child`));
    expect(out).not.toContain("DEBUG/");
  } finally {
    worker.kill("SIGTERM");
    await new Promise((r) => worker.on("exit", r));
  }
});

test("a second worker with the same --pidfile stops with Celery's error (73)", async () => {
  const pidfile = join(TMP, "held.pid");
  writeFileSync(pidfile, `${process.pid}\n`);
  const r = await run(["worker", "-A", "interop-tests/apps/tsapp.js", "--pidfile", pidfile], env(unique("pid")));
  expect(r.code).toBe(73);
  expect(r.stderr).toContain(`ERROR: Pidfile (${pidfile}) already exists.\nSeems we're already running? (pid: ${process.pid})`);
});

test("purge asks first: no keeps the messages (Aborted!, exit 1), yes purges, -f does not ask", async () => {
  const queue = unique("cli-purge");
  for (let i = 0; i < 2; i++) await run(["call", "ts.add", "--args", "[1, 1]", "--queue", queue], env(queue));
  const no = await run(["purge", "-Q", queue], env(queue), "n\n");
  expect(no.code).toBe(1);
  expect(no.stdout).toContain(`WARNING:This will remove all tasks from queue: ${queue}.`);
  expect(no.stdout).toContain("Are you sure you want to delete all tasks? [y/N]: ");
  expect(no.stderr).toContain("Aborted!");
  expect(await queued(queue)).toHaveLength(2);
  const yes = await run(["purge", "-Q", queue], env(queue), "y\n");
  expect(yes.stdout).toContain("Purged 2 messages from 1 known task queue.");
  await run(["call", "ts.add", "--args", "[1, 1]", "--queue", queue], env(queue));
  const forced = await run(["purge", "-f", "-Q", `${queue},x`, "-X", "x"], env(queue));
  expect(forced.stdout).toBe("Purged 1 message from 1 known task queue.\n");
});

test("call --eta/--expires/--serializer set the message as celery call does; a bad --eta is a usage error", async () => {
  const queue = unique("cli-call");
  const eta = new Date(Date.now() + 3600_000).toISOString();
  const r = await run(["call", "ts.add", "-a", "[1, 2]", "--eta", eta, "--expires", "120", "--serializer", "msgpack", "--queue", queue], env(queue));
  expect(r.code).toBe(0);
  const [m] = await queued(queue);
  expect(m["content-type"]).toBe("application/x-msgpack");
  expect(new Date(`${m.headers.eta as string}`).toISOString()).toBe(eta);
  expect(new Date(m.headers.expires as string).getTime() - Date.now()).toBeGreaterThan(100_000);
  expect(m.properties.expiration).toBe("120000");
  const bad = await run(["call", "ts.add", "--eta", "tomorrow-ish"], env(queue));
  expect(bad.code).toBe(2);
});

test("-b beats CELERY_BROKER_URL and the app's own URL", async () => {
  const queue = unique("cli-b");
  const r = await run(["-b", testRedisUrl(10), "call", "ts.add", "-A", "interop-tests/apps/tsapp.js", "--queue", queue], env(queue, { TSAPP_BROKER: "redis://127.0.0.1:1/0", CELERY_BROKER_URL: "redis://127.0.0.1:2/0" }));
  expect(r).toMatchObject({ code: 0 });
  expect(await queued(queue)).toHaveLength(1);
});

test("-A loads an ES module by import(), an app of another celeriac copy, and names tsx for TypeScript", async () => {
  const queue = unique("cli-esm");
  const esm = join(TMP, "app.mjs");
  writeFileSync(esm, `import celeriac from ${JSON.stringify(join(ROOT, "dist/index.js"))};\nexport const app = new celeriac.Celery("esm", { broker: ${JSON.stringify(testRedisUrl(10))} });\n`);
  expect(await run(["call", "ts.add", "-A", esm, "--queue", queue], env(queue))).toMatchObject({ code: 0 });
  // A copy of the package elsewhere (its own classes): found by shape.
  cpSync(join(ROOT, "dist"), join(TMP, "copy", "dist"), { recursive: true });
  const copied = join(TMP, "copied-app.js");
  writeFileSync(copied, `const { Celery } = require("./copy/dist");\nexports.app = new Celery("copy", { broker: ${JSON.stringify(testRedisUrl(10))} });\n`);
  expect(await run(["call", "ts.add", "-A", copied, "--queue", queue], env(queue))).toMatchObject({ code: 0 });
  expect(await queued(queue)).toHaveLength(2);
  const ts = join(TMP, "tasks.ts");
  writeFileSync(ts, "export const app: unknown = null;\n");
  const r = await run(["call", "ts.add", "-A", ts], env(queue));
  expect(r.code).not.toBe(0);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(/is TypeScript: install tsx .*npm install --save-dev tsx/);
});
