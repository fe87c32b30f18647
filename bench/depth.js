// Cost against queue depth (issue 15): a celeriac worker drains BENCH_DEPTH_BASE tasks.add, then
// BENCH_DEPTH, each queued in full before the drain (bench/lib/drain.js), on each broker; prints both
// rates, the worker's and the servers' CPU per task, its RSS, and rate(deep) / rate(base) (target
// ≥ 0.9x: cost flat with depth, memory bounded by the prefetch window); also the deep drain's rate up
// to BASE tasks done against the shallow one's (the same stretch of a worker's life, JIT and all: the
// steadier figure on a short run). Writes bench/results/depth.json.
//   npm run bench:depth      (builds, runs this)
//   BENCH_DEPTH=1000000      the deep queue;  BENCH_DEPTH_BASE=10000  the shallow one
//                            (a short version: BENCH_DEPTH=50000 BENCH_DEPTH_BASE=5000)
//   BENCH_DEPTH_WORKER="-P eventloop -c 16"   the celeriac worker's options; results stored in Redis
//   BENCH_DEPTH_SKIP=2000    tasks done before the clock starts, in both drains (at most BASE / 2): a
//                            fresh worker's first ~2,000 tasks cost it ~3x the CPU of later ones (JIT),
//                            which would weigh far more on the short drain
//   BENCH_BROKERS, BENCH_REDIS_PORT, BENCH_AMQP_PORT, BENCH_PYTHON: as for bench/run.js
// Queues fill fast: one message captured from Python Celery, copied with fresh ids (bench/lib/fill.js).
const path = require("node:path");
const { ROOT, BROKERS, BROKER_URLS, BACKEND } = require("./lib/config");
const { redisDrain, amqpDrain } = require("./lib/drain");
const { redisCloner, amqpCloner } = require("./lib/fill");
const { fmt } = require("./lib/report");
const { writeResults } = require("./lib/results");
const { withServers } = require("./lib/servers");

const DEPTH = Number(process.env.BENCH_DEPTH || 1000000);
const BASE = Number(process.env.BENCH_DEPTH_BASE || 10000);
const SKIP = Math.min(Number(process.env.BENCH_DEPTH_SKIP || 2000), Math.floor(BASE / 2));
const TARGET = 0.9;
const workerArgs = (process.env.BENCH_DEPTH_WORKER || "-P eventloop -c 16").split(" ").filter(Boolean);
const worker = {
  label: `celeriac ${workerArgs.join(" ")}`,
  cmd: process.execPath,
  args: [path.join(ROOT, "dist/cli/main.js"), "worker", "-A", "bench/tsapp.js", ...workerArgs, "-l", "warning"],
  cwd: ROOT,
};

/** Drains `depth` tasks from `kind`'s broker; the row has fillSeconds, the time to queue them. */
async function drainAt(kind, depth, servers, broker, backend) {
  const env = { BENCH_BROKER: BROKER_URLS[kind], BENCH_BACKEND: BACKEND, BENCH_IGNORE_RESULT: "0" };
  const ctx = { broker, backend, env, serverPids: servers.pids(kind), amqpUrl: BROKER_URLS.amqp };
  let fillSeconds = 0;
  const timed = (stage) => async (queue, n) => {
    const t0 = process.hrtime.bigint();
    await stage(queue, n);
    fillSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  };
  if (kind === "redis") {
    await broker.flushall();
    const row = await redisDrain(worker, false, depth, timed(await redisCloner(broker, BROKER_URLS.redis)), ctx, { skip: SKIP, splitAt: BASE });
    return { ...row, depth, fillSeconds };
  }
  const conn = await require("amqplib").connect(BROKER_URLS.amqp);
  try {
    const ch = await conn.createChannel();
    await ch.assertQueue("celery", { durable: true });
    await ch.purgeQueue("celery");
    const row = await amqpDrain(worker, false, depth, timed(await amqpCloner(conn, BROKER_URLS.amqp)), ctx, { skip: SKIP, splitAt: BASE });
    return { ...row, depth, fillSeconds };
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function main() {
  await withServers(BROKERS, async ({ servers, broker, backend, machine: m, versions: v }) => {
    console.log(`${worker.label}, tasks.add with results; depth ${fmt(DEPTH)} against ${fmt(BASE)}, clock from the ${fmt(SKIP)}th task done; ${m.cores} cores ${m.cpuModel}; node ${v.node}, celeriac ${v.celeriac}`);
    const brokers = {};
    for (const kind of BROKERS) {
      const rows = [];
      for (const depth of [BASE, DEPTH]) {
        const row = await drainAt(kind, depth, servers, broker, backend);
        rows.push(row);
        console.log(
          `${kind.padEnd(5)} ${fmt(depth).padStart(9)} queued: ${fmt(row.tasksPerSec).padStart(7)} tasks/s  CPU ${fmt(row.cpuMsPerTask, 3)} ms/task (servers ${fmt(row.serverCpuMsPerTask, 3)})` +
            `  RSS start ${fmt(row.startRss)} peak ${fmt(row.peakRss)} MB  (queued in ${fmt(row.fillSeconds, 1)} s, drained in ${fmt(row.seconds, 1)} s)`,
        );
      }
      const [base, deep] = rows;
      const ratio = deep.tasksPerSec / base.tasksPerSec;
      const firstRatio = deep.split ? deep.split.tasksPerSec / base.tasksPerSec : null;
      brokers[kind] = { rows, ratio, firstRatio, met: ratio >= TARGET };
      console.log(
        `${kind.padEnd(5)} ${fmt(DEPTH)} / ${fmt(BASE)}: rate ${ratio.toFixed(2)}x (target ≥ ${TARGET}x: ${ratio >= TARGET ? "met" : "not yet"});` +
          ` up to ${fmt(BASE)} done ${fmt(firstRatio, 2)}x; peak RSS ${fmt(deep.peakRss)} / ${fmt(base.peakRss)} MB`,
      );
    }
    const file = writeResults("depth", { date: new Date().toISOString(), command: "node bench/depth.js", worker: worker.label, depth: DEPTH, base: BASE, skip: SKIP, target: TARGET, machine: m, versions: v, brokers });
    console.log(`wrote ${path.relative(ROOT, file)}`);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
