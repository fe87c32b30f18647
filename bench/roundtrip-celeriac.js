// N sequential delay -> get round trips from a celeriac client; prints {"n", "p50_ms", "p99_ms",
// "client_cpu_us"} (this process's CPU per round trip).
// The first 5 warm up and are not counted. BENCH_CELERIAC_DIST: the built celeriac to load.
const path = require("node:path");
const { Celery } = require(process.env.BENCH_CELERIAC_DIST || path.join(__dirname, "../dist"));
const { percentiles } = require("./lib/stats");

async function main() {
  const n = Number(process.argv[2] || 500);
  const app = new Celery("bench-client", { broker: process.env.BENCH_BROKER, backend: process.env.BENCH_BACKEND });
  const times = [];
  let cpu0 = null;
  for (let i = 0; i < n + 5; i++) {
    if (i === 5) cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const r = await app.sendTask("tasks.add", [i, i]);
    await r.get({ timeout: 30000 });
    if (i >= 5) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ n, ...percentiles(times), client_cpu_us: Math.round((cpu.user + cpu.system) / n) }));
  await app.close();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
