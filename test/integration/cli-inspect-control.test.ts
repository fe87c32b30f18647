/**
 * `celeriac inspect|control|status|events --dump` against a celeriac CLI worker on Redis: the
 * replies and output formats of `celery inspect`, `celery control`, `celery status` and
 * `celery events --dump` (celery/bin/control.py, celery/events/dumper.py), exit codes included.
 * Needs `npm run build` (runs dist/cli/main.js).
 */
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { Celery } from "../../src/celery";
import { storedMeta } from "../support/app";
import { testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";

jest.setTimeout(60_000);
const ROOT = resolve(__dirname, "../..");
const CLI = resolve(ROOT, "dist/cli/main.js");
const id8 = randomUUID().slice(0, 8);
const queue = `cli-ic-${id8}`;
const node = `cli-ic-${id8}@test`;
const env = { ...process.env, TSAPP_BROKER: testRedisUrl(8), TSAPP_BACKEND: testRedisUrl(9), TSAPP_QUEUE: queue, CELERY_BROKER_URL: testRedisUrl(8), CELERY_RESULT_BACKEND: testRedisUrl(9) };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function celeriac(...args: string[]): Promise<Run> {
  return new Promise((done) =>
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, env, timeout: 30_000 }, (err, stdout, stderr) =>
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

let worker: ChildProcess;
let exited: Promise<number | null>;
let log = "";
let client: Celery;

beforeAll(async () => {
  worker = spawn(process.execPath, [CLI, "worker", "-A", "interop-tests/apps/tsapp.js", "-c", "2", "-n", node, "-E"], { cwd: ROOT, env });
  exited = new Promise((r) => worker.on("exit", (code) => r(code)));
  worker.stdout?.on("data", (d: Buffer) => (log += d.toString()));
  worker.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  client = new Celery("cli-ic", { broker: testRedisUrl(8), backend: testRedisUrl(9), taskDefaultQueue: queue });
  await waitFor(() => log.includes("ready."), 20000, "worker ready");
});

afterAll(async () => {
  await client.close();
  if (worker.exitCode === null) {
    worker.kill("SIGTERM");
    await exited;
  }
});

// celery/bin/control.py _say_remote_command_reply (say_chat('->', f'{node}: {status}') + text.indent(body, 4) of
// celery/bin/base.py CLIContext.pretty) and inspect's '\n{n} {node(s)} online.'; compared with Python's own
// CLI against a Python worker in interop-tests/cli-inspect-python-worker.test.ts
test("inspect ping prints Celery's reply block and the node count", async () => {
  const r = await celeriac("inspect", "ping", "-d", node, "-t", "5");
  expect(r).toEqual({ code: 0, stdout: `->  ${node}: OK\n        pong\n\n1 node online.\n`, stderr: "" });
});

test("inspect registered prints one '* name' line per task", async () => {
  const r = await celeriac("inspect", "registered", "-d", node, "-t", "5");
  expect(r.code).toBe(0);
  const lines = r.stdout.split("\n");
  expect(lines[0]).toBe(`->  ${node}: OK`);
  expect(lines).toContain("    * ts.add");
  expect(lines).toContain("    * ts.sleep");
  expect(r.stdout.endsWith("\n\n1 node online.\n")).toBe(true);
});

// celery/bin/base.py CLIContext.pretty: json.dumps(n, sort_keys=True, indent=4); celery/bin/control.py -j: kombu.utils.json.dumps(replies)
test("inspect stats prints sorted 4-space JSON; -j prints one line as kombu's dumps", async () => {
  const text = await celeriac("inspect", "stats", "-d", node, "-t", "5");
  expect(text.stdout).toMatch(new RegExp(`^->  ${node.replace(/[.]/g, "\\.")}: OK\n    \\{\n        "broker": \\{\n`));
  const keys = [...text.stdout.matchAll(/^ {8}"([a-z_]+)":/gm)].map((m) => m[1]);
  expect(keys).toEqual([...keys].sort());
  const json = await celeriac("inspect", "stats", "-d", node, "-t", "5", "-j");
  expect(json.stdout.split("\n")).toHaveLength(2);
  expect(json.stdout).toContain(`{"${node}": {"`); // Python's separators: ", " and ": "
  const stats = (JSON.parse(json.stdout) as Record<string, Record<string, unknown>>)[node];
  expect(stats).toMatchObject({ pool: { "max-concurrency": 2 }, broker: { transport: "redis" } });
});

test("inspect active / query_task show a running task; control revoke --terminate stops it", async () => {
  const r = await client.sendTask("ts.sleep", [30, "cli"]);
  let active: Run = { code: 1, stdout: "", stderr: "" };
  await waitFor(async () => (active = await celeriac("inspect", "active", "-d", node, "-t", "5")).stdout.includes(r.id), 15000, "active");
  expect(active.stdout).toContain(`    * {'id': '${r.id}', 'name': 'ts.sleep', 'args': [30, 'cli'], 'kwargs': {}, 'type': 'ts.sleep', 'hostname': '${node}'`);
  const q = await celeriac("inspect", "query_task", r.id, "-d", node, "-t", "5", "-j");
  expect((JSON.parse(q.stdout) as Record<string, Record<string, unknown[]>>)[node][r.id][0]).toBe("active");
  const revoke = await celeriac("control", "revoke", r.id, "--terminate", "-d", node, "-t", "5");
  expect(revoke).toEqual({ code: 0, stdout: `->  ${node}: OK\n        terminate: ${r.id}\n`, stderr: "" });
  await waitFor(async () => (await storedMeta(r.id))?.status === "REVOKED", 10000, "REVOKED");
  const empty = await celeriac("inspect", "active", "-d", node, "-t", "5");
  expect(empty.stdout).toBe(`->  ${node}: OK\n    - empty -\n\n1 node online.\n`);
});

// reply texts: celery/worker/control.py rate_limit (ok('new rate limit set successfully'), nok('unknown task'),
// ok('rate limit disabled successfully')); OK/ERROR blocks: celery/bin/base.py CLIContext.pretty_dict_ok_error
test("control rate_limit: OK and ERROR replies as Celery prints them; -j prints the list of replies", async () => {
  expect((await celeriac("control", "rate_limit", "ts.add", "10/m", "-d", node, "-t", "5")).stdout).toBe(`->  ${node}: OK\n        new rate limit set successfully\n`);
  expect((await celeriac("control", "rate_limit", "ts.nope", "1/s", "-d", node, "-t", "5")).stdout).toBe(`->  ${node}: ERROR\n        unknown task\n`);
  const off = await celeriac("control", "rate_limit", "ts.add", "", "-d", node, "-t", "5", "-j");
  expect(off.stdout).toBe(`[{"${node}": {"ok": "rate limit disabled successfully"}}]\n`);
});

test("control heartbeat (None reply) and time_limit, add_consumer/cancel_consumer with positional arguments", async () => {
  expect((await celeriac("control", "heartbeat", "-d", node, "-t", "5")).stdout).toBe(`->  ${node}: OK\n    None\n`);
  expect((await celeriac("control", "time_limit", "ts.add", "10", "20", "-d", node, "-t", "5")).stdout).toContain("time limits set successfully");
  const extra = `${queue}-extra`;
  expect((await celeriac("control", "add_consumer", extra, "-d", node, "-t", "5")).stdout).toBe(`->  ${node}: OK\n        add consumer ${extra}\n`);
  const queues = await celeriac("inspect", "active_queues", "-d", node, "-t", "5", "-j");
  expect((JSON.parse(queues.stdout) as Record<string, Array<{ name: string }>>)[node].map((q) => q.name)).toEqual([queue, extra]);
  expect((await celeriac("control", "cancel_consumer", extra, "-d", node, "-t", "5")).stdout).toBe(`->  ${node}: OK\n        no longer consuming from ${extra}\n`);
});

test("status lists the node without a body", async () => {
  expect(await celeriac("status", "-d", node, "-t", "5")).toEqual({ code: 0, stdout: `->  ${node}: OK\n\n1 node online.\n`, stderr: "" });
});

test("no reply: 'Error: No nodes replied within time constraint' and exit 69; an unknown command is a usage error (2)", async () => {
  expect(await celeriac("inspect", "ping", "-d", "nobody@nowhere", "-t", "0.5")).toEqual({ code: 69, stdout: "", stderr: "Error: No nodes replied within time constraint\n" });
  expect(await celeriac("control", "revoke", "x", "-d", "nobody@nowhere", "-t", "0.5")).toMatchObject({ code: 69 });
  const bad = await celeriac("inspect", "nosuch", "-d", node);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/^Error: Command nosuch not recognized\. Available inspect commands: active, active_queues, clock, conf, /);
});

test("events --dump prints the lines of `celery events --dump` for the worker's task events", async () => {
  let out = "";
  const dump = spawn(process.execPath, [CLI, "events", "--dump"], { cwd: ROOT, env });
  dump.stdout.on("data", (d: Buffer) => (out += d.toString()));
  try {
    await waitFor(() => out.startsWith("-> evdump: starting capture...\n"), 10000, "evdump start");
    await new Promise((r) => setTimeout(r, 300));
    const r = await client.sendTask("ts.add", [2, 3]);
    expect(await r.get({ timeout: 10000 })).toBe(5);
    const task = `ts.add(${r.id}) args=(2, 3) kwargs={}`;
    const ts = "\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(\\.\\d{6})?\\+00:00\\]";
    const host = node.replace(/[.]/g, "\\.");
    await waitFor(() => out.includes(`task succeeded: ${task}`), 10000, "task succeeded line");
    expect(out).toMatch(new RegExp(`^${host} ${ts} task received: ${task.replace(/[()[\]{}.]/g, "\\$&")} clock=\\d+, eta=None, expires=None, local_received=[\\d.]+, parent_id=None, pid=\\d+, retries=0, root_id=${r.id}, utcoffset=-?\\d+$`, "m"));
    expect(out).toMatch(new RegExp(`^${host} ${ts} task started: ${task.replace(/[()[\]{}.]/g, "\\$&")} clock=\\d+, local_received=[\\d.]+, pid=\\d+, utcoffset=-?\\d+$`, "m"));
    expect(out).toMatch(new RegExp(`^${host} ${ts} task succeeded: ${task.replace(/[()[\]{}.]/g, "\\$&")} clock=\\d+, local_received=[\\d.]+, pid=\\d+, result=5, runtime=[\\d.e-]+, utcoffset=-?\\d+$`, "m"));
    await waitFor(() => new RegExp(`^${host} ${ts} heartbeat: active=\\d+, clock=\\d+, freq=2, loadavg=\\[[\\d., ]+\\], local_received=`, "m").test(out), 10000, "heartbeat line");
  } finally {
    dump.kill("SIGTERM");
    await new Promise((r) => dump.on("exit", r));
  }
});

// celery/bin/control.py control: no replies raise CeleryCommandException(exit_code=EX_UNAVAILABLE), 69
test("control shutdown stops the worker (no reply, as Celery: exit 69)", async () => {
  const r = await celeriac("control", "shutdown", "-d", node, "-t", "1");
  expect(r.code).toBe(69);
  const code = await Promise.race([exited, new Promise((r2) => setTimeout(() => r2("still running"), 20000).unref())]);
  expect(code).toBe(0);
});
