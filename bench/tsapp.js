// celeriac side of the benchmark: `celeriac worker -A bench/tsapp.js`.
const { Celery } = require("../dist");

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

module.exports = { app };
