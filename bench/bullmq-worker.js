// BullMQ's worker, the bench's Redis peer (bench/lib/bullmq.js): queue "bench" on BENCH_BROKER, job
// function x + y, concurrency BENCH_CONCURRENCY (default 50); whether a completed job is kept is its own
// option (removeOnComplete, set when added). Prints "ready" once connected; SIGTERM closes it.
const { Worker } = require("bullmq");
const { connectionOf, QUEUE } = require("./lib/bullmq");

const worker = new Worker(QUEUE, async (job) => job.data.x + job.data.y, {
  connection: connectionOf(process.env.BENCH_BROKER),
  concurrency: Number(process.env.BENCH_CONCURRENCY || 50),
});
worker.on("error", (err) => console.error("BullMQ worker error:", err));
worker.waitUntilReady().then(
  () => console.log("ready"),
  (err) => {
    console.error("BullMQ worker failed:", err);
    process.exit(1);
  },
);
process.on("SIGTERM", () => {
  worker.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
