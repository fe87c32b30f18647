// Benchmark: Python Celery workers vs celeriac vs celery-node on one private Redis, in one run.
//   npm run bench            (BENCH_N=10000 BENCH_RT=500 BENCH_PYTHON=/usr/bin/python3 by default)
//   BENCH_BASELINE=<dir>     also runs each selected celeriac row with the worker of another built
//                            checkout ("<row> (baseline)", on this checkout's bench/tsapp.js), to show
//                            a change against the code before it in the same run
//   BENCH_WORKERS=celeriac,python solo   only the workers whose label starts with one of these
//   BENCH_TASK=cpu           drain CPU-bound tasks.cpu (BENCH_CPU_MS each, default 10) instead of tasks.add
//   BENCH_TASK=io            drain I/O-bound tasks.io (awaits a timer of BENCH_IO_MS, default 10)
//   BENCH_BROKERS=redis      only these brokers (default redis,amqp); BENCH_REDIS_PORT, BENCH_AMQP_PORT:
//                            where the bench starts its own Redis and RabbitMQ (default 16391, 5692)
// Rows: Python Celery's pools; celeriac's event loop (-c 16, -c 2), prefork -c 2 (the main process
// consumes and hands each job to an idle child), and "celeriac 2 procs eventloop -c 1": two
// independent workers on the same queue, what prefork children consuming directly would cost (two
// connections, two prefetch windows, no IPC); celery-node.
// Prints tasks/s, round-trip p50/p99 and peak/idle RSS side by side, celeriac / best Python pool,
// prefork -c 2 / event loop -c 2, and each row / its baseline.
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const Redis = require("ioredis");

const ROOT = path.resolve(__dirname, "..");
const N = Number(process.env.BENCH_N || 10000);
const RT = Number(process.env.BENCH_RT || 500);
const PY = process.env.BENCH_PYTHON || "/usr/bin/python3";
const PORT = Number(process.env.BENCH_REDIS_PORT || 16391);
const AMQP_PORT = Number(process.env.BENCH_AMQP_PORT || 5692);
const BROKERS = (process.env.BENCH_BROKERS || "redis,amqp").split(",");
const BACKEND = `redis://127.0.0.1:${PORT}/1`;
const BROKER_URLS = { redis: `redis://127.0.0.1:${PORT}/0`, amqp: `amqp://guest:guest@127.0.0.1:${AMQP_PORT}//` };
let BROKER = BROKER_URLS.redis;
const STAGING = "bench-staging";
const node = process.execPath;
const celeriacCli = path.join(ROOT, "dist/cli/main.js");
const pyWorker = (pool) => ({ cmd: PY, args: ["-m", "celery", "-A", "benchapp", "worker", "-l", "warning", "--without-gossip", "--without-mingle", ...pool], cwd: path.join(ROOT, "bench/py"), python: true });

const WORKERS = [
  { label: "python solo", ...pyWorker(["-P", "solo"]) },
  { label: "python prefork -c 2", ...pyWorker(["-P", "prefork", "-c", "2"]) },
  { label: "python threads -c 8", ...pyWorker(["-P", "threads", "-c", "8"]) },
  // The event loop named: the CLI's default is prefork, and these rows are the event pool's numbers.
  { label: "celeriac -c 16", cmd: node, args: [celeriacCli, "worker", "-A", "bench/tsapp.js", "-P", "eventloop", "-c", "16", "-l", "warning"], cwd: ROOT, celeriac: true },
  { label: "celeriac -c 2", cmd: node, args: [celeriacCli, "worker", "-A", "bench/tsapp.js", "-P", "eventloop", "-c", "2", "-l", "warning"], cwd: ROOT, celeriac: true },
  { label: "celeriac -P prefork -c 2", cmd: node, args: [celeriacCli, "worker", "-A", "bench/tsapp.js", "-P", "prefork", "-c", "2", "-l", "warning"], cwd: ROOT, celeriac: true },
  {
    label: "celeriac 2 procs eventloop -c 1",
    cmd: node,
    args: [path.join(ROOT, "bench/multi-worker.js"), "2", "-A", "bench/tsapp.js", "-P", "eventloop", "-c", "1", "-l", "warning"],
    cwd: ROOT,
    celeriac: true,
  },
  { label: "celery-node", cmd: node, args: [path.join(ROOT, "bench/celery-node-worker.js")], cwd: ROOT },
];
const BASELINE = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : null;
const ONLY = process.env.BENCH_WORKERS ? process.env.BENCH_WORKERS.split(",") : null;
const SELECTED = ONLY ? WORKERS.filter((w) => ONLY.some((prefix) => w.label.startsWith(prefix))) : WORKERS;
if (BASELINE) {
  // Each selected celeriac row again, right after it, with the baseline's scripts and dist.
  const dist = path.join(ROOT, "dist");
  for (const w of [...SELECTED].filter((w) => w.celeriac)) {
    const args = w.args.map((a) => (a.startsWith(dist + path.sep) ? path.join(BASELINE, path.relative(ROOT, a)) : a));
    const env = { BENCH_CELERIAC_DIST: path.join(BASELINE, "dist") };
    SELECTED.splice(SELECTED.indexOf(w) + 1, 0, { ...w, label: `${w.label} (baseline)`, args, env, baselineOf: w.label });
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssOfTree(pid) {
  // Sum VmRSS (kB) of pid and all its descendants.
  const children = new Map();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // the process exited between readdir and read
    }
  }
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    try {
      const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, "utf8"));
      if (m) total += Number(m[1]);
    } catch {
      // the process exited meanwhile
    }
    stack.push(...(children.get(p) || []));
  }
  return total / 1024;
}

function runJson(cmd, args, env, cwd) {
  const out = execFileSync(cmd, args, { env: { ...process.env, ...env }, cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26 });
  const lines = out.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

async function waitUntil(check, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(5);
  }
  throw new Error(`timed out: ${what}`);
}

/** AMQP has no RENAME: enqueue before the worker starts and time from the first task done. */
async function amqpScenario(worker, ignoreResult, backend) {
  const amqplib = require("amqplib");
  await backend.flushdb();
  const conn = await amqplib.connect(BROKER);
  const ch = await conn.createChannel();
  await ch.assertQueue("celery", { durable: true });
  await ch.purgeQueue("celery");
  const env = { BENCH_BROKER: BROKER, BENCH_BACKEND: BACKEND, BENCH_IGNORE_RESULT: ignoreResult ? "1" : "0" };
  runJson(PY, [path.join(ROOT, "bench/py/enqueue.py"), String(N)], env, path.join(ROOT, "bench/py"));
  const ready = async () => (await ch.checkQueue("celery")).messageCount;
  if ((await ready()) !== N) throw new Error(`expected ${N} queued messages, found ${await ready()}`);
  const child = spawn(worker.cmd, worker.args, { cwd: worker.cwd, env: { ...process.env, ...env, ...worker.env }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d.toString()));
  try {
    await waitUntil(async () => (ignoreResult ? (await ready()) < N : (await backend.dbsize()) >= 1), 60000, `${worker.label} first task\n${stderr}`);
    const t0 = process.hrtime.bigint();
    let peakRss = rssOfTree(child.pid);
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssOfTree(child.pid))), 100);
    const done = ignoreResult ? async () => (await ready()) === 0 : async () => (await backend.dbsize()) >= N;
    await waitUntil(done, 600000, `${worker.label} drain\n${stderr}`);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    clearInterval(sampler);
    const rt = ignoreResult ? null : roundTrips(env);
    return { label: worker.label, ignoreResult, tasksPerSec: (N - 1) / seconds, seconds, idleRss: null, peakRss, rt };
  } finally {
    await conn.close().catch(() => undefined);
    await stopChild(child);
  }
}

function roundTrips(env) {
  const py = runJson(PY, [path.join(ROOT, "bench/py/roundtrip.py"), String(RT)], env, path.join(ROOT, "bench/py"));
  const ts = runJson(node, [path.join(ROOT, "bench/roundtrip-celeriac.js"), String(RT)], env, ROOT);
  return { py, ts };
}

async function stopChild(child) {
  child.kill("SIGTERM");
  await new Promise((r) => {
    const t = setTimeout(() => { child.kill("SIGKILL"); r(); }, 10000);
    child.on("exit", () => { clearTimeout(t); r(); });
  });
}

async function scenario(worker, ignoreResult, broker, backend) {
  await broker.flushall();
  const env = { BENCH_BROKER: BROKER, BENCH_BACKEND: BACKEND, BENCH_IGNORE_RESULT: ignoreResult ? "1" : "0" };
  runJson(PY, [path.join(ROOT, "bench/py/enqueue.py"), String(N)], { ...env, BENCH_QUEUE: STAGING }, path.join(ROOT, "bench/py"));
  const staged = await broker.llen(STAGING);
  if (staged !== N) throw new Error(`expected ${N} staged messages, found ${staged}`);
  const child = spawn(worker.cmd, worker.args, { cwd: worker.cwd, env: { ...process.env, ...env, ...worker.env }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d.toString()));
  try {
    // Ready = it consumed one warm-up message.
    await broker.lpush("celery", await broker.lindex(STAGING, 0));
    await waitUntil(async () => (await broker.llen("celery")) === 0 && (await broker.hlen("unacked")) === 0, 60000, `${worker.label} ready\n${stderr}`);
    await sleep(300);
    const idleRss = rssOfTree(child.pid);
    let peakRss = idleRss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssOfTree(child.pid))), 100);
    const t0 = process.hrtime.bigint();
    await broker.rename(STAGING, "celery");
    const done = ignoreResult
      ? async () => (await broker.llen("celery")) === 0 && (await broker.hlen("unacked")) === 0
      : async () => (await backend.dbsize()) >= N; // the warm-up copy shares an id with a staged message
    await waitUntil(done, 600000, `${worker.label} drain\n${stderr}`);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    clearInterval(sampler);
    const rt = ignoreResult ? null : roundTrips(env);
    return { label: worker.label, ignoreResult, tasksPerSec: N / seconds, seconds, idleRss, peakRss, rt };
  } finally {
    await stopChild(child);
  }
}

const f = (x, d = 0) => (x === null || x === undefined ? "-" : Number(x).toFixed(d));

async function main() {
  const dir = path.join(ROOT, ".tmp", `redis-bench-${PORT}`);
  const rmqDir = path.join(ROOT, ".tmp", `rabbitmq-bench-${AMQP_PORT}`);
  execFileSync("bash", [path.join(ROOT, "scripts/private-redis.sh"), "start", String(PORT), dir], { stdio: "inherit" });
  if (BROKERS.includes("amqp")) execFileSync("bash", [path.join(ROOT, "scripts/private-rabbitmq.sh"), "start", String(AMQP_PORT), rmqDir], { stdio: "inherit" });
  const broker = new Redis(BROKER_URLS.redis);
  const backend = new Redis(BACKEND);
  const pyVersion = execFileSync(PY, ["-c", "import celery; print(celery.__version__)"], { encoding: "utf8" }).trim();
  const taskShown = { cpu: `tasks.cpu(${process.env.BENCH_CPU_MS || 10} ms)`, io: `tasks.io(${process.env.BENCH_IO_MS || 10} ms)` }[process.env.BENCH_TASK] || "tasks.add";
  console.log(`${taskShown} N=${N} round trips=${RT} Python Celery ${pyVersion} (${PY}), node ${process.version}, ${require("node:os").cpus().length} cores`);
  for (const kind of BROKERS) {
    BROKER = BROKER_URLS[kind];
    console.log(`\n== broker ${kind} (${BROKER.replace(/\/\/guest:guest@/, "//")}), results in Redis`);
    const rows = [];
    for (const ignoreResult of [false, true]) {
      for (const w of SELECTED) {
        const row = kind === "redis" ? await scenario(w, ignoreResult, broker, backend) : await amqpScenario(w, ignoreResult, backend);
        row.baselineOf = w.baselineOf;
        rows.push(row);
        console.log(
          `${row.label.padEnd(Math.max(...SELECTED.map((w) => w.label.length)))} ${ignoreResult ? "ignore_result" : "with results "} ${f(row.tasksPerSec).padStart(7)} tasks/s` +
            `  RSS idle ${f(row.idleRss)} MB peak ${f(row.peakRss)} MB` +
            (row.rt ? `  round trip p50/p99: python client ${f(row.rt.py.p50_ms, 2)}/${f(row.rt.py.p99_ms, 2)} ms, celeriac client ${f(row.rt.ts.p50_ms, 2)}/${f(row.rt.ts.p99_ms, 2)} ms` : ""),
        );
      }
    }
    for (const ignoreResult of [false, true]) {
      const set = rows.filter((r) => r.ignoreResult === ignoreResult);
      const bestPy = set.filter((r) => r.label.startsWith("python")).sort((a, b) => b.tasksPerSec - a.tasksPerSec)[0];
      const ts = set.find((r) => r.label.startsWith("celeriac") && !r.baselineOf);
      const cn = set.find((r) => r.label === "celery-node");
      const byLabel = (label) => set.find((r) => r.label === label);
      const ratio = (a, b) => (a && b ? `${a.label} / ${b.label} = ${(a.tasksPerSec / b.tasksPerSec).toFixed(2)}x` : null);
      const ratios = [
        ts && bestPy ? `celeriac / best Python pool (${bestPy.label}) = ${(ts.tasksPerSec / bestPy.tasksPerSec).toFixed(2)}x` : null,
        ts && cn ? `celeriac / celery-node = ${(ts.tasksPerSec / cn.tasksPerSec).toFixed(2)}x` : null,
        ratio(byLabel("celeriac -P prefork -c 2"), byLabel("celeriac -c 2")),
        ratio(byLabel("celeriac 2 procs eventloop -c 1"), byLabel("celeriac -P prefork -c 2")),
        ...set.filter((r) => r.baselineOf).map((r) => ratio(byLabel(r.baselineOf), r)),
      ].filter((r) => r !== null);
      console.log(`${kind} ${ignoreResult ? "ignore_result" : "with results"}: ${ratios.join("; ")}`);
    }
  }
  broker.disconnect();
  backend.disconnect();
  execFileSync("bash", [path.join(ROOT, "scripts/private-redis.sh"), "stop", String(PORT), dir], { stdio: "inherit" });
  if (BROKERS.includes("amqp")) execFileSync("bash", [path.join(ROOT, "scripts/private-rabbitmq.sh"), "stop", String(AMQP_PORT), rmqDir], { stdio: "inherit" });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
