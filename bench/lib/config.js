// The benchmark's settings, from BENCH_* environment variables (defaults after "||"), shared by
// bench/run.js, bench/depth.js and their helpers.
const path = require("node:path");

const ROOT = path.resolve(__dirname, "../..");
const env = process.env;
const REDIS_PORT = Number(env.BENCH_REDIS_PORT || 16391);
const AMQP_PORT = Number(env.BENCH_AMQP_PORT || 5692);

module.exports = {
  ROOT,
  /** Tasks per drain (and messages per publish row). */
  N: Number(env.BENCH_N || 10000),
  /**
   * How long a worker, ready and with nothing queued, idles before its idle RSS is read (the Redis
   * drains with results; V8's memory reducer gives back startup garbage after ~8 s idle).
   */
  IDLE_MS: Number(env.BENCH_IDLE_MS || 10000),
  /** Sequential round trips per client, after a drain with results. */
  RT: Number(env.BENCH_RT || 500),
  PY: env.BENCH_PYTHON || "/usr/bin/python3",
  REDIS_PORT,
  AMQP_PORT,
  BROKERS: (env.BENCH_BROKERS || "redis,amqp").split(","),
  /** Which parts of bench/run.js run: the drains and the client publish rows. */
  SECTIONS: (env.BENCH_SECTIONS || "drain,publish").split(","),
  BROKER_URLS: { redis: `redis://127.0.0.1:${REDIS_PORT}/0`, amqp: `amqp://guest:guest@127.0.0.1:${AMQP_PORT}//` },
  BACKEND: `redis://127.0.0.1:${REDIS_PORT}/1`,
  /** Another built checkout whose celeriac rows run beside this one's. */
  BASELINE: env.BENCH_BASELINE ? path.resolve(env.BENCH_BASELINE) : null,
  /** Label prefixes of the workers to run (case-insensitive), or null for all. */
  ONLY: env.BENCH_WORKERS ? env.BENCH_WORKERS.split(",").map((p) => p.toLowerCase()) : null,
  /** The task drained: tasks.add, or tasks.cpu / tasks.io (BENCH_TASK=cpu|io). */
  TASK: env.BENCH_TASK || "add",
  RESULTS_DIR: path.join(ROOT, "bench/results"),
  /** The Redis list messages wait in before a drain starts (RENAMEd onto the worker's queue). */
  STAGING: "bench-staging",
};
