/**
 * Jest globalSetup of the integration and interop projects: the services the tests talk to.
 *
 * Redis: a PRIVATE redis-server on 127.0.0.1:16379 (CELERIAC_TEST_REDIS_PORT overrides the port),
 * data dir <repo>/.tmp/redis-<port>, no persistence. A developer's own Redis on 6379 is never used.
 * If something already answers PING on that port it is reused and left running by the teardown.
 * Test workers see CELERIAC_TEST_REDIS_URL (globalSetup's process.env is inherited by the workers
 * jest forks afterwards).
 *
 * Jest runs this once per distinct globalSetup path, not once per project; it is idempotent anyway.
 */
const { execFileSync } = require("child_process");
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..");
const PRIVATE_REDIS = path.join(ROOT, "scripts", "private-redis.sh");

function redisPort() {
  return Number(process.env.CELERIAC_TEST_REDIS_PORT || 16379);
}

function redisDir(port) {
  return path.join(ROOT, ".tmp", `redis-${port}`);
}

/** What this process started, for global-teardown.js (same process, separate module). */
function started() {
  globalThis.__CELERIAC_SERVICES_STARTED__ ??= {};
  return globalThis.__CELERIAC_SERVICES_STARTED__;
}

function startRedis() {
  const port = redisPort();
  let out;
  try {
    out = execFileSync("bash", [PRIVATE_REDIS, "start", String(port), redisDir(port)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
  } catch (err) {
    throw new Error(`could not start the test redis-server on 127.0.0.1:${port}: ${err.stderr || err.message}`);
  }
  if (out === "started") started().redis = { port, dir: redisDir(port) };
  process.env.CELERIAC_TEST_REDIS_URL = `redis://127.0.0.1:${port}`;
}

/**
 * RabbitMQ: a PRIVATE node `celeriac-test-<port>@localhost` on 127.0.0.1:5682
 * (CELERIAC_TEST_AMQP_PORT overrides), data under <repo>/.tmp/rabbitmq-<port>
 * (scripts/private-rabbitmq.sh). Reused and left running when already up. Tests see
 * CELERIAC_TEST_AMQP_URL (vhost "/"; test files create their own vhosts with
 * `private-rabbitmq.sh ctl`), CELERIAC_TEST_AMQP_PORT and CELERIAC_TEST_AMQP_DIR. The node also
 * listens for AMQPS, with a client certificate required, on CELERIAC_TEST_AMQP_TLS_PORT (default
 * the AMQP port + 50), certificates in <dir>/tls (made when the node starts).
 */
const PRIVATE_RABBITMQ = path.join(ROOT, "scripts", "private-rabbitmq.sh");

function amqpPort() {
  return Number(process.env.CELERIAC_TEST_AMQP_PORT || 5682);
}

function rabbitDir(port) {
  return path.join(ROOT, ".tmp", `rabbitmq-${port}`);
}

function startRabbitmq() {
  const port = amqpPort();
  const tlsPort = Number(process.env.CELERIAC_TEST_AMQP_TLS_PORT || port + 50);
  let out;
  try {
    out = execFileSync("bash", [PRIVATE_RABBITMQ, "start", String(port), rabbitDir(port)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, PRIVATE_RABBITMQ_TLS_PORT: String(tlsPort) },
    }).trim();
  } catch (err) {
    throw new Error(`could not start the test RabbitMQ on 127.0.0.1:${port}: ${err.stderr || err.message}`);
  }
  if (out === "started") started().rabbitmq = { port, dir: rabbitDir(port) };
  process.env.CELERIAC_TEST_AMQP_PORT = String(port);
  process.env.CELERIAC_TEST_AMQP_DIR = rabbitDir(port);
  process.env.CELERIAC_TEST_AMQP_TLS_PORT = String(tlsPort);
  process.env.CELERIAC_TEST_AMQP_URL = `amqp://guest:guest@127.0.0.1:${port}`;
}

/**
 * PostgreSQL (the django-db result backend): a PRIVATE server on 127.0.0.1:15432
 * (CELERIAC_TEST_PG_PORT overrides), data under <repo>/.tmp/postgres-<port>
 * (scripts/private-postgres.sh; as root it runs as the postgres user). Reused and left running when
 * already up. Tests see CELERIAC_TEST_PG_URL (superuser celeriac, database postgres; test files
 * create their own databases).
 */
const PRIVATE_POSTGRES = path.join(ROOT, "scripts", "private-postgres.sh");

function postgresPort() {
  return Number(process.env.CELERIAC_TEST_PG_PORT || 15432);
}

function startPostgres() {
  const port = postgresPort();
  const dir = path.join(ROOT, ".tmp", `postgres-${port}`);
  let out;
  try {
    out = execFileSync("bash", [PRIVATE_POSTGRES, "start", String(port), dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (err) {
    throw new Error(`could not start the test PostgreSQL on 127.0.0.1:${port}: ${err.stderr || err.message}`);
  }
  if (out === "started") started().postgres = { port, dir };
  process.env.CELERIAC_TEST_PG_URL = `postgres://celeriac:celeriac-test@127.0.0.1:${port}/postgres`;
}

module.exports = async function globalSetup() {
  startRedis();
  startRabbitmq();
  startPostgres();
};
module.exports.PRIVATE_REDIS = PRIVATE_REDIS;
module.exports.PRIVATE_RABBITMQ = PRIVATE_RABBITMQ;
module.exports.PRIVATE_POSTGRES = PRIVATE_POSTGRES;
module.exports.started = started;
