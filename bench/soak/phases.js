// The two phases of the soak: the same workload on a Redis broker (results in the same Redis,
// which is restarted with AOF on) and on a RabbitMQ broker (results in Redis, the node restarted).
const Redis = require("ioredis");
const amqplib = require("amqplib");
const { TASKS } = require("./keys");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Stop, stay down `outageS`, start again. */
async function restart(service, outageS) {
  await service.stop();
  await sleep(outageS * 1000);
  await service.start();
}

function redisPhase(brokerRedis) {
  return {
    name: "redis",
    brokerUrl: brokerRedis.url(0),
    backendUrl: brokerRedis.url(1),
    restartBroker: (outageS) => restart(brokerRedis, outageS),
    /** Nothing waiting in the queues nor delivered-but-unacked (kombu's `unacked` hash). */
    async idle() {
      const r = new Redis(brokerRedis.url(0), { maxRetriesPerRequest: 1 });
      try {
        const lens = await Promise.all([...TASKS.map((t) => r.llen(t.queue)), r.hlen("unacked")]);
        return lens.every((n) => n === 0);
      } finally {
        r.disconnect();
      }
    },
  };
}

function amqpPhase(rabbit, brokerRedis) {
  return {
    name: "amqp",
    brokerUrl: rabbit.url,
    backendUrl: brokerRedis.url(1),
    restartBroker: (outageS) => restart(rabbit, outageS),
    /** No ready message in either queue (delivered-but-unacked ones are covered by the stable-count wait). */
    async idle() {
      const conn = await amqplib.connect(rabbit.url);
      try {
        const ch = await conn.createChannel();
        const counts = [];
        for (const t of TASKS) counts.push((await ch.checkQueue(t.queue)).messageCount);
        return counts.every((n) => n === 0);
      } finally {
        await conn.close().catch(() => undefined);
      }
    },
  };
}

module.exports = { redisPhase, amqpPhase, sleep };
