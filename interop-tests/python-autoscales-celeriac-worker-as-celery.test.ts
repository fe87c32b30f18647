/**
 * `--autoscale 3,1` on a celeriac CLI worker and on a real Python Celery worker (newest Celery and
 * Debian's 5.2), on Redis and on RabbitMQ, driven by the same Python calls: `inspect().stats()`
 * (the `autoscaler` block, the pool's `max-concurrency` and process count, `prefetch_count`),
 * `app.control.autoscale(4, 2, reply=True)`, pool_grow / pool_shrink (refused while autoscaling),
 * an autoscale with max only; then `celery control autoscale 5 1` and `celeriac control autoscale
 * 5 1` against both workers. Every answer of the celeriac worker equals the Python worker's, and
 * both CLIs print the same lines. Both workers are also given `-c` (the harnesses' defaults): with
 * --autoscale it is ignored, as in Celery. Build first: npm run build.
 */
import { unique } from "../test/support/app";
import { BROKERS, type BrokerLease } from "../test/support/brokers";
import { celeriacCli, celeryCli, type CliWorker, startCliWorker } from "../test/support/cli-worker";
import { pyInline, PYTHONS, type PythonWorker, startPythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

jest.setTimeout(180_000);
const BACKEND = testRedisUrl(13);

/**
 * The calls, for one node; replies keyed by node become the node's answer. The process count is
 * read once it equals the autoscaler's `current` (billiard starts a new child on its next
 * maintenance, celeriac at once).
 */
const AUTOSCALE_CALLS = `
import json, sys, time
from pyapp import app
node = json.load(sys.stdin)['node']

def answer(replies):
    return [r[node] for r in replies]

def stats():
    for _ in range(100):
        s = app.control.inspect(destination=[node], timeout=5).stats()[node]
        if len(s['pool']['processes']) == s['autoscaler']['current']:
            break
        time.sleep(0.2)
    return {'autoscaler': s['autoscaler'], 'max-concurrency': s['pool']['max-concurrency'],
            'processes': len(s['pool']['processes']), 'prefetch_count': s['prefetch_count']}

out = {'before': stats()}
out['autoscale'] = answer(app.control.autoscale(4, 2, destination=[node], reply=True))
out['after'] = stats()
out['pool_grow'] = answer(app.control.pool_grow(1, destination=[node], reply=True))
out['pool_shrink'] = answer(app.control.pool_shrink(1, destination=[node], reply=True))
out['max_only'] = answer(app.control.broadcast('autoscale', arguments={'max': 5}, destination=[node], reply=True))
out['nothing'] = answer(app.control.broadcast('autoscale', arguments={}, destination=[node], reply=True))
out['last'] = stats()
print(json.dumps(out))
`;

describe.each(BROKERS)("on $name", (broker) => {
  describe.each(PYTHONS.map((p) => [p.label, p] as const))("%s", (_label, py) => {
    let lease: BrokerLease;
    let ts: CliWorker;
    let python: PythonWorker;
    let pyQueue: string;
    const env = () => ({ PYAPP_BROKER: lease.url, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: pyQueue, PYTHONDONTWRITEBYTECODE: "1" });
    const calls = (node: string) => pyInline(py, AUTOSCALE_CALLS, { node }, env());
    const withNode = (text: string, node: string) => text.split(node).join("<node>");

    beforeAll(async () => {
      lease = await broker.open(`autoscale-${py.label}`, 12);
      pyQueue = unique("autoscale-py");
      ts = startCliWorker(lease.url, BACKEND, "autoscale", ["--autoscale", "3,1"]);
      python = await startPythonWorker(py, { broker: lease.url, backend: BACKEND, queues: [pyQueue], hostname: `${pyQueue}@interop`, extraArgs: ["--autoscale", "3,1"] });
      await waitFor(() => ts.output().includes("ready."), 20000, "celeriac worker ready");
    });

    afterAll(async () => {
      await ts?.stop();
      await python?.stop();
      await lease?.close();
    });

    test("stats, app.control.autoscale(4, 2), pool_grow / pool_shrink, autoscale(max=5): the celeriac worker answers as the Python one", async () => {
      const fromPython = await calls(python.hostname);
      const fromCeleriac = await calls(ts.node);
      expect(fromCeleriac).toEqual(fromPython);
      // What both answered (read from the Python worker once, kept here to show it).
      expect(fromCeleriac).toEqual({
        before: { autoscaler: { max: 3, min: 1, current: 1, qty: 0 }, "max-concurrency": 1, processes: 1, prefetch_count: 12 },
        autoscale: [{ ok: "autoscale now max=4 min=2" }],
        after: { autoscaler: { max: 4, min: 2, current: 2, qty: 0 }, "max-concurrency": 1, processes: 2, prefetch_count: 16 },
        pool_grow: [{ error: "pool_grow is not supported with autoscale. Adjust autoscale range instead." }],
        pool_shrink: [{ error: "pool_shrink is not supported with autoscale. Adjust autoscale range instead." }],
        max_only: [{ ok: "autoscale now max=5 min=2" }],
        nothing: [{ ok: "autoscale now max=5 min=2" }],
        last: { autoscaler: { max: 5, min: 2, current: 2, qty: 0 }, "max-concurrency": 1, processes: 2, prefetch_count: 20 },
      });
      expect(ts.output()).toContain("concurrency: {min=1, max=3} (prefork)"); // Celery's banner
    });

    test("celery control autoscale 5 1 and celeriac control autoscale 5 1 print the same for both workers", async () => {
      const args = (node: string) => ["control", "autoscale", "5", "1", "-d", node, "-t", "5"];
      const printed = await Promise.all([
        celeryCli(py, env(), args(python.hostname)).then((r) => ({ ...r, stdout: withNode(r.stdout, python.hostname) })),
        celeryCli(py, env(), args(ts.node)).then((r) => ({ ...r, stdout: withNode(r.stdout, ts.node) })),
        celeriacCli({ CELERY_BROKER_URL: lease.url }, args(python.hostname)).then((r) => ({ ...r, stdout: withNode(r.stdout, python.hostname) })),
        celeriacCli({ CELERY_BROKER_URL: lease.url }, args(ts.node)).then((r) => ({ ...r, stdout: withNode(r.stdout, ts.node) })),
      ]);
      for (const r of printed) expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: printed[0].stdout });
      expect(printed[0].stdout).toContain("<node>: OK");
      expect(printed[0].stdout).toContain("autoscale now max=5 min=1");
    });
  });
});
