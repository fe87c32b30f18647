/**
 * A celeriac CLI worker (interop-tests/apps/tsapp.js) on Redis and on RabbitMQ (a vhost of its own
 * per Python), driven by the real Python `celery` CLI and API (newest Celery and Debian's 5.2):
 * inspect ping/registered/active/stats/active_queues, control revoke --terminate (Python sees
 * REVOKED), revoke_by_stamped_headers, rate_limit, shutdown; Python's event Receiver sees
 * worker-online/heartbeat and task events of a worker started with -E; on RabbitMQ, kombu's own
 * pidbox Node declaring the node queue afterwards (same exchange/queue arguments, no PRECONDITION_FAILED).
 * Build first: npm run build.
 */
import { storedMeta } from "../test/support/app";
import { BROKERS, type BrokerLease } from "../test/support/brokers";
import { celeryCli, type CliWorker, inspectJson as inspectCli, receiveEvents as receiveCliEvents, startCliWorker } from "../test/support/cli-worker";
import { PY_SEND_MANY, pyClient, pyInline, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

jest.setTimeout(120_000);
const BACKEND = testRedisUrl(9);

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

describe.each(BROKERS)("on $name", (broker) => {
  describe.each(PYTHONS.map((p) => [p.label, p] as const))("%s → celeriac worker", (_label, py) => {
    let lease: BrokerLease;
    let w: CliWorker;
    const env = () => ({ PYAPP_BROKER: lease.url, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: w.queue, PYTHONDONTWRITEBYTECODE: "1" });
    const celery = (args: string[]) => celeryCli(py, env(), args);
    const inspectJson = (method: string, ...args: string[]) => inspectCli(py, env(), w, method, ...args);
    const receiveEvents = (seconds: number) => receiveCliEvents(py, env(), w.node, seconds);

    beforeAll(async () => {
      lease = await broker.open(`ctl-${py.label}`, 8);
      w = startCliWorker(lease.url, BACKEND, "ctl", ["-E", "--heartbeat-interval", "1"]);
      await waitFor(() => w.output().includes("ready"), 20000, "worker ready");
    });

    afterAll(async () => {
      await w?.stop();
      await lease?.close();
    });

    test("inspect ping / registered / stats / active_queues", async () => {
      expect(await inspectJson("ping")).toEqual({ [w.node]: { ok: "pong" } });
      const registered = (await inspectJson("registered"))[w.node] as string[];
      expect(registered).toContain("ts.add");
      expect(registered).toContain("ts.sleep");
      const stats = (await inspectJson("stats"))[w.node] as Record<string, unknown>;
      expect(stats).toMatchObject({ pool: { "max-concurrency": 2 }, broker: { transport: broker.transport } });
      const queues = (await inspectJson("active_queues"))[w.node] as Array<{ name: string }>;
      expect(queues.map((q) => q.name)).toEqual([w.queue]);
    });

    test("app.control.inspect().ping() from the Python API", async () => {
      const out = await pyInline(py, `
from pyapp import app
import json, sys
node = json.load(sys.stdin)['node']
print(json.dumps(app.control.inspect(destination=[node], timeout=5).ping()))
  `, { node: w.node }, env());
      expect(out).toEqual({ [w.node]: { ok: "pong" } });
    });

    // RabbitMQ only: exchange and queue arguments that differ from kombu's are a channel error
    // (PRECONDITION_FAILED) there; Redis has no declarations to disagree on.
    if (broker.transport === "amqp") test("a Python pidbox Node declares celery.pidbox / reply.celery.pidbox afterwards without error; ping still answered", async () => {
      expect(await pyInline(py, KOMBU_NODE_DECLARE, { node: `py-${w.node}` }, env())).toBe("declared");
      expect(await inspectJson("ping")).toEqual({ [w.node]: { ok: "pong" } });
      expect(w.output()).not.toMatch(/PRECONDITION_FAILED|already exists with other/);
    });

    test("inspect active during a long task, then control terminate → REVOKED terminated", async () => {
      const { id } = (await pyClient(py, ["send", "ts.sleep", "--args", JSON.stringify([30, "x"]), "--options", JSON.stringify({ queue: w.queue })], env())) as { id: string };
      let active: Array<Record<string, unknown>> = [];
      await waitFor(async () => (active = (await inspectJson("active"))[w.node] as Array<Record<string, unknown>>).length === 1, 20000, "active task");
      expect(active[0]).toMatchObject({ id, name: "ts.sleep", type: "ts.sleep", hostname: w.node, acknowledged: true });
      // The celery CLI has no --terminate: `control terminate <signal> <id>` sends terminate (= revoke with terminate).
      const r = await celery(["control", "terminate", "SIGTERM", id, "-d", w.node, "-t", "5"]);
      expect(r.stdout + r.stderr).toContain(`terminate: ${id}`);
      let state: { state: string; result: unknown } = { state: "PENDING", result: null };
      await waitFor(async () => (state = (await pyClient(py, ["state", id], env())) as typeof state).state === "REVOKED", 15000, "REVOKED");
      expect(JSON.stringify(state.result)).toContain("terminated");
    });

    // Celery ≥ 5.3 only (5.2 has no stamps).
    (py.label === "celery-latest" ? test : test.skip)("revoke_by_stamped_headers from Python's API: stamped tasks are discarded, running ones terminated", async () => {
      const out = (await pyInline(py, `
from pyapp import app
import json, sys, time
q = json.load(sys.stdin)
node, queue, c = q['node'], q['queue'], app.control
out = {'flag': c.revoke_by_stamped_headers({'batch': 'b1'}, destination=[node], reply=True, timeout=5)}
hit = app.send_task('ts.add', (1, 2), queue=queue, stamped_headers=['batch'], batch='b1')
miss = app.send_task('ts.add', (3, 4), queue=queue, stamped_headers=['batch'], batch='b2')
running = app.send_task('ts.sleep', (30, 'x'), queue=queue, stamped_headers=['run'], run=['r1', 'r2'])
out['miss'] = miss.get(timeout=10)
for _ in range(100):
    if hit.state == 'REVOKED': break
    time.sleep(0.1)
time.sleep(1)  # ts.sleep has started by now (concurrency 2)
out['hit'] = hit.state
out['terminate'] = c.revoke_by_stamped_headers({'run': 'r2'}, destination=[node], reply=True, timeout=5, terminate=True)
for _ in range(100):
    if running.state == 'REVOKED': break
    time.sleep(0.1)
out['running'] = [running.state, str(running.result)]
print(json.dumps(out))
  `, { node: w.node, queue: w.queue }, env())) as Record<string, unknown>;
      expect(out).toEqual({
        flag: [{ [w.node]: { ok: "headers {'batch': 'b1'} flagged as revoked, but not terminated" } }],
        miss: 7,
        hit: "REVOKED",
        terminate: [{ [w.node]: { ok: "headers defaultdict(<class 'set'>, {'run': {'r2'}}) revoked" } }],
        running: ["REVOKED", "terminated"],
      });
      expect(w.output()).toContain("(revoked by header: {'batch': 'b1'})");
    });

    test("control rate_limit is applied (replies as Celery's, tasks then spaced)", async () => {
      const r = await celery(["control", "rate_limit", "ts.add", "30/m", "-d", w.node, "-t", "5"]);
      // celery/worker/control.py rate_limit: ok('new rate limit set successfully')
      expect(r.stdout + r.stderr).toContain("new rate limit set successfully");
      // Three tasks sent at once by one Python process; the worker's own completion times (date_done
      // in the backend) show the spacing, whatever Python's start-up and the load add around them.
      const ids = (await pyInline(py, PY_SEND_MANY, { task: "ts.add", queue: w.queue, argsList: [[1, 2], [1, 2], [1, 2]] }, env())) as string[];
      for (const id of ids) expect(await pyClient(py, ["get", id, "--timeout", "20"], env())).toMatchObject({ state: "SUCCESS", result: 3 });
      const done = await Promise.all(ids.map(async (id) => Date.parse(String((await storedMeta(id))?.date_done))));
      // 30/m: one token every 2 s; the third task runs at least ~4 s after the first.
      expect(Math.max(...done) - Math.min(...done)).toBeGreaterThan(3000);
      // As in Celery, the string "0" is a (truthy) limit meaning "no limit".
      const off = await celery(["control", "rate_limit", "ts.add", "0", "-d", w.node, "-t", "5"]);
      expect(off.stdout + off.stderr).toContain("new rate limit set successfully");
    });

    test("Python's event Receiver sees worker heartbeats and task events", async () => {
      const events = receiveEvents(6);
      await new Promise((r) => setTimeout(r, 1500));
      const { id } = (await pyClient(py, ["send", "ts.add", "--args", "[20, 22]", "--options", JSON.stringify({ queue: w.queue })], env())) as { id: string };
      const seen = await events;
      const types = seen.map((e) => e.type);
      expect(types).toContain("worker-heartbeat");
      const mine = seen.filter((e) => e.uuid === id).map((e) => e.type);
      expect(mine).toEqual(["task-received", "task-started", "task-succeeded"]);
      expect(seen.find((e) => e.type === "task-succeeded" && e.uuid === id)).toMatchObject({ result: "42" });
    });

    test("control shutdown stops the worker", async () => {
      await celery(["control", "shutdown", "-d", w.node, "-t", "2"]);
      const code = await Promise.race([w.exited, new Promise<string>((r) => setTimeout(() => r("still running"), 20000))]);
      expect(code).toBe(0);
    });
  });
});

