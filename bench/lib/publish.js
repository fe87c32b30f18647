// The publish section of bench/run.js: how fast one Node client puts N tasks on the broker, nothing
// consuming. celeriac (Redis and RabbitMQ, publisher confirms on): sendTask awaited one by one, N
// sendTask then await all, and the batched form (n/a until the client has one); BullMQ (Redis): add
// awaited one by one, N add then await all, addBulk. Each row runs in its own process
// (bench/publish-client.js); the queue is counted after it (N + 1 warm-up) and emptied.
const path = require("node:path");
const { ROOT, N, BASELINE, BROKER_URLS, BACKEND } = require("./config");
const { runJson } = require("./proc");
const { bullmq, connectionOf, QUEUE } = require("./bullmq");

const VARIANTS = [
  { variant: "celeriac:loop", label: "celeriac sendTask, await each" },
  { variant: "celeriac:all", label: "celeriac sendTask x N, then await all" },
  { variant: "celeriac:batch", label: "celeriac sendTasks (one call)" },
  { variant: "bullmq:loop", label: "BullMQ add, await each", peer: true },
  { variant: "bullmq:all", label: "BullMQ add x N, then await all", peer: true },
  { variant: "bullmq:bulk", label: "BullMQ addBulk (one call)", peer: true },
];

/** How many messages wait on the queue a variant published to. */
async function queued(kind, peer, redis) {
  if (peer) {
    const { Queue } = bullmq();
    const q = new Queue(QUEUE, { connection: connectionOf(BROKER_URLS.redis) });
    const count = await q.count();
    await q.close();
    return count;
  }
  if (kind === "redis") return redis.llen("celery");
  return emptyAmqpQueue();
}

/** Empties RabbitMQ's "celery" queue; returns how many messages it had ready. */
async function emptyAmqpQueue() {
  const conn = await require("amqplib").connect(BROKER_URLS.amqp);
  try {
    const ch = await conn.createChannel();
    const { messageCount } = await ch.assertQueue("celery", { durable: true });
    await ch.purgeQueue("celery");
    return messageCount;
  } finally {
    await conn.close();
  }
}

/** Runs every variant on `kind`'s broker; `redis` is an ioredis client of the private Redis (flushed). */
async function publishRows(kind, redis) {
  const rows = [];
  const env = { BENCH_BROKER: BROKER_URLS[kind], BENCH_BACKEND: BACKEND };
  const variants = VARIANTS.filter((v) => kind === "redis" || !v.peer).flatMap((v) =>
    BASELINE && !v.peer ? [v, { ...v, label: `${v.label} (baseline)`, baselineOf: v.label, env: { BENCH_CELERIAC_DIST: path.join(BASELINE, "dist") } }] : [v],
  );
  for (const v of variants) {
    await redis.flushall();
    if (kind === "amqp") await emptyAmqpQueue();
    const out = runJson(process.execPath, [path.join(ROOT, "bench/publish-client.js"), v.variant, String(N)], { ...env, ...v.env }, ROOT);
    const count = await queued(kind, v.peer, redis);
    if (!out.na && count !== N + 1) throw new Error(`${v.label} on ${kind}: expected ${N + 1} messages queued, found ${count}`);
    const row = { broker: kind, variant: v.variant, label: v.label, baselineOf: v.baselineOf, na: out.na, perSec: out.per_sec, cpuMsPerMsg: out.cpu_ms_per_msg };
    rows.push(row);
    const shown = row.na ? `n/a (${row.na})` : `${Math.round(row.perSec).toLocaleString("en-US").padStart(8)} msg/s  client CPU ${row.cpuMsPerMsg.toFixed(3)} ms/msg`;
    console.log(`${kind.padEnd(5)} ${row.label.padEnd(48)} ${shown}`);
  }
  await redis.flushall();
  return rows;
}

/** Publish ratios on Redis: celeriac's loop against BullMQ's, and so on, its batch against addBulk; each row / its baseline. */
function publishRatios(rows) {
  const find = (variant) => rows.find((r) => r.broker === "redis" && r.variant === variant && !r.baselineOf && !r.na);
  const pairs = [
    [find("celeriac:loop"), find("bullmq:loop")],
    [find("celeriac:all"), find("bullmq:all")],
    [find("celeriac:batch"), find("bullmq:bulk")],
    ...rows.filter((r) => r.baselineOf && !r.na).map((r) => [rows.find((x) => x.broker === r.broker && x.label === r.baselineOf && !x.na), r]),
  ];
  return pairs.filter(([a, b]) => a && b).map(([a, b]) => ({ of: `${a.broker} ${a.label}`, to: `${b.broker} ${b.label}`, value: a.perSec / b.perSec }));
}

module.exports = { publishRows, publishRatios, VARIANTS };
