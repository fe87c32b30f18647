// celeriac side of the benchmark: `celeriac worker -A bench/tsapp.js`.
const { Celery } = require("../dist");

const app = new Celery("bench", {
  broker: process.env.BENCH_BROKER,
  backend: process.env.BENCH_BACKEND,
  taskIgnoreResult: process.env.BENCH_IGNORE_RESULT === "1",
});
app.task("tasks.add", /** @param {number} x @param {number} y */ (x, y) => x + y);

module.exports = { app };
