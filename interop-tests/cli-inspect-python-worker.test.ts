/**
 * `celeriac inspect|control|status|events --dump` pointed at a Python Celery worker (newest and
 * Debian's 5.2) on Redis print what `celery inspect|control|status|events --dump` print for the
 * same commands: both CLIs run side by side and their outputs are compared.
 * Build first: npm run build.
 */
import { execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { celeryCli, type CommandResult } from "../test/support/cli-worker";
import { PY_DIR, pyClient, type Python, PYTHONS, type PythonWorker, startPythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

jest.setTimeout(120_000);
const ROOT = resolve(__dirname, "..");
const CLI = resolve(ROOT, "dist/cli/main.js");
const BROKER = testRedisUrl(8);
const BACKEND = testRedisUrl(9);

function celeriac(args: string[]): Promise<CommandResult> {
  return new Promise((done) =>
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, CELERY_BROKER_URL: BROKER }, timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** Everything a long-running dump printed until `stop()`. */
function dumpProcess(exe: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): { output: () => string; stop: () => Promise<void> } {
  let out = "";
  const child = spawn(exe, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  return {
    output: () => out,
    stop: async () => {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * What celeriac prints follows the newest Celery; Celery 5.2 differs in two cosmetic ways that
 * are undone here: a trailing indented empty line after a JSON object reply, and naive dump
 * timestamps (`[2026-11-22 06:18:29.587359]` where 5.3+ prints `...+00:00]`).
 */
function as53(py: Python, text: string): string {
  if (py.label !== "celery-5.2") return text;
  return text.replace(/\n {4}\n/g, "\n");
}

/**
 * A dump line without what differs by design between two receivers: local_received, and a float
 * with an integral value (JSON gives JS no way to tell 2.0 from 2).
 */
function normalizeDumpLine(line: string): string {
  return line.replace(/, local_received=[\d.]+/, "").replace(/=(-?\d+)\.0(?=,|$)/g, "=$1").replace(/^(\S+ \[[^\]+]+?)\+00:00\]/, "$1]");
}

describe.each(PYTHONS.map((p) => [p.label, p] as const))("celeriac CLI → %s worker on Redis", (_label, py: Python) => {
  let worker: PythonWorker;
  const queue = `cli-py-${randomUUID().slice(0, 8)}`;
  const pyEnv = () => ({ PYAPP_BROKER: BROKER, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: queue });
  const both = async (args: string[]) => ({ py: await celeryCli(py, pyEnv(), args), ts: await celeriac(args) });

  beforeAll(async () => {
    worker = await startPythonWorker(py, { broker: BROKER, backend: BACKEND, queues: [queue], pool: "solo", hostname: `${queue}@interop`, extraArgs: ["-E"] });
  });

  afterAll(async () => {
    await worker?.stop();
  });

  const d = () => ["-d", worker.hostname, "-t", "5"];

  test.each([
    [["inspect", "ping"]],
    [["inspect", "registered"]],
    [["inspect", "active"]],
    [["inspect", "reserved"]],
    [["inspect", "scheduled"]],
    [["inspect", "query_task", "no-such-id"]],
    [["inspect", "ping", "-j"]],
    [["inspect", "registered", "-j"]],
    [["status"]],
  ])("%j prints what `celery` prints", async (args) => {
    const { py: p, ts } = await both([...args, ...d()]);
    expect(p.code).toBe(0);
    expect(ts).toEqual({ code: p.code, stdout: as53(py, p.stdout), stderr: "" });
  });

  test("control rate_limit / revoke / enable_events / heartbeat / add_consumer print Celery's OK and ERROR blocks", async () => {
    for (const args of [
      ["control", "rate_limit", "py.add", "100/s"],
      ["control", "rate_limit", "py.nope", "1/s"],
      ["control", "revoke", "some-task-id"],
      ["control", "revoke", "some-task-id", "-j"],
      ["control", "enable_events"],
      ["control", "heartbeat"],
      ["control", "cancel_consumer", `${queue}-nothing`],
    ]) {
      const { py: p, ts } = await both([...args, ...d()]);
      expect(p.code).toBe(0);
      expect({ args, ...ts }).toEqual({ args, code: p.code, stdout: as53(py, p.stdout), stderr: "" });
    }
  });

  test("inspect revoked and registered with an argument after control calls", async () => {
    for (const args of [["inspect", "revoked"], ["inspect", "registered", "rate_limit"]]) {
      const { py: p, ts } = await both([...args, ...d()]);
      expect({ args, ...ts }).toEqual({ args, code: p.code, stdout: as53(py, p.stdout), stderr: "" });
    }
  });

  test("no node replies: the same error and exit status 69", async () => {
    const { py: p, ts } = await both(["inspect", "ping", "-d", "nobody@nowhere", "-t", "0.5"]);
    expect(p.code).toBe(69);
    expect(ts.code).toBe(69);
    expect(p.stderr).toContain(ts.stderr.trim());
  });

  test("events --dump prints the lines `celery events --dump` prints for the worker's events", async () => {
    const env = { ...process.env, ...pyEnv(), CELERY_BROKER_URL: BROKER, PYTHONUNBUFFERED: "1" };
    const pyDump = dumpProcess(py.exe, ["-m", "celery", "-A", "pyapp", "events", "--dump"], PY_DIR, env);
    const tsDump = dumpProcess(process.execPath, [CLI, "events", "--dump"], ROOT, env);
    try {
      await waitFor(() => pyDump.output().includes("-> evdump: starting capture...") && tsDump.output().includes("-> evdump: starting capture..."), 20000, "dumps started");
      await new Promise((r) => setTimeout(r, 1000));
      const { id } = (await pyClient(py, ["send", "py.add", "--args", "[20, 22]", "--options", JSON.stringify({ queue })], pyEnv())) as { id: string };
      await waitFor(() => pyDump.output().includes(`task succeeded: py.add(${id})`) && tsDump.output().includes(`task succeeded: py.add(${id})`), 20000, "task succeeded lines");
    } finally {
      await pyDump.stop();
      await tsDump.stop();
    }
    const lines = (out: string) => out.split("\n").filter((l) => l.startsWith(`${worker.hostname} `) && l.includes(" task ")).map(normalizeDumpLine);
    const fromPython = lines(pyDump.output());
    expect(fromPython.length).toBeGreaterThanOrEqual(3);
    expect(lines(tsDump.output())).toEqual(fromPython);
  });
});
