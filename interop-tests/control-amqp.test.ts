/**
 * A celeriac CLI worker (interop-tests/apps/tsapp.js) on RabbitMQ (a vhost of its own per Python
 * on the private test broker), driven by the real Python `celery` CLI and API (newest Celery and
 * Debian's 5.2): `inspect ping -j`, `inspect active` + `control terminate` (Python sees REVOKED),
 * kombu's own pidbox Node declaring the node queue afterwards (same exchange/queue arguments, no
 * PRECONDITION_FAILED), and Python's event Receiver sees the worker's heartbeats and task events.
 * Build first: npm run build.
 */
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { PYTHONS, PY_DIR, pyClient } from "./harness/python";
import type { Python } from "./harness/python";
import { amqpUrl, createVhost, deleteVhost, pyInline } from "./harness/amqp";
import { testRedisUrl, waitFor } from "../test/integration/helpers/app";

jest.setTimeout(120_000);
const ROOT = resolve(__dirname, "..");
const BACKEND = testRedisUrl(0);

interface CliWorker {
  child: ChildProcess;
  node: string;
  queue: string;
  output: () => string;
  exited: Promise<number | null>;
}

function startWorker(broker: string, extra: string[] = []): CliWorker {
  const id = randomUUID().slice(0, 8);
  const queue = `ctl-amqp-${id}`;
  const node = `ctl-amqp-${id}@interop`;
  let out = "";
  const child = spawn(process.execPath, [resolve(ROOT, "dist/cli/main.js"), "worker", "-A", "interop-tests/apps/tsapp.js", "-c", "2", "-n", node, ...extra], {
    cwd: ROOT,
    env: { ...process.env, TSAPP_BROKER: broker, TSAPP_BACKEND: BACKEND, TSAPP_QUEUE: queue },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, node, queue, output: () => out, exited };
}

const RECEIVE_EVENTS = `
import json, os, sys, threading
from pyapp import app
node, seconds = sys.argv[1], float(sys.argv[2])
seen = []
def on_event(event):
    if event.get('hostname') == node:
        seen.append(event)
def done():
    print(json.dumps(seen, default=str))
    sys.stdout.flush()
    os._exit(0)
threading.Timer(seconds, done).start()
with app.connection() as conn:
    recv = app.events.Receiver(conn, handlers={'*': on_event})
    recv.capture(limit=None, timeout=None, wakeup=False)
`;

/**
 * kombu's pidbox Node of another Python worker in the same vhost: declares celery.pidbox (fanout,
 * non-durable) and its own node queue, then the reply exchange, with this Celery's settings. (A Node
 * of the SAME name is refused by Celery 5.7, whose control queues are exclusive by default:
 * RESOURCE_LOCKED is kombu's "node already using this mailbox".)
 */
const KOMBU_NODE_DECLARE = `
import json, sys
from pyapp import app
node = json.load(sys.stdin)['node']
with app.connection() as conn:
    channel = conn.default_channel
    consumer = app.control.mailbox(conn).Node(node, channel=channel).listen(callback=lambda body, message: None)
    consumer.cancel()
    app.control.mailbox(conn).reply_exchange(channel).declare()
print(json.dumps('declared'))
`;

describe.each(PYTHONS.map((p) => [p.label, p] as const))("%s → celeriac worker on RabbitMQ", (_label, py) => {
  let vhost: string;
  let broker: string;
  let w: CliWorker;
  const env = () => ({ PYAPP_BROKER: broker, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: w.queue, PYTHONDONTWRITEBYTECODE: "1" });

  const celery = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolvePromise) => {
      execFile(py.exe, ["-m", "celery", "-A", "pyapp", ...args], { cwd: PY_DIR, env: { ...process.env, ...env() }, timeout: 60_000 }, (err, stdout, stderr) =>
        resolvePromise({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  const inspectJson = async (method: string, ...args: string[]): Promise<Record<string, unknown>> => {
    const r = await celery(["inspect", method, ...args, "-d", w.node, "-t", "5", "-j"]);
    if (r.code !== 0) throw new Error(`inspect ${method} failed (${r.code}): ${r.stdout}\n${r.stderr}\nworker:\n${w.output()}`);
    return JSON.parse(r.stdout.trim().split("\n").pop() as string) as Record<string, unknown>;
  };

  const receiveEvents = (seconds: number): Promise<Array<Record<string, unknown>>> =>
    new Promise((resolvePromise, reject) => {
      execFile(py.exe, ["-c", RECEIVE_EVENTS, w.node, String(seconds)], { cwd: PY_DIR, env: { ...process.env, ...env() }, timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolvePromise(JSON.parse(stdout.trim().split("\n").pop() as string)),
      );
    });

  beforeAll(async () => {
    vhost = await createVhost(`ctl-amqp-${py.label}`);
    broker = amqpUrl(vhost);
    w = startWorker(broker, ["-E", "--heartbeat-interval", "1"]);
    await waitFor(() => w.output().includes("ready"), 20000, "worker ready");
  });

  afterAll(async () => {
    if (w && w.child.exitCode === null) {
      w.child.kill("SIGTERM");
      await w.exited;
    }
    if (vhost) await deleteVhost(vhost);
  });

  test("inspect ping -d <node> -j / stats (broker transport amqp)", async () => {
    expect(await inspectJson("ping")).toEqual({ [w.node]: { ok: "pong" } });
    const stats = (await inspectJson("stats"))[w.node] as Record<string, unknown>;
    expect(stats).toMatchObject({ pool: { "max-concurrency": 2 }, broker: { transport: "amqp" } });
  });

  test("a Python pidbox Node declares celery.pidbox / reply.celery.pidbox afterwards without error; ping still answered", async () => {
    expect(await pyInline(py, KOMBU_NODE_DECLARE, { node: `py-${w.node}` }, env())).toBe("declared");
    expect(await inspectJson("ping")).toEqual({ [w.node]: { ok: "pong" } });
    expect(w.output()).not.toMatch(/PRECONDITION_FAILED|already exists with other/);
  });

  test("inspect active during a long task, then control terminate → REVOKED terminated", async () => {
    const { id } = (await pyClient(py, ["send", "ts.sleep", "--args", JSON.stringify([30, "x"]), "--options", JSON.stringify({ queue: w.queue })], env())) as { id: string };
    let active: Array<Record<string, unknown>> = [];
    await waitFor(async () => (active = (await inspectJson("active"))[w.node] as Array<Record<string, unknown>>).length === 1, 20000, "active task");
    expect(active[0]).toMatchObject({ id, name: "ts.sleep", type: "ts.sleep", hostname: w.node, acknowledged: true });
    const r = await celery(["control", "terminate", "SIGTERM", id, "-d", w.node, "-t", "5"]);
    expect(r.stdout + r.stderr).toContain(`terminate: ${id}`);
    let state: { state: string; result: unknown } = { state: "PENDING", result: null };
    await waitFor(async () => (state = (await pyClient(py, ["state", id], env())) as typeof state).state === "REVOKED", 15000, "REVOKED");
    expect(JSON.stringify(state.result)).toContain("terminated");
  });

  test("Python's event Receiver sees worker heartbeats and task events", async () => {
    const events = receiveEvents(6);
    await new Promise((r) => setTimeout(r, 1500));
    const { id } = (await pyClient(py, ["send", "ts.add", "--args", "[20, 22]", "--options", JSON.stringify({ queue: w.queue })], env())) as { id: string };
    const seen = await events;
    expect(seen.map((e) => e.type)).toContain("worker-heartbeat");
    expect(seen.filter((e) => e.uuid === id).map((e) => e.type)).toEqual(["task-received", "task-started", "task-succeeded"]);
    expect(seen.find((e) => e.type === "task-succeeded" && e.uuid === id)).toMatchObject({ result: "42" });
  });
});
