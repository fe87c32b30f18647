// Profile the worker's drain on RabbitMQ: N tasks.add queued BEFORE the worker starts (as
// bench/run.js amqpScenario), then `celeriac worker -P eventloop -c 16` drains them.
//
//   node bench/profile/amqp-drain.js [N]      (default 20000)
//
//   BENCH_REDIS_PORT / BENCH_AMQP_PORT   private brokers started (or reused) here (16391 / 5692)
//   BENCH_IGNORE_RESULT=1                task_ignore_result (no result stored)
//   NODE_ARGS="--trace-gc"               extra node flags for the worker
//   GC=1                                 run the worker with --trace-gc-nvp and add what its
//                                        scavenges kept to the line (bench/lib/gc-survival.js)
//   BENCH_WORKER_ARGS="--prefetch-multiplier 8"   extra `celeriac worker` options
//   BENCH_CELERIAC_DIST=<dir>/dist       the built celeriac to run (default: this checkout's)
//   ALLOC=1                              also sample every allocation of the worker
//                                        (alloc-sampling.js) and print bytes by area and site
//   WORKER=celery-node                   drain with bench/celery-node-worker.js instead (the peer;
//                                        no prefetch bound, acks on receipt)
//   PROFILE=1                            also `node --cpu-prof` the worker and print its top
//                                        self-time functions over the drain window only
//   PROFILE_DIR                          where the .cpuprofile goes (default .tmp/profiles)
//   PERF=1                               also `perf record` the worker over the drain window only
//                                        (CPU time, kernel included, JS named by --perf-basic-prof)
//                                        and print its top symbols by self time: the V8 profile
//                                        samples wall time (a write that wakes the broker counts
//                                        while the worker waits for the CPU), perf only CPU time
//
// Prints one JSON line: tasks/s, worker CPU ms per task (utime+stime from /proc/<pid>/stat over
// the drain, from the first task done to the last), the same for RabbitMQ and Redis, the worker's
// voluntary/involuntary context switches.
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const Redis = require("ioredis");
const amqplib = require("amqplib");
const { setInterval: every } = require("node:timers/promises");
const { summarize } = require("./summarize");
const { gcSurvival } = require("../lib/gc-survival");

const ROOT = path.resolve(__dirname, "../..");
const N = Number(process.argv[2] || 20000);
const PY = process.env.BENCH_PYTHON || "/usr/bin/python3";
const PORT = Number(process.env.BENCH_REDIS_PORT || 16391);
const AMQP_PORT = Number(process.env.BENCH_AMQP_PORT || 5692);
const BROKER = `amqp://guest:guest@127.0.0.1:${AMQP_PORT}//`;
const BACKEND = `redis://127.0.0.1:${PORT}/1`;
const IGNORE = process.env.BENCH_IGNORE_RESULT === "1";
const DIST = process.env.BENCH_CELERIAC_DIST ? path.resolve(process.env.BENCH_CELERIAC_DIST) : path.join(ROOT, "dist");
const PROFILE = process.env.PROFILE === "1";
const PERF = process.env.PERF === "1";
const ALLOC = process.env.ALLOC === "1";
const PROFILE_DIR = path.resolve(process.env.PROFILE_DIR || path.join(ROOT, ".tmp/profiles"));
const TICK = 100; // clock ticks per second (getconf CLK_TCK)


function cpuTicks(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
}

/** A process and its descendants (pgrep -P, recursively). */
function processTree(pid) {
  let children = [];
  try {
    children = execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number);
  } catch {
    // no children (pgrep exits 1)
  }
  return [pid, ...children.flatMap(processTree)];
}

/** CPU ticks of a process and all its descendants (the broker: rabbitmq-server → beam.smp → ...). */
function treeTicks(pid) {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      total += cpuTicks(p);
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

function switches(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return { vol: Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(s)[1]), invol: Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(s)[1]) };
}

/** Poll `check` every 2 ms until it holds; fail after `ms`. */
async function waitUntil(check, ms, what) {
  const deadline = Date.now() + ms;
  for await (const _ of every(2)) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
  }
}

async function main() {
  const redisDir = path.join(ROOT, ".tmp", `redis-bench-${PORT}`);
  const rabbitDir = path.join(ROOT, ".tmp", `rabbitmq-bench-${AMQP_PORT}`);
  execFileSync("bash", [path.join(ROOT, "scripts/private-redis.sh"), "start", String(PORT), redisDir], { stdio: "ignore" });
  execFileSync("bash", [path.join(ROOT, "scripts/private-rabbitmq.sh"), "start", String(AMQP_PORT), rabbitDir], { stdio: "ignore" });
  const pidIn = (file) => (fs.existsSync(file) ? Number(fs.readFileSync(file, "utf8").trim()) : null);
  const brokerPids = { rabbitmq: pidIn(path.join(rabbitDir, "server.pid")), redis: pidIn(path.join(redisDir, "redis.pid")) };
  const brokerTicks = () => Object.fromEntries(Object.entries(brokerPids).map(([k, pid]) => [k, pid ? treeTicks(pid) : 0]));
  const backend = new Redis(BACKEND);
  await backend.flushdb();
  const conn = await amqplib.connect(BROKER);
  const ch = await conn.createChannel();
  await ch.assertQueue("celery", { durable: true });
  await ch.purgeQueue("celery");
  const env = { ...process.env, ALLOC_OUT: path.join(PROFILE_DIR, `amqp-${IGNORE ? "ignore" : "results"}-${process.pid}.alloc.txt`), BENCH_BROKER: BROKER, BENCH_BACKEND: BACKEND, BENCH_IGNORE_RESULT: IGNORE ? "1" : "0", BENCH_CELERIAC_DIST: DIST };
  execFileSync(PY, [path.join(ROOT, "bench/py/enqueue.py"), String(N)], { env, cwd: path.join(ROOT, "bench/py"), stdio: ["ignore", "ignore", "inherit"] });
  const queued = async () => (await ch.checkQueue("celery")).messageCount;
  if ((await queued()) !== N) throw new Error(`expected ${N} queued messages, found ${await queued()}`);

  fs.mkdirSync(PROFILE_DIR, { recursive: true });
  const profName = `amqp-${IGNORE ? "ignore" : "results"}-${process.pid}.cpuprofile`;
  const nodeArgs = [...(PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${profName}`] : []), ...(PERF ? ["--perf-basic-prof"] : [])];
  const allocOut = path.join(PROFILE_DIR, profName.replace(/\.cpuprofile$/, ".alloc.txt"));
  if (ALLOC) nodeArgs.push("--require", path.join(__dirname, "alloc-sampling.js"));
  const GC = process.env.GC === "1";
  if (GC) nodeArgs.push("--trace-gc-nvp");
  if (process.env.NODE_ARGS) nodeArgs.push(...process.env.NODE_ARGS.split(" ").filter(Boolean));
  const perfData = path.join(PROFILE_DIR, profName.replace(/\.cpuprofile$/, ".perf.data"));
  const cli = path.join(DIST, "cli/main.js");
  const workerArgs = process.env.WORKER === "celery-node" ? [path.join(ROOT, "bench/celery-node-worker.js")] : [cli, "worker", "-A", "bench/tsapp.js", "-P", "eventloop", "-c", process.env.BENCH_CONCURRENCY || "16", "-l", "warning", ...(process.env.BENCH_WORKER_ARGS || "").split(" ").filter(Boolean)];
  const child = spawn(process.execPath, [...nodeArgs, ...workerArgs], { cwd: ROOT, env, stdio: ["ignore", GC ? "pipe" : "ignore", "pipe"] });
  let stdout = "";
  child.stdout?.on("data", (d) => (stdout += d.toString()));
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d.toString()));
  const exited = new Promise((r) => child.on("exit", r));
  let out;
  try {
    await waitUntil(async () => (IGNORE ? (await queued()) < N : (await backend.dbsize()) >= 1), 60000, `first task\n${stderr}`);
    const t0 = process.hrtime.bigint();
    const cpu0 = cpuTicks(child.pid);
    const sw0 = switches(child.pid);
    const b0 = brokerTicks();
    const perf = PERF ? spawn("perf", ["record", "-F", "1999", "-g", "-o", perfData, "-p", String(child.pid)], { stdio: "ignore" }) : null;
    const done = IGNORE ? async () => (await queued()) === 0 : async () => (await backend.dbsize()) >= N;
    await waitUntil(done, 600000, `drain\n${stderr}`);
    const t1 = process.hrtime.bigint();
    const cpu1 = cpuTicks(child.pid);
    const sw1 = switches(child.pid);
    const b1 = brokerTicks();
    if (perf) {
      const perfDone = new Promise((r) => perf.on("exit", r));
      perf.kill("SIGINT");
      await perfDone;
    }
    const seconds = Number(t1 - t0) / 1e9;
    out = {
      n: N,
      ignoreResult: IGNORE,
      worker: process.env.WORKER === "celery-node" ? "celery-node" : path.relative(ROOT, DIST) || ".",
      tasksPerSec: Math.round((N - 1) / seconds),
      cpuMsPerTask: Number((((cpu1 - cpu0) * 1000) / TICK / (N - 1)).toFixed(4)),
      cpuUtil: Number(((cpu1 - cpu0) / TICK / seconds).toFixed(2)),
      brokerCpuMsPerTask: Object.fromEntries(Object.keys(b0).map((k) => [k, Number((((b1[k] - b0[k]) * 1000) / TICK / (N - 1)).toFixed(4))])),
      ctxSwitches: { vol: sw1.vol - sw0.vol, invol: sw1.invol - sw0.invol },
      window: [Number(t0 / 1000n), Number(t1 / 1000n)],
    };
  } finally {
    await conn.close().catch(() => undefined);
    backend.disconnect();
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 15000);
    await exited;
    clearTimeout(t);
  }
  if (GC && out) out.gc = gcSurvival(stdout.split("\n"));
  console.log(JSON.stringify(out));
  if (PERF) {
    const report = execFileSync("perf", ["report", "-i", perfData, "--no-children", "--sort", "dso,symbol", "--stdio", "-g", "none", "--percent-limit", "0.4"], { encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "ignore"] });
    console.log(`perf: ${path.relative(ROOT, perfData)}`);
    console.log(report.split("\n").filter((l) => l.trim() && !l.startsWith("#")).join("\n"));
  }
  if (ALLOC) console.log(`allocations (whole run, N=${N}):\n${fs.readFileSync(allocOut, "utf8")}`);
  if (PROFILE) {
    const file = path.join(PROFILE_DIR, profName);
    console.log(`profile: ${path.relative(ROOT, file)}`);
    console.log(summarize(JSON.parse(fs.readFileSync(file, "utf8")), { window: out.window, top: Number(process.env.PROFILE_TOP || 35) }));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
