// N sequential delay -> get round trips from a celeriac client; prints {"n", "p50_ms", "p99_ms"}.
// The first 5 warm up and are not counted.
const { Celery } = require("../dist");
const { percentiles } = require("./lib/stats");

async function main() {
  const n = Number(process.argv[2] || 500);
  const app = new Celery("bench-client", { broker: process.env.BENCH_BROKER, backend: process.env.BENCH_BACKEND });
  const times = [];
  for (let i = 0; i < n + 5; i++) {
    const t0 = process.hrtime.bigint();
    const r = await app.sendTask("tasks.add", [i, i]);
    await r.get({ timeout: 30000 });
    if (i >= 5) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  console.log(JSON.stringify({ n, ...percentiles(times) }));
  await app.close();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
