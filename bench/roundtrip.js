// Round trips on Redis, side by side: each selected worker in turn (BENCH_REPEAT rounds, the workers
// alternating within each round), delay -> get from a celeriac and a Python client against it; prints
// every measurement and the median p50/p99 per worker and client. Results in Redis.
//   node bench/roundtrip.js                       (after npm run build; benches use dist/)
//   BENCH_RT=500            round trips per client and worker per round
//   BENCH_REPEAT=3          rounds
//   BENCH_WORKERS=celeriac -c 16,celery-node      label prefixes of bench/lib/workers.js (the default)
//   BENCH_CLIENTS=ts,py     which clients (default both)
//   BENCH_BASELINE=<dir>    also the celeriac rows of another built checkout
//   BENCH_REDIS_PORT        the bench's own Redis (default 16391)
if (!process.env.BENCH_WORKERS) process.env.BENCH_WORKERS = "celeriac -c 16,celery-node"; // before ./lib/config reads it
const path = require("node:path");
const { ROOT, PY, RT, BROKER_URLS, BACKEND } = require("./lib/config");
const { runJson, waitUntil, stopChild, spawnWorker } = require("./lib/proc");
const { withServers } = require("./lib/servers");
const { selectedWorkers } = require("./lib/workers");

const REPEAT = Number(process.env.BENCH_REPEAT || 3);
const CLIENTS = (process.env.BENCH_CLIENTS || "ts,py").split(",");

const clientCmd = {
  ts: () => [process.execPath, [path.join(ROOT, "bench/roundtrip-celeriac.js"), String(RT)], ROOT],
  py: () => [PY, [path.join(ROOT, "bench/py/roundtrip.py"), String(RT)], path.join(ROOT, "bench/py")],
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main() {
  const workers = selectedWorkers();
  const env = { BENCH_BROKER: BROKER_URLS.redis, BENCH_BACKEND: BACKEND, BENCH_IGNORE_RESULT: "0" };
  const figures = new Map(); // "<worker> | <client>" -> [{ p50_ms, p99_ms }]
  await withServers(["redis"], async ({ broker }) => {
    for (let round = 0; round < REPEAT; round++) {
      for (const w of workers) {
        await broker.flushall();
        const child = spawnWorker(w, env);
        try {
          // Ready: a first round trip of the celeriac client went through.
          await waitUntil(async () => {
            try {
              runJson(process.execPath, [path.join(ROOT, "bench/roundtrip-celeriac.js"), "1"], env, ROOT);
              return true;
            } catch {
              return false;
            }
          }, 60000, `${w.label} ready\n${child.stderr}`);
          for (const c of CLIENTS) {
            const [cmd, args, cwd] = clientCmd[c]();
            const r = runJson(cmd, args, env, cwd);
            const key = `${w.label} | ${c} client`;
            if (!figures.has(key)) figures.set(key, []);
            figures.get(key).push(r);
            console.log(`round ${round + 1}  ${key.padEnd(48)} p50 ${r.p50_ms.toFixed(3)} ms  p99 ${r.p99_ms.toFixed(3)} ms`);
          }
        } finally {
          await stopChild(child.child);
        }
      }
    }
  });
  console.log(`\nmedians of ${REPEAT} rounds × ${RT} round trips:`);
  for (const [key, rs] of figures) {
    console.log(`${key.padEnd(48)} p50 ${median(rs.map((r) => r.p50_ms)).toFixed(3)} ms  p99 ${median(rs.map((r) => r.p99_ms)).toFixed(3)} ms`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
