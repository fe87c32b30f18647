// The npm package celery-node's worker, the existing Node peer, used only by the benchmark.
const celery = require("celery-node");

const worker = celery.createWorker(process.env.BENCH_BROKER, process.env.BENCH_BACKEND, "celery");
worker.register("tasks.add", (x, y) => x + y);
worker.isReady().then(() => console.log("celery-node ready."));
worker.start();
