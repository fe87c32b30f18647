// Staged envelopes for the drain probes of bench/profile: `n` tasks.add sent by Python Celery
// (bench/py/enqueue.py) into the Redis list `profile-staging-<n>`, made once and copied into the
// queue before each run (COPY), so every run drains the same bytes.
const { execFileSync } = require("node:child_process");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "../..");

/** The staging list's key for `n` messages. */
function stagingKey(n) {
  return `profile-staging-${n}`;
}

/**
 * Fill the staging list of `n` messages unless it already holds them. `redis`: an ioredis client
 * on the broker's db 0; `port`: that Redis's port (Python connects to it too).
 */
async function stage(redis, port, n) {
  const key = stagingKey(n);
  if ((await redis.llen(key)) === n) return key;
  await redis.del(key);
  const env = { ...process.env, BENCH_BROKER: `redis://127.0.0.1:${port}/0`, BENCH_BACKEND: `redis://127.0.0.1:${port}/1`, BENCH_QUEUE: key };
  execFileSync(process.env.BENCH_PYTHON || "/usr/bin/python3", [path.join(ROOT, "bench/py/enqueue.py"), String(n)], { env, cwd: path.join(ROOT, "bench/py"), stdio: ["ignore", "ignore", "inherit"] });
  return key;
}

module.exports = { stage, stagingKey };
