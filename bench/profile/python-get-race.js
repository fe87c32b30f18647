// Does the worker store a lone task's result before Python Celery's client asks for it? For each
// worker in turn (BENCH_WORKERS labels of bench/lib/workers.js, default "celeriac -c 16,celery-node";
// "label@<dist>" runs a celeriac row on another build), 1,000 warm-up round trips from the celeriac
// client, then bench/py/roundtrip_probe.py: its p50, how many of its gets found the result in the
// GET Celery's Redis backend sends first, and the gap from its LPUSH to that GET. A result stored
// later makes the client wait for the PUBLISH: ~0.4 ms more on this machine (bench/NOTES.md).
//   BENCH_REDIS_PORT=16391 PROBE_N=600 PROBE_REPEAT=2 node bench/profile/python-get-race.js
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { ROOT, BROKER_URLS, BACKEND, PY } = require("../lib/config");
const { withServers } = require("../lib/servers");
const { sleep, stopChild, spawnWorker } = require("../lib/proc");
const { WORKERS } = require("../lib/workers");

const N = Number(process.env.PROBE_N || 600);
const REPEAT = Number(process.env.PROBE_REPEAT || 2);
const labels = (process.env.BENCH_WORKERS || "celeriac -c 16,celery-node").split(",");

withServers(["redis"], async () => {
  for (let r = 0; r < REPEAT; r++) {
    for (const label of labels) {
      const [name, dist] = label.split("@");
      const base = WORKERS.find((w) => w.label === name);
      if (!base) throw new Error(`no worker labelled ${name}`);
      const worker = dist ? { ...base, args: base.args.map((a) => a.replace(path.join(ROOT, "dist"), path.resolve(dist))) } : base;
      const env = { BENCH_BROKER: BROKER_URLS.redis, BENCH_BACKEND: BACKEND, ...(dist ? { BENCH_CELERIAC_DIST: path.resolve(dist) } : {}) };
      const { child } = spawnWorker(worker, env);
      try {
        await sleep(2500);
        execFileSync(process.execPath, [path.join(ROOT, "bench/roundtrip-celeriac.js"), "1000"], { cwd: ROOT, env: { ...process.env, ...env } });
        const out = execFileSync(PY, ["roundtrip_probe.py", String(N)], { cwd: path.join(ROOT, "bench/py"), env: { ...process.env, ...env }, encoding: "utf8" });
        console.log(`${label.padEnd(20)} ${out.trim()}`);
      } finally {
        await stopChild(child);
      }
    }
  }
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
