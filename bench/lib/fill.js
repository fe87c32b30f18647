// Deep queues fast (bench/depth.js): one tasks.add message is captured as Python Celery sent it
// (bench/py/enqueue.py), then copied n times with fresh ids (headers id / root_id, correlation_id, and
// on Redis the delivery_tag), so each copy is a valid Celery v2 message of its own that any Celery
// worker accepts; the body (args [0, 0]) is the same bytes in every copy.
const path = require("node:path");
const { randomUUID } = require("node:crypto");
const { ROOT, PY } = require("./config");
const { runJson } = require("./proc");

const pyDir = path.join(ROOT, "bench/py");
const BATCH = 1000;

/** Python Celery sends one tasks.add(0, 0) to queue "celery" on `brokerUrl`. */
function sendOne(brokerUrl) {
  runJson(PY, [path.join(pyDir, "enqueue.py"), "1"], { BENCH_BROKER: brokerUrl, BENCH_QUEUE: "celery", BENCH_TASK: "" }, pyDir);
}

/**
 * A stage function (queue, n) for bench/lib/drain.js's redisDrain: LPUSHes n copies of a message
 * Python sent, pipelined BATCH at a time. `redis`: ioredis on the broker (its "celery" list must be empty).
 */
async function redisCloner(redis, brokerUrl) {
  sendOne(brokerUrl);
  const text = await redis.rpop("celery");
  const { headers, properties } = JSON.parse(text);
  const pieces = text.split(headers.id); // id, root_id and correlation_id: the task id
  const tag = properties.delivery_tag;
  return async (queue, n) => {
    for (let i = 0; i < n; i += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, n - i) }, () => pieces.join(randomUUID()).replace(tag, randomUUID()));
      await redis.lpush(queue, ...batch);
    }
  };
}

/**
 * A stage function (queue, n) for amqpDrain: publishes n copies of a message Python sent (same
 * properties and headers, new ids) through a confirm channel, waiting for the broker's confirms every
 * 10,000. `conn`: an amqplib connection; the "celery" queue must be empty.
 */
async function amqpCloner(conn, brokerUrl) {
  sendOne(brokerUrl);
  const ch = await conn.createConfirmChannel();
  const msg = await ch.get("celery", { noAck: true });
  if (!msg) throw new Error("the message Python sent is not on the celery queue");
  const { headers, ...props } = msg.properties;
  const options = Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined));
  return async (queue, n) => {
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      const ok = ch.publish("", queue, msg.content, { ...options, correlationId: id, headers: { ...headers, id, root_id: id } });
      if (!ok) await new Promise((r) => ch.once("drain", r));
      if (i % 10000 === 9999) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();
  };
}

module.exports = { redisCloner, amqpCloner };
