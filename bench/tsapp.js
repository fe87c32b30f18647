// celeriac side of the benchmark: `celeriac worker -A bench/tsapp.js`.
// BENCH_CELERIAC_DIST: the built celeriac to load (run.js sets it to the baseline's dist for its rows).
const { Celery } = require(process.env.BENCH_CELERIAC_DIST || "../dist");

const app = new Celery("bench", {
  broker: process.env.BENCH_BROKER,
  backend: process.env.BENCH_BACKEND,
  taskIgnoreResult: process.env.BENCH_IGNORE_RESULT === "1",
});
app.task("tasks.add", /** @param {number} x @param {number} y */ (x, y) => x + y);
// CPU-bound (BENCH_TASK=cpu): a busy loop of `ms` milliseconds.
app.task("tasks.cpu", /** @param {number} ms */ (ms) => {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) n++;
  return n;
});
// I/O-bound (BENCH_TASK=io): waits `ms` milliseconds on a timer, as a call to another service would.
app.task("tasks.io", /** @param {number} ms */ (ms) => new Promise((resolve) => setTimeout(() => resolve(ms), ms)));

module.exports = { app };
