// BullMQ as a peer row (Redis only): the same drain as bench/lib/drain.js's Redis one, through
// BullMQ's own queue. N jobs `add` {x, y} are added with addBulk to the paused queue "bench" before
// the worker (bench/bullmq-worker.js) starts; once it is ready, resume() starts the clock, which stops
// when all N are completed. "with results" keeps completed jobs (removeOnComplete: false, the
// return value stays in the job's hash); "ignore_result" removes them (removeOnComplete: true).
const path = require("node:path");
const { ROOT, RT } = require("./config");
const { rowOf, readyRss } = require("./drain");
const { waitUntil, runJson, Meter, stopChild, spawnWorker } = require("./proc");

const QUEUE = "bench";

/** bench/node_modules' bullmq (npm ci --prefix bench), or a clear error. */
function bullmq() {
  try {
    return require("bullmq");
  } catch (err) {
    throw new Error(`BullMQ is not installed for the bench: run \`npm ci --prefix bench\` (bench/run.sh does it)\n${String(err)}`);
  }
}

/** ioredis options for BullMQ from a redis:// URL. */
function connectionOf(url) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0), maxRetriesPerRequest: null };
}

/** `ctx`: { broker (ioredis), brokerUrl, env, serverPids }. */
async function bullmqDrain(worker, ignoreResult, n, ctx, { idleMs = 0 } = {}) {
  const { Queue } = bullmq();
  await ctx.broker.flushall();
  const queue = new Queue(QUEUE, { connection: connectionOf(ctx.brokerUrl) });
  try {
    await queue.pause();
    const opts = { removeOnComplete: ignoreResult };
    for (let i = 0; i < n; i += 10000) {
      const jobs = Array.from({ length: Math.min(10000, n - i) }, (_, k) => ({ name: "add", data: { x: i + k, y: i + k }, opts }));
      await queue.addBulk(jobs);
    }
    const staged = await queue.count();
    if (staged !== n) throw new Error(`expected ${n} jobs in the paused BullMQ queue, found ${staged}`);
    const w = spawnWorker(worker, ctx.env);
    try {
      await waitUntil(async () => w.stdout.includes("ready"), 60000, `${worker.label} ready\n${w.stderr}`);
      const rss = await readyRss(w.child.pid, idleMs);
      const meter = new Meter(w.child.pid, ctx.serverPids).start();
      await queue.resume();
      const left = async () => (await queue.getJobCountByTypes("wait", "paused", "prioritized", "active")) === 0;
      await waitUntil(ignoreResult ? left : async () => (await queue.getCompletedCount()) >= n, 1800000, `${worker.label} drain\n${w.stderr}`);
      const m = meter.stop();
      const failed = await queue.getFailedCount();
      if (failed) throw new Error(`${failed} BullMQ jobs failed\n${w.stderr}`);
      const rt = ignoreResult ? null : { bullmq: bullmqRoundTrips(ctx.env) };
      return { ...rowOf(worker, ignoreResult, n, rss, m), rt };
    } finally {
      await stopChild(w.child);
    }
  } finally {
    await queue.close();
  }
}

/**
 * add -> waitUntilFinished round trips (bench/bullmq-roundtrip.js), tried twice: once a first job's
 * completion never reached its QueueEvents within 30 s after a drain; a second failure is reported
 * in the row ({ failed }) rather than ending the whole run.
 */
function bullmqRoundTrips(env) {
  const run = () => runJson(process.execPath, [path.join(ROOT, "bench/bullmq-roundtrip.js"), String(RT)], env, ROOT);
  try {
    return run();
  } catch {
    try {
      return run();
    } catch (err) {
      return { failed: String(err.message).split("\n")[0] };
    }
  }
}

module.exports = { bullmq, bullmqDrain, connectionOf, QUEUE };
