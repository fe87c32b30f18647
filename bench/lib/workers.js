// The workers bench/run.js drains with: Python Celery's pools, celeriac's, celery-node, BullMQ.
//   celeriac: true   a celeriac row (twinned by BENCH_BASELINE, picked for the ratios)
//   peer: "bullmq"   drained through BullMQ's own queue (bench/lib/bullmq.js), Redis only
const path = require("node:path");
const { ROOT, PY, BASELINE, ONLY, TASK } = require("./config");

const node = process.execPath;
const celeriacCli = path.join(ROOT, "dist/cli/main.js");
const pyWorker = (pool) => ({
  cmd: PY,
  args: ["-m", "celery", "-A", "benchapp", "worker", "-l", "warning", "--without-gossip", "--without-mingle", ...pool],
  cwd: path.join(ROOT, "bench/py"),
  python: true,
});
const celeriac = (label, args) => ({ label, cmd: node, args, cwd: ROOT, celeriac: true });
const celeriacWorker = (label, pool) => celeriac(label, [celeriacCli, "worker", "-A", "bench/tsapp.js", ...pool, "-l", "warning"]);

/** BullMQ's worker concurrency (its row's label says it). */
const BULLMQ_CONCURRENCY = 50;

const WORKERS = [
  { label: "python solo", ...pyWorker(["-P", "solo"]) },
  { label: "python prefork -c 2", ...pyWorker(["-P", "prefork", "-c", "2"]) },
  { label: "python threads -c 8", ...pyWorker(["-P", "threads", "-c", "8"]) },
  // The event loop named: the CLI's default is prefork, and these rows are the event pool's numbers.
  celeriacWorker("celeriac -c 16", ["-P", "eventloop", "-c", "16"]),
  celeriacWorker("celeriac -c 2", ["-P", "eventloop", "-c", "2"]),
  celeriacWorker("celeriac -P prefork -c 2", ["-P", "prefork", "-c", "2"]),
  celeriac("celeriac 2 procs eventloop -c 1", [path.join(ROOT, "bench/multi-worker.js"), "2", "-A", "bench/tsapp.js", "-P", "eventloop", "-c", "1", "-l", "warning"]),
  { label: "celery-node", cmd: node, args: [path.join(ROOT, "bench/celery-node-worker.js")], cwd: ROOT },
  {
    label: `BullMQ concurrency ${BULLMQ_CONCURRENCY}`,
    cmd: node,
    args: [path.join(ROOT, "bench/bullmq-worker.js")],
    cwd: ROOT,
    env: { BENCH_CONCURRENCY: String(BULLMQ_CONCURRENCY) },
    peer: "bullmq",
  },
];

/**
 * The workers BENCH_WORKERS selects, each celeriac one followed by its BENCH_BASELINE twin; BullMQ's
 * job only adds, so it has no row for BENCH_TASK=cpu|io.
 */
function selectedWorkers() {
  const all = WORKERS.filter((w) => !w.peer || TASK === "add");
  const selected = ONLY ? all.filter((w) => ONLY.some((prefix) => w.label.toLowerCase().startsWith(prefix))) : all;
  if (!BASELINE) return selected;
  // Each selected celeriac row again, right after it, with the baseline's scripts and dist.
  const dist = path.join(ROOT, "dist");
  for (const w of selected.filter((w) => w.celeriac)) {
    const args = w.args.map((a) => (a.startsWith(dist + path.sep) ? path.join(BASELINE, path.relative(ROOT, a)) : a));
    const env = { BENCH_CELERIAC_DIST: path.join(BASELINE, "dist") };
    selected.splice(selected.indexOf(w) + 1, 0, { ...w, label: `${w.label} (baseline)`, args, env, baselineOf: w.label });
  }
  return selected;
}

/** Whether `worker` can drain from `broker` (BullMQ has no RabbitMQ). */
const servesBroker = (worker, broker) => !worker.peer || broker === "redis";

module.exports = { selectedWorkers, servesBroker, WORKERS };
