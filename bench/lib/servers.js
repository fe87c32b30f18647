// The benchmark's own Redis and RabbitMQ (scripts/private-redis.sh, scripts/private-rabbitmq.sh, data
// under .tmp/), their pids (for their CPU time) and versions.
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { ROOT, REDIS_PORT, AMQP_PORT, BROKER_URLS, BACKEND } = require("./config");
const { machine, versions } = require("./results");

const redisDir = path.join(ROOT, ".tmp", `redis-bench-${REDIS_PORT}`);
const rabbitDir = path.join(ROOT, ".tmp", `rabbitmq-bench-${AMQP_PORT}`);

function script(name, cmd, port, dir) {
  return execFileSync("bash", [path.join(ROOT, "scripts", name), cmd, String(port), dir], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

function pidIn(file) {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim());
    return pid && fs.existsSync(`/proc/${pid}`) ? pid : null;
  } catch {
    return null; // a server someone else runs ("reused"): no pid file of ours
  }
}

/** Starts Redis and, when `brokers` has amqp, RabbitMQ; stop() stops what it started. */
class Servers {
  /** @param {string[]} brokers */
  constructor(brokers) {
    this.amqp = brokers.includes("amqp");
  }
  start() {
    console.log(`private Redis on 127.0.0.1:${REDIS_PORT}: ${script("private-redis.sh", "start", REDIS_PORT, redisDir)}`);
    if (this.amqp) console.log(`private RabbitMQ on 127.0.0.1:${AMQP_PORT}: ${script("private-rabbitmq.sh", "start", AMQP_PORT, rabbitDir)}`);
    return this;
  }
  stop() {
    script("private-redis.sh", "stop", REDIS_PORT, redisDir);
    if (this.amqp) script("private-rabbitmq.sh", "stop", AMQP_PORT, rabbitDir);
  }
  /** The pids whose process trees serve `broker` (Redis, which always holds the results, and RabbitMQ). */
  pids(broker) {
    const pids = [pidIn(path.join(redisDir, "redis.pid"))];
    if (broker === "amqp") pids.push(pidIn(path.join(rabbitDir, "server.pid")));
    return pids.filter((p) => p !== null);
  }
  /** { redis, rabbitmq } server versions ("-" for a broker not started). */
  async versions() {
    const Redis = require("ioredis");
    const r = new Redis(BROKER_URLS.redis);
    const info = await r.info("server");
    r.disconnect();
    let rabbitmq = "-";
    if (this.amqp) {
      const conn = await require("amqplib").connect(BROKER_URLS.amqp);
      rabbitmq = String(conn.connection.serverProperties.version);
      await conn.close();
    }
    return { redis: (/redis_version:(\S+)/.exec(info) || [])[1] || "?", rabbitmq };
  }
}

/**
 * Runs `fn({ servers, broker, backend, machine, versions })` with the private servers of `brokers`
 * started and ioredis clients on the broker and backend databases; stops them all after.
 */
async function withServers(brokers, fn) {
  const Redis = require("ioredis");
  const servers = new Servers(brokers).start();
  const broker = new Redis(BROKER_URLS.redis);
  const backend = new Redis(BACKEND);
  try {
    return await fn({ servers, broker, backend, machine: machine(), versions: { ...versions(), ...(await servers.versions()) } });
  } finally {
    broker.disconnect();
    backend.disconnect();
    servers.stop();
  }
}

module.exports = { Servers, withServers };
