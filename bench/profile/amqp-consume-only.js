// The AMQP consume path alone, without the worker: N tasks.add queued by Python Celery, then
// consumed in this process with a prefetch window of 64 (as `-c 16`), each delivery acked at once.
//
//   node bench/profile/amqp-consume-only.js MODE [N]     MODE: amqplib | amqplib-batched | transport
//
//   amqplib    bare amqplib: basic.qos(64, global) + basic.consume, ch.ack per message
//   amqplib-batched  bare amqplib, one ack(multiple) per event-loop turn (the floor of the transport)
//   transport  celeriac's AmqpTransport.consume (table decoder, RawMessage, batched acks)
//
//   BENCH_AMQP_PORT, BENCH_REDIS_PORT (the Redis is only the enqueue script's backend),
//   BENCH_CELERIAC_DIST=<dir>/dist: the built celeriac to load (default: this checkout's).
// Prints one JSON line: messages/s and this process's CPU ms per message (process.cpuUsage).
const { execFileSync } = require("node:child_process");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "../..");
const MODE = process.argv[2] || "transport";
const N = Number(process.argv[3] || 20000);
const PY = process.env.BENCH_PYTHON || "/usr/bin/python3";
const PORT = Number(process.env.BENCH_REDIS_PORT || 16391);
const AMQP_PORT = Number(process.env.BENCH_AMQP_PORT || 5692);
const BROKER = `amqp://guest:guest@127.0.0.1:${AMQP_PORT}//`;
const DIST = process.env.BENCH_CELERIAC_DIST ? path.resolve(process.env.BENCH_CELERIAC_DIST) : path.join(ROOT, "dist");
const WINDOW = 64;

async function enqueue() {
  execFileSync("bash", [path.join(ROOT, "scripts/private-redis.sh"), "start", String(PORT), path.join(ROOT, ".tmp", `redis-bench-${PORT}`)], { stdio: "ignore" });
  execFileSync("bash", [path.join(ROOT, "scripts/private-rabbitmq.sh"), "start", String(AMQP_PORT), path.join(ROOT, ".tmp", `rabbitmq-bench-${AMQP_PORT}`)], { stdio: "ignore" });
  const env = { ...process.env, BENCH_BROKER: BROKER, BENCH_BACKEND: `redis://127.0.0.1:${PORT}/1`, BENCH_IGNORE_RESULT: "1" };
  // A child process: this one must load celeriac's transport before amqplib (table decoder).
  execFileSync(process.execPath, ["-e", `(async () => { const a = require("amqplib"); const c = await a.connect(${JSON.stringify(BROKER)}); const ch = await c.createChannel(); await ch.assertQueue("celery", { durable: true }); await ch.purgeQueue("celery"); await c.close(); })()`], { cwd: ROOT });
  execFileSync(PY, [path.join(ROOT, "bench/py/enqueue.py"), String(N)], { env, cwd: path.join(ROOT, "bench/py"), stdio: ["ignore", "ignore", "inherit"] });
}

function meter() {
  let count = 0;
  let c0 = null;
  let t0 = 0n;
  let resolve;
  const done = new Promise((r) => (resolve = r));
  return {
    done,
    tick() {
      if (++count === 1) {
        c0 = process.cpuUsage();
        t0 = process.hrtime.bigint();
      } else if (count === N) {
        const c = process.cpuUsage(c0);
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        resolve({ mode: MODE, n: N, perSec: Math.round((N - 1) / seconds), cpuMsPerMessage: Number(((c.user + c.system) / 1000 / (N - 1)).toFixed(4)), userMs: Math.round(c.user / 1000), sysMs: Math.round(c.system / 1000) });
      }
    },
  };
}

async function viaAmqplib(batched) {
  const amqplib = require("amqplib");
  const conn = await amqplib.connect(BROKER);
  const ch = await conn.createChannel();
  await ch.prefetch(WINDOW, true);
  const m = meter();
  let last = null;
  const flush = () => {
    if (last === null) return;
    ch.ack(last, true);
    last = null;
  };
  await ch.consume("celery", (msg) => {
    if (!batched) ch.ack(msg);
    else if (last === null) setImmediate(flush);
    if (batched) last = msg;
    m.tick();
  });
  const out = await m.done;
  flush();
  await conn.close();
  return out;
}

async function viaTransport() {
  const { AmqpTransport } = require(path.join(DIST, "transport/amqp"));
  const t = new AmqpTransport(BROKER);
  await t.connect();
  const m = meter();
  let held = 0;
  let consumer = null;
  consumer = await t.consume({
    queues: ["celery"],
    prefetch: WINDOW,
    hasCapacity: () => held < WINDOW,
    capacity: () => WINDOW - held,
    onDelivery: (d) => {
      held++;
      // settled a microtask later, as the worker's early ack is
      void Promise.resolve().then(() => d.ack()).then(() => {
        held--;
        m.tick();
        consumer?.poke();
      });
    },
  });
  const out = await m.done;
  await t.close();
  return out;
}

(async () => {
  await enqueue();
  const out = MODE.startsWith("amqplib") ? await viaAmqplib(MODE === "amqplib-batched") : await viaTransport();
  console.log(JSON.stringify({ ...out, dist: path.relative(ROOT, DIST) || "." }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
