// N sequential delay -> get round trips from a celeriac client; prints {"p50_ms", "p99_ms"}.
const { Celery } = require("../dist");

async function main() {
  const n = Number(process.argv[2] || 500);
  const app = new Celery("bench-client", { broker: process.env.BENCH_BROKER, backend: process.env.BENCH_BACKEND });
  const times = [];
  await (await app.sendTask("tasks.add", [0, 0])).get({ timeout: 30000 }); // warm-up
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = await app.sendTask("tasks.add", [i, i]);
    await r.get({ timeout: 30000 });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  console.log(JSON.stringify({ n, p50_ms: q(0.5), p99_ms: q(0.99) }));
  await app.close();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
