// The npm package celery-node's worker, the existing Node peer, used only by the benchmark.
const celery = require("celery-node");

const worker = celery.createWorker(process.env.BENCH_BROKER, process.env.BENCH_BACKEND, "celery");
worker.register("tasks.add", (x, y) => x + y);
// A failure to connect or to consume ends the process, as the unhandled rejection did, with its reason on stderr.
const fail = (err) => {
  console.error("celery-node worker failed:", err);
  process.exit(1);
};
worker.isReady().then(() => console.log("celery-node ready."), fail);
worker.start().catch(fail);
