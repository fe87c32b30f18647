// Drain profile of the celeriac worker on Redis: CPU per task, not only tasks/s.
//   node bench/profile/drain.js [dist ...]
// Each given built dist (default: this checkout's dist) runs `celeriac worker -A bench/tsapp.js
// -P eventloop -c 16` against the same PROF_N staged tasks.add messages, the dists alternating,
// PROF_REPEAT times (default 3). For every run it prints tasks/s, the worker's CPU (utime+stime
// from /proc/<pid>/stat over the drain) per task, Redis's CPU per task (INFO cpu) and the
// context switches and read/write syscalls of the worker, and the worker's CPU per task by thread
// (main: the event loop; node: V8's compiler and GC helper threads). Shares the machine with others:
// compare dists in one run.
//   PROF_N=20000  PROF_IGNORE=1 (task_ignore_result)  PROF_CONCURRENCY=16  PROF_REPEAT=3
//   PROF_CPUPROF=<dir>  run the worker under `node --cpu-prof`, then print its top self-time
//                       functions within the drain only (bench/profile/top.js)
//   PROF_PERF=<dir>     record the drain with `perf record` (CPU time only, user space; the worker
//                       runs with --perf-basic-prof) and print `perf report`'s top symbols;
//                       with PROF_PERF_REDIS=1 the redis-server too
//   PROF_COMMANDSTATS=1 print Redis's INFO commandstats of the drain (µs per task by command)
//   PROF_NODE_ARGS="--trace-deopt"  extra node flags for the worker (its stdout is shown then)
//   PROF_GC=1           run the worker with --trace-gc-nvp and print what its scavenges kept
//                       (bench/lib/gc-survival.js)
//   PROF_WORKER_ARGS="--prefetch-multiplier 1"  extra `celeriac worker` options
//   PROF_USR2_AFTER_MS=1000  send the worker SIGUSR2 that long into the drain (with a preload in
//                            PROF_NODE_ARGS that takes a heap snapshot on it, say)
//   BENCH_REDIS_PORT=16391  where the private Redis runs (started and stopped here, unless one
//                           answers there already)
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const Redis = require("ioredis");
const { topOfProfile } = require("./top");
const { gcSurvival, survivalText } = require("../lib/gc-survival");
const { stage, stagingKey } = require("../lib/staging");

const ROOT = path.resolve(__dirname, "../..");
const N = Number(process.env.PROF_N || 20000);
const IGNORE = process.env.PROF_IGNORE === "1";
const REPEAT = Number(process.env.PROF_REPEAT || 3);
const CONCURRENCY = process.env.PROF_CONCURRENCY || "16";
const PORT = Number(process.env.BENCH_REDIS_PORT || 16391);
const CPUPROF = process.env.PROF_CPUPROF ? path.resolve(process.env.PROF_CPUPROF) : null;
const WORKER_ARGS = process.env.PROF_WORKER_ARGS ? process.env.PROF_WORKER_ARGS.split(" ") : [];
const NODE_ARGS = process.env.PROF_NODE_ARGS ? process.env.PROF_NODE_ARGS.split(" ") : [];
const GC = process.env.PROF_GC === "1";
const PERF = process.env.PROF_PERF ? path.resolve(process.env.PROF_PERF) : null;
const BROKER = `redis://127.0.0.1:${PORT}/0`;
const BACKEND = `redis://127.0.0.1:${PORT}/1`;
const STAGING = stagingKey(N);
const REDIS_DIR = path.join(ROOT, ".tmp", `redis-profile-${PORT}`);
const TICK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
const dists = (process.argv.slice(2).length ? process.argv.slice(2) : [path.join(ROOT, "dist")]).map((d) => path.resolve(d));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** utime+stime in ms, and voluntary / involuntary context switches of a process. */
function usage(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const num = (re) => Number(re.exec(status)?.[1] ?? 0);
  const io = fs.readFileSync(`/proc/${pid}/io`, "utf8");
  return {
    syscr: Number(/syscr:\s+(\d+)/.exec(io)[1]),
    syscw: Number(/syscw:\s+(\d+)/.exec(io)[1]),
    rchar: Number(/rchar:\s+(\d+)/.exec(io)[1]),
    wchar: Number(/wchar:\s+(\d+)/.exec(io)[1]),
    cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICK,
    sysMs: (Number(fields[12]) * 1000) / TICK,
    vcs: num(/voluntary_ctxt_switches:\s+(\d+)/),
    ivcs: num(/nonvoluntary_ctxt_switches:\s+(\d+)/),
  };
}

/** CPU ms of each thread of a process, summed by thread name (main = the process's own name). */
function threadCpu(pid) {
  const out = {};
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = tid === String(pid) ? "main" : stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out[name] = (out[name] ?? 0) + ((Number(f[11]) + Number(f[12])) * 1000) / TICK;
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

async function redisCpuMs(redis) {
  const info = await redis.info("cpu");
  const v = (k) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (v("used_cpu_user") + v("used_cpu_sys")) * 1000;
}

/** INFO commandstats as "cmd calls µs/call", busiest first. */
function commandStats(info) {
  const rows = [];
  for (const m of info.matchAll(/cmdstat_(\w+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/g)) rows.push([m[1], Number(m[2]), Number(m[3]), Number(m[4])]);
  rows.sort((a, b) => b[2] - a[2]);
  return rows.map(([cmd, calls, usec, per]) => `  ${cmd.padEnd(16)} calls ${String(calls).padStart(7)}  ${(usec / N).toFixed(2).padStart(6)} µs/task  ${per} µs/call`).join("\n");
}

/** Poll `done` every 5 ms until it holds; fail after `ms`. */
async function pollUntil(done, ms, what) {
  for (const deadline = Date.now() + ms; !(await done()); await sleep(5)) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
  }
}

async function startPerf(pid, file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const perf = spawn("perf", ["record", "-F", "4999", "-g", "-p", String(pid), "-o", file], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  perf.stderr.on("data", (d) => (err += d));
  await sleep(500); // perf attaches
  if (perf.exitCode !== null) throw new Error(`perf record failed: ${err}`);
  return perf;
}

async function stopPerf(perf) {
  perf.kill("SIGINT");
  await new Promise((r) => perf.on("exit", r));
}

function perfTop(file) {
  const out = execFileSync("perf", ["report", "-i", file, "--no-children", "--sort", "sym", "--stdio", "-g", "none", "--percent-limit", "0.7"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
    maxBuffer: 1 << 26,
  });
  return out
    .split("\n")
    .filter((l) => /^\s+\d/.test(l))
    .slice(0, Number(process.env.PROF_TOP || 25))
    .join("\n");
}

async function run(dist, i, broker, backend) {
  await broker.del("celery", "unacked", "unacked_index");
  await backend.flushdb();
  const profDir = CPUPROF ? path.join(CPUPROF, `${path.basename(path.dirname(dist))}-${i}`) : null;
  const nodeArgs = [...(profDir ? ["--cpu-prof", "--cpu-prof-dir", profDir] : PERF ? ["--perf-basic-prof"] : []), ...(GC ? ["--trace-gc-nvp"] : []), ...NODE_ARGS];
  const args = [...nodeArgs, path.join(dist, "cli/main.js"), "worker", "-A", "bench/tsapp.js", "-P", "eventloop", "-c", CONCURRENCY, "-l", "warning", ...WORKER_ARGS];
  const env = { ...process.env, BENCH_BROKER: BROKER, BENCH_BACKEND: BACKEND, BENCH_IGNORE_RESULT: IGNORE ? "1" : "0", BENCH_CELERIAC_DIST: dist };
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", GC ? "pipe" : NODE_ARGS.length ? "inherit" : "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  let stdout = "";
  child.stdout?.on("data", (d) => (stdout += d));
  try {
    await broker.lpush("celery", await broker.lindex(STAGING, 0));
    await pollUntil(async () => (await broker.llen("celery")) === 0 && (await broker.hlen("unacked")) === 0, 60000, `ready\n${stderr}`);
    await sleep(Number(process.env.PROF_IDLE_MS || 300)); // PROF_IDLE_MS: idle that long first, as npm run bench's Redis drains do (10 s)
    const u0 = usage(child.pid);
    const th0 = threadCpu(child.pid);
    const r0 = await redisCpuMs(broker);
    if (process.env.PROF_COMMANDSTATS) await broker.config("RESETSTAT");
    const perfData = PERF ? path.join(PERF, `${path.basename(path.dirname(dist))}-${i}.data`) : null;
    const perf = perfData ? await startPerf(child.pid, perfData) : null;
    const redisPerfData = perfData && process.env.PROF_PERF_REDIS ? perfData.replace(/\.data$/, "-redis.data") : null;
    const redisPerf = redisPerfData ? await startPerf(Number(fs.readFileSync(path.join(REDIS_DIR, "redis.pid"), "utf8")), redisPerfData) : null;
    const t0 = process.hrtime.bigint();
    await broker.copy(STAGING, "celery");
    if (process.env.PROF_USR2_AFTER_MS) setTimeout(() => child.kill("SIGUSR2"), Number(process.env.PROF_USR2_AFTER_MS));
    const done = IGNORE
      ? async () => (await broker.llen("celery")) === 0 && (await broker.hlen("unacked")) === 0
      : async () => (await backend.dbsize()) >= N;
    await pollUntil(done, 600000, `drain\n${stderr}`);
    const t1 = process.hrtime.bigint();
    const u1 = usage(child.pid);
    const th1 = threadCpu(child.pid);
    const r1 = await redisCpuMs(broker);
    if (perf) await stopPerf(perf);
    if (redisPerf) await stopPerf(redisPerf);
    if (process.env.PROF_COMMANDSTATS) console.log(commandStats(await broker.info("commandstats")));
    const seconds = Number(t1 - t0) / 1e9;
    return {
      rate: N / seconds,
      cpuPerTask: (u1.cpuMs - u0.cpuMs) / N,
      sysPerTask: (u1.sysMs - u0.sysMs) / N,
      redisPerTask: (r1 - r0) / N,
      threads: Object.entries(th1).map(([k, v]) => `${k} ${((v - (th0[k] ?? 0)) * 1000 / N).toFixed(1)}`).join(", "),
      vcs: u1.vcs - u0.vcs,
      ivcs: u1.ivcs - u0.ivcs,
      reads: (u1.syscr - u0.syscr) / N,
      writes: (u1.syscw - u0.syscw) / N,
      rbytes: (u1.rchar - u0.rchar) / N,
      wbytes: (u1.wchar - u0.wchar) / N,
      window: [Number(t0 / 1000n), Number(t1 / 1000n)],
      profDir,
      gcLines: () => stdout.split("\n"),
      perfData,
      redisPerfData,
    };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.on("exit", r));
  }
}

async function main() {
  const dir = REDIS_DIR;
  const started = execFileSync("bash", [path.join(ROOT, "scripts/private-redis.sh"), "start", String(PORT), dir], { encoding: "utf8" }).trim() === "started";
  const broker = new Redis(BROKER);
  const backend = new Redis(BACKEND);
  try {
    await stage(broker, PORT, N);
    console.log(`tasks.add N=${N} ${IGNORE ? "ignore_result" : "results in Redis"}, -P eventloop -c ${CONCURRENCY}, node ${process.version}`);
    for (let i = 0; i < REPEAT; i++) {
      for (const dist of dists) {
        const r = await run(dist, i, broker, backend);
        console.log(
          `${dist.padEnd(Math.max(...dists.map((d) => d.length)))} ${r.rate.toFixed(0).padStart(6)} tasks/s  worker CPU ${(r.cpuPerTask * 1000).toFixed(1).padStart(5)} µs/task (sys ${(r.sysPerTask * 1000).toFixed(1)})` +
            `  redis CPU ${(r.redisPerTask * 1000).toFixed(1).padStart(5)} µs/task  ctx switches ${r.vcs}+${r.ivcs}` +
            `  syscalls/task read ${r.reads.toFixed(2)} write ${r.writes.toFixed(2)}, bytes/task in ${r.rbytes.toFixed(0)} out ${r.wbytes.toFixed(0)}`,
        );
        console.log(`  threads (µs/task): ${r.threads}`);
        if (GC) console.log(`  of the allocation: ${survivalText(gcSurvival(r.gcLines()))}`);
        if (r.perfData) console.log(perfTop(r.perfData));
        if (r.redisPerfData) console.log(`  -- redis-server\n${perfTop(r.redisPerfData)}`);
        if (r.profDir) {
          const file = fs.readdirSync(r.profDir).find((f) => f.endsWith(".cpuprofile"));
          if (file) console.log(topOfProfile(JSON.parse(fs.readFileSync(path.join(r.profDir, file), "utf8")), r.window, N));
        }
      }
    }
  } finally {
    broker.disconnect();
    backend.disconnect();
    if (started) execFileSync("bash", [path.join(ROOT, "scripts/private-redis.sh"), "stop", String(PORT), dir], { stdio: "inherit" });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
