// Benchmark: celeriac against Python Celery's pools, celery-node and BullMQ, on private brokers, in one run.
//   npm run bench            (installs what is missing, builds, runs this)
//   node bench/run.js        this checkout as built; options (environment):
//   BENCH_N=10000            tasks per drain and messages per publish row; BENCH_RT=500 round trips per client
//   BENCH_BASELINE=<dir>     also runs each selected celeriac row (drains and publishes) with the celeriac of
//                            another built checkout ("<row> (baseline)", on this checkout's bench/ scripts),
//                            to show a change against the code before it in the same run
//   BENCH_WORKERS=celeriac,python solo   only the workers whose label starts with one of these (any case)
//   BENCH_BROKERS=redis      only these brokers (default redis,amqp)
//   BENCH_SECTIONS=drain     only these parts (default drain,publish)
//   BENCH_TASK=cpu           drain CPU-bound tasks.cpu (BENCH_CPU_MS each, default 10) instead of tasks.add
//   BENCH_TASK=io            drain I/O-bound tasks.io (awaits a timer of BENCH_IO_MS, default 10)
//   BENCH_REDIS_PORT, BENCH_AMQP_PORT   where the bench starts its own Redis and RabbitMQ (default 16391, 5692)
//   BENCH_PYTHON=/usr/bin/python3       the Python whose Celery runs
//   BENCH_IDLE_MS=10000                 how long a ready worker idles before its idle RSS is read
// Drains (bench/lib/drain.js, bench/lib/bullmq.js): N tasks queued, then drained; per row tasks/s, the
// worker's CPU per task (its process tree's utime + stime over the drain / N) and the servers' (Redis,
// RabbitMQ), RSS 0.3 s after ready (start), after BENCH_IDLE_MS ready and without work (idle; Redis with
// results only; default 10,000) and at peak, and after a drain with results the round trip p50/p99 of a Python and a
// celeriac client (BullMQ: add -> waitUntilFinished). Rows: Python Celery's pools; celeriac's event loop
// (-c 16, -c 2), prefork -c 2 (the main process consumes and hands each job to an idle child), "celeriac 2
// procs eventloop -c 1" (two independent workers on one queue: what prefork children consuming directly
// would cost); celery-node; BullMQ (Redis only), concurrency 50, completed jobs kept ("with results") or
// removed ("ignore_result").
// Publish (bench/lib/publish.js): one Node client sending N tasks, celeriac against BullMQ.
// Prints the ratios and the issue 15 targets; writes bench/results/latest.json (bench/readme-table.js
// turns it into the README's table). The queue-depth benchmark is bench/depth.js.
const path = require("node:path");
const config = require("./lib/config");
const { ROOT, N, RT, PY, BROKERS, SECTIONS, BROKER_URLS, BACKEND, IDLE_MS } = config;
const { redisDrain, amqpDrain } = require("./lib/drain");
const { bullmqDrain } = require("./lib/bullmq");
const { publishRows, publishRatios } = require("./lib/publish");
const { runJson } = require("./lib/proc");
const { fmt, drainLine, ratios, ratioText, targets, targetText } = require("./lib/report");
const { writeResults } = require("./lib/results");
const { withServers } = require("./lib/servers");
const { selectedWorkers, servesBroker } = require("./lib/workers");

const pyDir = path.join(ROOT, "bench/py");

/** Puts n messages of the benchmark's task on `queue` from Python Celery's client (bench/py/enqueue.py). */
const pythonStage = (env) => async (queue, n) => runJson(PY, [path.join(pyDir, "enqueue.py"), String(n)], { ...env, BENCH_QUEUE: queue }, pyDir);

/** Round trips from a Python and a celeriac client; a client that fails has { failed } (its stderr is shown). */
function roundTrips(env) {
  const attempt = (cmd, args, cwd) => {
    try {
      return runJson(cmd, args, env, cwd);
    } catch (err) {
      return { failed: String(err.message).split("\n")[0] };
    }
  };
  const py = attempt(PY, [path.join(pyDir, "roundtrip.py"), String(RT)], pyDir);
  const ts = attempt(process.execPath, [path.join(ROOT, "bench/roundtrip-celeriac.js"), String(RT)], ROOT);
  return { py, ts };
}

/** Every selected worker drains N tasks from `kind`'s broker, with results then ignore_result. */
async function drains(kind, servers, broker, backend) {
  const workers = selectedWorkers().filter((w) => servesBroker(w, kind));
  const width = Math.max(...workers.map((w) => w.label.length));
  const rows = [];
  for (const ignoreResult of [false, true]) {
    for (const w of workers) {
      const env = { BENCH_BROKER: BROKER_URLS[kind], BENCH_BACKEND: BACKEND, BENCH_IGNORE_RESULT: ignoreResult ? "1" : "0" };
      const ctx = { broker, backend, env, serverPids: servers.pids(kind), brokerUrl: BROKER_URLS.redis, amqpUrl: BROKER_URLS.amqp };
      const during = ignoreResult ? undefined : async () => ({ rt: roundTrips(env) });
      const drain = kind === "redis" ? redisDrain : amqpDrain;
      const idleMs = kind === "redis" && !ignoreResult ? IDLE_MS : 0;
      const row = w.peer ? await bullmqDrain(w, ignoreResult, N, ctx, { idleMs }) : await drain(w, ignoreResult, N, pythonStage(env), ctx, { during, idleMs });
      rows.push(row);
      console.log(drainLine(row, width));
    }
  }
  const byKind = {};
  for (const ignoreResult of [false, true]) {
    const r = ratios(rows.filter((row) => row.ignoreResult === ignoreResult));
    byKind[ignoreResult ? "ignoreResult" : "results"] = r;
    console.log(`${kind} ${ignoreResult ? "ignore_result" : "with results"}: ${r.map(ratioText).join("; ")}`);
  }
  return { rows, ratios: byKind };
}

async function main() {
  await withServers(BROKERS, async ({ servers, broker, backend, machine: m, versions: v }) => {
    const task = { cpu: `tasks.cpu(${process.env.BENCH_CPU_MS || 10} ms)`, io: `tasks.io(${process.env.BENCH_IO_MS || 10} ms)` }[config.TASK] || "tasks.add";
    console.log(
      `${task} N=${N} round trips=${RT}; ${m.cores} cores ${m.cpuModel}, ${m.ramGb} GB; node ${v.node}, celeriac ${v.celeriac}, Python Celery ${v.pythonCelery} (${PY}),` +
        ` celery-node ${v.celeryNode}, BullMQ ${v.bullmq}, Redis ${v.redis}, RabbitMQ ${v.rabbitmq}`,
    );
    const results = { date: new Date().toISOString(), command: "node bench/run.js", settings: settings(), task, n: N, roundTrips: RT, idleMs: IDLE_MS, machine: m, versions: v, drains: {}, publish: null, targets: [] };
    if (SECTIONS.includes("drain")) {
      for (const kind of BROKERS) {
        console.log(`\n== drain, broker ${kind} (${BROKER_URLS[kind].replace(/\/\/guest:guest@/, "//")}), results in Redis`);
        results.drains[kind] = await drains(kind, servers, broker, backend);
      }
    }
    if (SECTIONS.includes("publish")) {
      console.log(`\n== publish: one Node client sends N=${fmt(N)} tasks.add, nothing consuming (celeriac's client with its result backend)`);
      const rows = [];
      for (const kind of BROKERS) rows.push(...(await publishRows(kind, broker)));
      results.publish = { rows, ratios: publishRatios(rows) };
      console.log(`publish: ${results.publish.ratios.map(ratioText).join("; ") || "-"}`);
    }
    results.targets = targets(Object.fromEntries(Object.entries(results.drains).map(([k, d]) => [k, d.rows])));
    if (results.targets.length) console.log(`\n== issue 15 targets\n${results.targets.map(targetText).join("\n")}`);
    console.log(`\nwrote ${path.relative(ROOT, writeResults("latest", results))}`);
  });
}

/** The BENCH_* settings of this run (a partial run says which part it ran). */
function settings() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("BENCH_")));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
