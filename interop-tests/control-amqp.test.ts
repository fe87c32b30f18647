/**
 * A celeriac CLI worker (interop-tests/apps/tsapp.js) on RabbitMQ (a vhost of its own per Python
 * on the private test broker), driven by the real Python `celery` CLI and API (newest Celery and
 * Debian's 5.2): `inspect ping -j`, `inspect active` + `control terminate` (Python sees REVOKED),
 * kombu's own pidbox Node declaring the node queue afterwards (same exchange/queue arguments, no
 * PRECONDITION_FAILED), and Python's event Receiver sees the worker's heartbeats and task events.
 * Build first: npm run build.
 */
import { amqpUrl, createVhost, deleteVhost, pyInline } from "../test/support/amqp";
import { celeryCli, type CliWorker, inspectJson as inspectCli, receiveEvents as receiveCliEvents, startCliWorker } from "../test/support/cli-worker";
import { pyClient, type Python, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

jest.setTimeout(120_000);
const BACKEND = testRedisUrl(0);

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

  const celery = (args: string[]) => celeryCli(py, env(), args);
  const inspectJson = (method: string, ...args: string[]) => inspectCli(py, env(), w, method, ...args);
  const receiveEvents = (seconds: number) => receiveCliEvents(py, env(), w.node, seconds);

  beforeAll(async () => {
    vhost = await createVhost(`ctl-amqp-${py.label}`);
    broker = amqpUrl(vhost);
    w = startCliWorker(broker, BACKEND, "ctl-amqp", ["-E", "--heartbeat-interval", "1"]);
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
