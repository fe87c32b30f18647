// The soak's private services, through scripts/private-redis.sh and scripts/private-rabbitmq.sh:
// the broker Redis (AOF on, restarted as a fault), the ledger Redis (never restarted) and a
// RabbitMQ node (restarted as a fault). Data under .tmp/soak-*-<port>.
const { execFile } = require("node:child_process");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "../..");

function script(name, args, env = {}) {
  return new Promise((resolve, reject) =>
    execFile("bash", [path.join(ROOT, "scripts", name), ...args.map(String)], { env: { ...process.env, ...env }, timeout: 180_000 }, (err, out, errOut) =>
      err ? reject(new Error(`${name} ${args.join(" ")}: ${err.message}\n${errOut}`)) : resolve(out.trim()),
    ),
  );
}

class PrivateRedis {
  constructor(port, tag, aof) {
    this.port = port;
    this.dir = path.join(ROOT, ".tmp", `soak-${tag}-${port}`);
    this.env = aof ? { PRIVATE_REDIS_APPENDONLY: "yes" } : {};
    this.url = (db) => `redis://127.0.0.1:${port}/${db}`;
  }
  async start() {
    const out = await script("private-redis.sh", ["start", this.port, this.dir], this.env);
    if (out !== "started") throw new Error(`something already answers on 127.0.0.1:${this.port}: the soak needs that port for itself`);
  }
  stop() {
    return script("private-redis.sh", ["stop", this.port, this.dir]);
  }
  version() {
    return new Promise((r) => execFile("redis-server", ["--version"], (_e, out) => r((/v=(\S+)/.exec(out || "") || [])[1] || "?")));
  }
}

class PrivateRabbit {
  constructor(port) {
    this.port = port;
    this.dir = path.join(ROOT, ".tmp", `soak-rabbitmq-${port}`);
    this.url = `amqp://guest:guest@127.0.0.1:${port}//`;
  }
  async start() {
    const out = await script("private-rabbitmq.sh", ["start", this.port, this.dir]);
    if (out !== "started") throw new Error(`a broker already answers on 127.0.0.1:${this.port}: the soak needs that port for itself`);
  }
  /** A fresh node (no queues or messages left from an earlier run). */
  async reset() {
    await script("private-rabbitmq.sh", ["reset", this.port, this.dir]);
  }
  stop() {
    return script("private-rabbitmq.sh", ["stop", this.port, this.dir]);
  }
  version() {
    return script("private-rabbitmq.sh", ["ctl", this.port, this.dir, "-q", "version"]).catch(() => "?");
  }
}

module.exports = { PrivateRedis, PrivateRabbit, ROOT };
