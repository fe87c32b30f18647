// The Redis transport alone, without the worker: how much of what it allocates per message
// outlives the young generation (V8 copies it once, then promotes it to old space).
//   node bench/profile/redis-consume-only.js [dist ...]
// For each built dist (default: this checkout's dist), alternating PROF_REPEAT times (default 2), a
// child process consumes PROF_N (default 20000) staged tasks.add envelopes through that dist's
// RedisTransport, a window of PROF_WINDOW (default 64) deliveries, each acked on the next
// macrotask as a worker would after running it. It prints messages/s, the child's CPU per message,
// and from `--trace-gc-nvp` the share of the bytes allocated between scavenges that survived one
// (copied) and that were promoted, over the last 15 scavenges.
//   BENCH_REDIS_PORT=16391  where the private Redis runs (started and stopped here, unless one
//                           answers there already); the envelopes are staged once by
//                           bench/py/enqueue.py (bench/lib/staging.js, as drain.js does)
const { spawn, execFileSync } = require("node:child_process");
const path = require("node:path");
const Redis = require("ioredis");
const { gcSurvival, survivalText } = require("../lib/gc-survival");
const { stage, stagingKey } = require("../lib/staging");

const ROOT = path.resolve(__dirname, "../..");
const N = Number(process.env.PROF_N || 20000);
const WINDOW = Number(process.env.PROF_WINDOW || 64);
const REPEAT = Number(process.env.PROF_REPEAT || 2);
const PORT = Number(process.env.BENCH_REDIS_PORT || 16391);
const STAGING = stagingKey(N);

/** The child: consume the staged envelopes once through `dist`'s transport; print one JSON line. */
async function child(dist) {
  const { RedisTransport } = require(path.join(dist, "transport/redis"));
  const redis = new Redis({ port: PORT });
  await redis.del("celery", "unacked", "unacked_index");
  const transport = new RedisTransport(`redis://127.0.0.1:${PORT}/0`);
  let inflight = 0;
  let done = 0;
  let consumer = null;
  let finished;
  const over = new Promise((r) => (finished = r));
  const settle = (d) =>
    d.ack().then(() => {
      inflight--;
      consumer.poke();
      if (++done === N) finished();
    });
  consumer = await transport.consume({
    queues: ["celery"],
    hasCapacity: () => inflight < WINDOW,
    capacity: () => WINDOW - inflight,
    onDelivery(d) {
      inflight++;
      setImmediate(settle, d);
    },
  });
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await redis.copy(STAGING, "celery");
  await over;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  console.log(JSON.stringify({ perSec: N / seconds, cpuUs: (cpu.user + cpu.system) / N }));
  await consumer.cancel();
  await transport.close();
  redis.disconnect();
}

function runChild(dist) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--trace-gc-nvp", __filename, "--child", dist], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("exit", (code) => {
      const lines = out.split("\n");
      const result = lines.find((l) => l.startsWith("{"));
      if (code !== 0 || !result) return reject(new Error(`child for ${dist} exited ${code}`));
      resolve({ ...JSON.parse(result), gc: gcSurvival(lines) });
    });
  });
}

async function main() {
  const dists = (process.argv.slice(2).length ? process.argv.slice(2) : [path.join(ROOT, "dist")]).map((d) => path.resolve(d));
  const dir = path.join(ROOT, ".tmp", `redis-profile-${PORT}`);
  const started = execFileSync("bash", [path.join(ROOT, "scripts/private-redis.sh"), "start", String(PORT), dir], { encoding: "utf8" }).trim() === "started";
  const redis = new Redis({ port: PORT });
  try {
    await stage(redis, PORT, N);
    console.log(`RedisTransport alone: ${N} tasks.add envelopes, window ${WINDOW}, acked on the next macrotask; node ${process.version}`);
    for (let i = 0; i < REPEAT; i++) {
      for (const dist of dists) {
        const r = await runChild(dist);
        console.log(`${dist}  ${Math.round(r.perSec)} msgs/s  CPU ${r.cpuUs.toFixed(1)} µs/msg  of the allocation: ${survivalText(r.gc)}`);
      }
    }
  } finally {
    redis.disconnect();
    if (started) execFileSync("bash", [path.join(ROOT, "scripts/private-redis.sh"), "stop", String(PORT), dir], { stdio: "inherit" });
  }
}

if (process.argv[2] === "--child") child(process.argv[3]).catch((err) => (console.error(err), process.exit(1)));
else main().catch((err) => (console.error(err), process.exit(1)));
