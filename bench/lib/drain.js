// One drain of a Celery-protocol worker (Python Celery, celeriac, celery-node): `n` messages are queued,
// the worker drains them, and the row says how fast, with how much CPU and memory.
//   Redis:    staged in a side list while the worker starts and takes one warm-up message, then RENAMEd
//             onto its queue: timed from the rename until the last result is stored (or, ignore_result,
//             until the queue and `unacked` are empty).
//   RabbitMQ: no RENAME, so queued before the worker starts and timed from its first result (or first
//             delivery, ignore_result) to the last. AMQP cannot tell a client how many messages are
//             delivered but unacked, so an ignore_result drain ends once no message is ready and the
//             worker then used no CPU for 200 ms, at the last moment it did (a worker without a prefetch
//             bound, celery-node, has every message pushed to it long before it has run them).
// stage(queue, n) puts the messages on `queue`. Options: during() runs after the drain while the worker
// still runs (round trips), its fields join the row; skip (with results only) starts the clock once that
// many tasks are done, so a warming-up worker (JIT, heap growth) weighs the same on drains of any length;
// splitAt (with results only) also times the drain up to that many tasks done (row.split); idleMs (Redis)
// lets the ready worker idle that long before its idle RSS is read (readyRss).
const { STAGING } = require("./config");
const { sleep, waitUntil, rssOfTree, lastBusy, Meter, stopChild, spawnWorker } = require("./proc");

/**
 * @typedef {object} DrainRow
 * @property {string} label
 * @property {boolean} ignoreResult
 * @property {number} n
 * @property {number} tasksPerSec
 * @property {number} seconds
 * @property {number | null} startRss MB, 300 ms after it was ready (one warm-up task done), before the drain
 * @property {number | null} idleRss MB, ready and idle for `idleMs` (Redis with results only), else null
 * @property {number} peakRss MB
 * @property {number} cpuMsPerTask the worker's process tree, utime + stime over the timed drain / tasks
 * @property {number | null} serverCpuMsPerTask Redis (+ RabbitMQ) over the same window / tasks
 */

/** @returns {DrainRow} */
function rowOf(worker, ignoreResult, tasks, rss, m) {
  return {
    label: worker.label,
    baselineOf: worker.baselineOf,
    ignoreResult,
    n: tasks,
    tasksPerSec: tasks / m.seconds,
    seconds: m.seconds,
    startRss: rss.start,
    idleRss: rss.idle,
    peakRss: Math.max(rss.start || 0, rss.idle || 0, m.peakRss),
    cpuMsPerTask: m.cpuMs / tasks,
    serverCpuMsPerTask: m.serverCpuMs === null ? null : m.serverCpuMs / tasks,
  };
}

/**
 * A check that `n` results are stored, which also notes when `splitAt` were; split(meter, skip) then
 * gives { tasks, seconds, tasksPerSec } of the drain up to there (null without splitAt).
 */
function resultsStored(backend, n, splitAt) {
  let at = null;
  return {
    done: async () => {
      const stored = await backend.dbsize();
      if (splitAt && at === null && stored >= splitAt) at = process.hrtime.bigint();
      return stored >= n;
    },
    split: (meter, skip) => {
      if (at === null) return null;
      const seconds = Number(at - meter.t0) / 1e9;
      return { tasks: splitAt - skip, seconds, tasksPerSec: (splitAt - skip) / seconds };
    },
  };
}

/**
 * RSS of a worker that just became ready: 300 ms later (`start`), and, with `idleMs`, that long after
 * it was ready (`idle`): V8 gives back the garbage of startup (module loading) only after some
 * seconds without work (its memory reducer), so a worker's idle footprint is read once it has
 * idled, as it does between bursts; every worker, celeriac or peer, is read the same way.
 */
async function readyRss(pid, idleMs) {
  await sleep(300);
  const start = rssOfTree(pid);
  if (!idleMs) return { start, idle: null };
  await sleep(Math.max(0, idleMs - 300));
  return { start, idle: rssOfTree(pid) };
}

/** Drain through a Redis broker; `ctx`: { broker, backend (ioredis), env, serverPids }. */
async function redisDrain(worker, ignoreResult, n, stage, ctx, { during, skip = 0, splitAt = 0, idleMs = 0 } = {}) {
  const { broker, backend } = ctx;
  await broker.flushall();
  await stage(STAGING, n);
  const staged = await broker.llen(STAGING);
  if (staged !== n) throw new Error(`expected ${n} staged messages, found ${staged}`);
  const w = spawnWorker(worker, ctx.env);
  try {
    // Ready = it consumed one warm-up message (a copy of a staged one: same id, same result key).
    await broker.lpush("celery", await broker.lindex(STAGING, 0));
    const empty = async () => (await broker.llen("celery")) === 0 && (await broker.hlen("unacked")) === 0;
    await waitUntil(empty, 60000, `${worker.label} ready\n${w.stderr}`);
    const rss = await readyRss(w.child.pid, idleMs);
    const meter = new Meter(w.child.pid, ctx.serverPids);
    if (!skip) meter.start();
    await broker.rename(STAGING, "celery");
    if (skip) {
      // The warm-up's result is there already (its original, staged, later overwrites it).
      await waitUntil(async () => (await backend.dbsize()) >= skip + 1, 600000, `${worker.label} first ${skip}\n${w.stderr}`);
      meter.start();
    }
    const stored = resultsStored(backend, n, splitAt);
    await waitUntil(ignoreResult ? empty : stored.done, 1800000, `${worker.label} drain\n${w.stderr}`);
    const r = rowOf(worker, ignoreResult, n - skip, rss, meter.stop());
    return { ...r, split: stored.split(meter, skip), ...(during ? await during() : {}) };
  } finally {
    await stopChild(w.child);
  }
}

/** Drain through RabbitMQ (results in Redis); `ctx`: { amqpUrl, backend, env, serverPids }. */
async function amqpDrain(worker, ignoreResult, n, stage, ctx, { during, skip = 0, splitAt = 0 } = {}) {
  const amqplib = require("amqplib");
  const { backend } = ctx;
  await backend.flushdb();
  const conn = await amqplib.connect(ctx.amqpUrl);
  try {
    const ch = await conn.createChannel();
    await ch.assertQueue("celery", { durable: true });
    await ch.purgeQueue("celery");
    await stage("celery", n);
    const ready = async () => (await ch.checkQueue("celery")).messageCount;
    const queued = await ready();
    if (queued !== n) throw new Error(`expected ${n} queued messages, found ${queued}`);
    const w = spawnWorker(worker, ctx.env);
    try {
      // The clock starts at the first task done (or skip), which is not counted.
      const counted = ignoreResult ? n - 1 : n - Math.max(1, skip);
      const first = ignoreResult ? async () => (await ready()) < n : async () => (await backend.dbsize()) >= n - counted;
      await waitUntil(first, 60000, `${worker.label} first task\n${w.stderr}`);
      const meter = new Meter(w.child.pid, ctx.serverPids).start();
      const stored = resultsStored(backend, n, splitAt);
      await waitUntil(ignoreResult ? async () => (await ready()) === 0 : stored.done, 1800000, `${worker.label} drain\n${w.stderr}`);
      const end = ignoreResult ? await lastBusy(w.child.pid) : undefined;
      const r = rowOf(worker, ignoreResult, counted, { start: null, idle: null }, meter.stop(end));
      return { ...r, split: stored.split(meter, n - counted), ...(during ? await during() : {}) };
    } finally {
      await stopChild(w.child);
    }
  } finally {
    await conn.close().catch(() => undefined);
  }
}

module.exports = { redisDrain, amqpDrain, rowOf, readyRss };
