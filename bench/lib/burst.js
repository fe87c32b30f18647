// A burst for the probes of bench/profile: one celeriac client sends many tasks.add at once.

/**
 * A script (for `node -e`) that sends `n` tasks.add in one `sendTasks` to BENCH_BROKER and waits
 * for the last result in BENCH_BACKEND; it loads BENCH_CELERIAC_DIST, else `dist` (a path).
 */
function burstScript(n, dist) {
  return `
const { Celery } = require(process.env.BENCH_CELERIAC_DIST || ${JSON.stringify(dist)});
(async () => {
  const app = new Celery("burst", { broker: process.env.BENCH_BROKER, backend: process.env.BENCH_BACKEND });
  const rs = await app.sendTasks(Array.from({ length: ${n} }, (_, i) => ({ name: "tasks.add", args: [i, 1] })));
  await rs[rs.length - 1].get({ timeout: 120000 });
  await app.close();
})().catch((e) => { console.error(e); process.exit(1); });`;
}

module.exports = { burstScript };
