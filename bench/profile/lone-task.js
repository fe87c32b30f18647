// Where a lone task's time goes in the worker (Redis, results in Redis): for each given dist in turn,
// `celeriac worker -P eventloop -c 16` runs with the lone-task-marks.js preload while
// bench/roundtrip-celeriac.js makes LONE_N sequential delay -> get round trips; prints the round
// trip p50 and the median µs from the envelope's arrival to each mark (see lone-task-marks.js).
//   node bench/profile/lone-task.js [dist ...]     (default: this checkout's dist; npm run build first)
//   LONE_N=1500  LONE_REPEAT=2  BENCH_REDIS_PORT=16391 (the bench's private Redis, started here)
const { spawn, execFileSync } = require("node:child_process");
const path = require("node:path");
const { ROOT, BROKER_URLS, BACKEND } = require("../lib/config");
const { withServers } = require("../lib/servers");
const { sleep, stopChild } = require("../lib/proc");

const N = Number(process.env.LONE_N || 1500);
const REPEAT = Number(process.env.LONE_REPEAT || 2);
const dists = (process.argv.slice(2).length ? process.argv.slice(2) : [path.join(ROOT, "dist")]).map((d) => path.resolve(d));

async function once(dist) {
  const env = { ...process.env, BENCH_BROKER: BROKER_URLS.redis, BENCH_BACKEND: BACKEND, BENCH_CELERIAC_DIST: dist, LONE_DIST: dist };
  const args = ["--require", path.join(__dirname, "lone-task-marks.js"), path.join(dist, "cli/main.js"), "worker", "-A", "bench/tsapp.js", "-P", "eventloop", "-c", "16", "-l", "warning"];
  const worker = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  worker.stderr.on("data", (d) => (stderr += d));
  await sleep(2000);
  const rt = execFileSync(process.execPath, [path.join(ROOT, "bench/roundtrip-celeriac.js"), String(N)], { cwd: ROOT, env, encoding: "utf8" }).trim();
  await sleep(2500); // one more MARKS line
  await stopChild(worker);
  const marks = stderr.split("\n").filter((l) => l.startsWith("MARKS ")).pop() ?? "MARKS (none)";
  console.log(`${path.relative(ROOT, dist) || dist}  ${rt}\n  ${marks.slice(6).split(" ").join("\n  ")}`);
}

withServers(["redis"], async () => {
  for (let r = 0; r < REPEAT; r++) for (const dist of dists) await once(dist);
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
