// Does the worker store a lone task's result before Python Celery's client asks for it? For each
// worker in turn (BENCH_WORKERS labels of bench/lib/workers.js, default "celeriac -c 16,celery-node";
// "label@<dist>" runs a celeriac row on another build): a warm-up, then bench/py/roundtrip_probe.py:
// its p50, how many of its gets found the result in the GET Celery's Redis backend sends first
// (and the p50 of those round trips, and of the others), and where the time went, per round trip
// (p10/p50/p90 µs, on one clock: the worker runs with bench/profile/result-write-marks.js):
//   wake         the client's LPUSH sent → the worker's socket data carrying the message
//   to write     that data → the worker's write of the result
//   to GET       the client's LPUSH sent → its GET sent
// and the worker's CPU per round trip, its main thread and V8's helper threads (compiler, GC).
// A result stored after the GET makes the client wait for the PUBLISH: ~0.4 ms more on this
// machine (bench/NOTES.md).
// The warm-up: PROBE_WARM round trips from the celeriac client (default 1,000); with PROBE_BURST
// (say 10000) first 20 round trips, then that many tasks sent at once and drained, then PROBE_WARM
// (default 0): `npm run bench` measures its round trips right after a drain.
//   BENCH_REDIS_PORT=16391 PROBE_N=600 PROBE_REPEAT=2 [PROBE_BURST=10000] node bench/profile/python-get-race.js
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { ROOT, BROKER_URLS, BACKEND, PY } = require("../lib/config");
const { withServers } = require("../lib/servers");
const { sleep, stopChild, spawnWorker } = require("../lib/proc");
const { WORKERS } = require("../lib/workers");
const { burstScript } = require("../lib/burst");

const N = Number(process.env.PROBE_N || 600);
const REPEAT = Number(process.env.PROBE_REPEAT || 2);
const BURST = Number(process.env.PROBE_BURST || 0);
const WARM = Number(process.env.PROBE_WARM || (BURST ? 0 : 1000));
const labels = (process.env.BENCH_WORKERS || "celeriac -c 16,celery-node").split(",");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "celeriac-race-"));
const MARKS_OUT = path.join(tmp, "marks.json");
const ROWS_OUT = path.join(tmp, "rows.json");

/** utime + stime (clock ticks) of a process's main thread and of all its threads. */
function threadTicks(pid) {
  const ticks = (tid) => {
    const f = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1].split(" ");
    return Number(f[11]) + Number(f[12]);
  };
  let all = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) all += ticks(tid);
  return { main: ticks(pid), all };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.round((p / 100) * (s.length - 1)))]) : NaN;
};
const spread = (xs) => `${pct(xs, 10)}/${pct(xs, 50)}/${pct(xs, 90)}`;

/** The probe's rows joined with the worker's marks (the last N tasks it wrote a result for are the probe's). */
function hops(rows, marks) {
  const tasks = marks.tasks.slice(-rows.length);
  const wake = [];
  const toWrite = [];
  const toGet = [];
  const won = [];
  const lost = [];
  rows.forEach(([lpush, get, ms, found], i) => {
    (found ? won : lost).push(ms * 1000);
    if (get) toGet.push(get - lpush);
    if (!tasks[i]) return;
    const [data, write] = tasks[i];
    wake.push(data - lpush);
    toWrite.push(write - data);
  });
  return { wake, toWrite, toGet, won, lost };
}

withServers(["redis"], async ({ broker }) => {
  const tick = 1e6 / 100; // µs per clock tick (USER_HZ)
  for (let r = 0; r < REPEAT; r++) {
    for (const label of labels) {
      const [name, dist] = label.split("@");
      const base = WORKERS.find((w) => w.label === name);
      if (!base) throw new Error(`no worker labelled ${name}`);
      const args = dist ? base.args.map((a) => a.replace(path.join(ROOT, "dist"), path.resolve(dist))) : base.args;
      const worker = { ...base, args: ["--require", path.join(__dirname, "result-write-marks.js"), ...args] };
      const distDir = dist ? path.resolve(dist) : path.join(ROOT, "dist");
      const env = { BENCH_BROKER: BROKER_URLS.redis, BENCH_BACKEND: BACKEND, BENCH_IGNORE_RESULT: "0", MARKS_OUT, PROBE_ROWS: ROWS_OUT, ...(dist ? { BENCH_CELERIAC_DIST: distDir } : {}) };
      const runEnv = { ...process.env, ...env };
      await broker.flushall();
      const { child } = spawnWorker(worker, env);
      try {
        await sleep(2500);
        const roundTrips = (n) => execFileSync(process.execPath, [path.join(ROOT, "bench/roundtrip-celeriac.js"), String(n)], { cwd: ROOT, env: runEnv });
        if (BURST) {
          roundTrips(20);
          execFileSync(process.execPath, ["-e", burstScript(BURST, distDir)], { cwd: ROOT, env: runEnv });
        }
        if (WARM) roundTrips(WARM);
        await sleep(200);
        child.kill("SIGUSR2");
        await sleep(50);
        const t0 = threadTicks(child.pid);
        const out = execFileSync(PY, ["roundtrip_probe.py", String(N)], { cwd: path.join(ROOT, "bench/py"), env: runEnv, encoding: "utf8" });
        const t1 = threadTicks(child.pid);
        child.kill("SIGUSR1");
        await sleep(300);
        const p = JSON.parse(out);
        const h = hops(JSON.parse(fs.readFileSync(ROWS_OUT, "utf8")), JSON.parse(fs.readFileSync(MARKS_OUT, "utf8")));
        const main = ((t1.main - t0.main) * tick) / N;
        const helpers = ((t1.all - t1.main - (t0.all - t0.main)) * tick) / N;
        console.log(
          `${label.padEnd(20)} p50 ${p.p50_ms.toFixed(3)} ms; result there at the GET ${p.ready_at_get}/${N} (p50 ${(pct(h.won, 50) / 1000).toFixed(3)} ms, others ${(pct(h.lost, 50) / 1000).toFixed(3)} ms)` +
            `; wake ${spread(h.wake)}, to write ${spread(h.toWrite)}, to GET ${spread(h.toGet)} µs; worker CPU per round trip main ${main.toFixed(0)}, helpers ${helpers.toFixed(0)} µs`,
        );
      } finally {
        await stopChild(child);
      }
    }
  }
})
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => fs.rmSync(tmp, { recursive: true, force: true }));
