// Idle RSS of `celeriac worker -A bench/tsapp.js -P eventloop -c 16` on Redis, measured as
// bench/lib/drain.js does: ready once it ran one warm-up task (a copy of a message Python Celery
// sent), then VmRSS of the process tree 300 ms later.
//   node bench/profile/idle-rss.js [dist ...]     (default: this checkout's dist; dists alternate)
//   IDLE_REPEAT=3            runs per dist
//   IDLE_LATER_MS=10000      also read the RSS that long after (V8's memory reducer runs ~8 s idle)
//   IDLE_NODE_ARGS="..."     extra node flags for the worker (diagnostics: --max-semi-space-size=1)
//   BENCH_REDIS_PORT         the private Redis (started here unless one answers there)
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const Redis = require("ioredis");
const { ROOT, REDIS_PORT } = require("../lib/config");
const { redisCloner } = require("../lib/fill");
const { sleep, waitUntil, rssOfTree, stopChild, spawnWorker } = require("../lib/proc");

const REPEAT = Number(process.env.IDLE_REPEAT || 3);
const LATER = Number(process.env.IDLE_LATER_MS || 0);
const NODE_ARGS = (process.env.IDLE_NODE_ARGS || "").split(" ").filter(Boolean);
const dists = (process.argv.length > 2 ? process.argv.slice(2) : [path.join(ROOT, "dist")]).map((d) => path.resolve(d));
const BROKER = `redis://127.0.0.1:${REDIS_PORT}/0`;

async function main() {
  execFileSync("bash", [path.join(ROOT, "scripts/private-redis.sh"), "start", String(REDIS_PORT), path.join(ROOT, ".tmp", `redis-bench-${REDIS_PORT}`)], { stdio: "ignore" });
  const broker = new Redis(BROKER);
  try {
    await broker.del("celery", "idle-rss-staging");
    const stage = await redisCloner(broker, BROKER);
    for (let r = 0; r < REPEAT; r++) {
      for (const dist of dists) {
        await broker.del("celery", "unacked", "unacked_index");
        const worker = { cmd: process.execPath, args: [...NODE_ARGS, path.join(dist, "cli/main.js"), "worker", "-A", "bench/tsapp.js", "-P", "eventloop", "-c", "16", "-l", "warning"], cwd: ROOT };
        const w = spawnWorker(worker, { BENCH_CELERIAC_DIST: dist, BENCH_BROKER: BROKER, BENCH_BACKEND: `redis://127.0.0.1:${REDIS_PORT}/1` });
        try {
          await stage("celery", 1);
          const empty = async () => (await broker.llen("celery")) === 0 && (await broker.hlen("unacked")) === 0;
          await waitUntil(empty, 60000, `worker ready\n${w.stderr}`);
          await sleep(300);
          const rss = rssOfTree(w.child.pid);
          let later = "";
          if (LATER) {
            await sleep(LATER);
            later = `, ${rssOfTree(w.child.pid).toFixed(1)} MB after ${LATER} ms more`;
          }
          console.log(`${path.relative(process.cwd(), dist) || dist}: ${rss.toFixed(1)} MB${later}`);
        } finally {
          await stopChild(w.child);
        }
      }
    }
  } finally {
    broker.disconnect();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
