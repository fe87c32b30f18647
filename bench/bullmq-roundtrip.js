// N sequential add -> waitUntilFinished round trips through BullMQ (queue "bench" on BENCH_BROKER, a
// BullMQ worker running); prints {"n", "p50_ms", "p99_ms"}. The first 5 warm up and are not counted.
const { Queue, QueueEvents } = require("bullmq");
const { connectionOf, QUEUE } = require("./lib/bullmq");
const { percentiles } = require("./lib/stats");

async function main() {
  const n = Number(process.argv[2] || 500);
  const connection = connectionOf(process.env.BENCH_BROKER);
  const queue = new Queue(QUEUE, { connection });
  const events = new QueueEvents(QUEUE, { connection });
  await events.waitUntilReady();
  const times = [];
  for (let i = 0; i < n + 5; i++) {
    const t0 = process.hrtime.bigint();
    const job = await queue.add("add", { x: i, y: i }, { removeOnComplete: false });
    await job.waitUntilFinished(events, 30000);
    if (i >= 5) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  console.log(JSON.stringify({ n, ...percentiles(times) }));
  await Promise.all([queue.close(), events.close()]);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
