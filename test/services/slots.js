/**
 * Jest runs test files in several worker processes at once (jest.config.js `maxWorkers`). Each
 * worker is a SLOT (its JEST_WORKER_ID, 1..N) with private servers of its own, so that no test
 * sees another file's queues, workers or broadcasts: slot N uses the base ports + (N - 1) * 100.
 * Tests derive further ports from these (+1..+9, +50 for TLS, +10000 sentinels, +10000/+20000
 * Erlang), all below the next slot's.
 *
 * The base ports are CELERIAC_TEST_REDIS_PORT (default 16379), CELERIAC_TEST_AMQP_PORT (5682),
 * CELERIAC_TEST_AMQP_TLS_PORT (AMQP + 50) and CELERIAC_TEST_REDIS_TLS_PORT (Redis + 50) as given
 * when jest starts; global-setup.js keeps them in CELERIAC_TEST_BASE_PORTS for the workers. The
 * PostgreSQL server is shared (every test creates databases of its own).
 */
const SLOT_STRIDE = 100;

/** The base ports, from the environment jest started with. */
function basePorts(env = process.env) {
  if (env.CELERIAC_TEST_BASE_PORTS) return JSON.parse(env.CELERIAC_TEST_BASE_PORTS);
  const redis = Number(env.CELERIAC_TEST_REDIS_PORT || 16379);
  const amqp = Number(env.CELERIAC_TEST_AMQP_PORT || 5682);
  return {
    redis,
    amqp,
    amqpTls: Number(env.CELERIAC_TEST_AMQP_TLS_PORT || amqp + 50),
    redisTls: Number(env.CELERIAC_TEST_REDIS_TLS_PORT || redis + 50),
  };
}

/** The ports of slot `slot` (1-based). */
function slotPorts(base, slot) {
  const shift = (slot - 1) * SLOT_STRIDE;
  return { redis: base.redis + shift, amqp: base.amqp + shift, amqpTls: base.amqpTls + shift, redisTls: base.redisTls + shift };
}

/** The environment a test file of slot `slot` sees (the URLs and ports of that slot's servers). */
function slotEnv(base, slot, amqpDir) {
  const p = slotPorts(base, slot);
  return {
    CELERIAC_TEST_REDIS_PORT: String(p.redis),
    CELERIAC_TEST_REDIS_URL: `redis://127.0.0.1:${p.redis}`,
    CELERIAC_TEST_REDIS_TLS_PORT: String(p.redisTls),
    CELERIAC_TEST_AMQP_PORT: String(p.amqp),
    CELERIAC_TEST_AMQP_TLS_PORT: String(p.amqpTls),
    CELERIAC_TEST_AMQP_DIR: amqpDir(p.amqp),
    CELERIAC_TEST_AMQP_URL: `amqp://guest:guest@127.0.0.1:${p.amqp}`,
  };
}

module.exports = { SLOT_STRIDE, basePorts, slotPorts, slotEnv };
