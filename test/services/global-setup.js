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
 *
 * Redis and RabbitMQ are started once per SLOT, one slot per jest worker (slots.js): slot 1 on the
 * ports above, slot N on them + (N - 1) * 100; test/services/slot-env.js points each worker at its
 * own. All servers start at the same time.
 */
const { execFile, execFileSync } = require("child_process");
const path = require("path");
const { basePorts, slotPorts } = require("./slots");

const ROOT = path.resolve(__dirname, "..", "..");
const PRIVATE_REDIS = path.join(ROOT, "scripts", "private-redis.sh");

function redisDir(port) {
  return path.join(ROOT, ".tmp", `redis-${port}`);
}

/** What this process started, for global-teardown.js (same process, separate module). */
function started() {
  globalThis.__CELERIAC_SERVICES_STARTED__ ??= { redis: [], rabbitmq: [] };
  return globalThis.__CELERIAC_SERVICES_STARTED__;
}

/** Runs a private-*.sh script; resolves its trimmed stdout, rejects with `what` and its stderr. */
function runScript(script, args, env, what) {
  return new Promise((resolve, reject) =>
    execFile("bash", [script, ...args], { encoding: "utf8", env: { ...process.env, ...env } }, (err, out, errOut) =>
      err ? reject(new Error(`could not start ${what}: ${errOut || err.message}`)) : resolve(out.trim()),
    ),
  );
}

async function startRedis(port) {
  const out = await runScript(PRIVATE_REDIS, ["start", String(port), redisDir(port)], {}, `the test redis-server on 127.0.0.1:${port}`);
  if (out === "started") started().redis.push({ port, dir: redisDir(port) });
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

function rabbitDir(port) {
  return path.join(ROOT, ".tmp", `rabbitmq-${port}`);
}

async function startRabbitmq(port, tlsPort) {
  const what = `the test RabbitMQ on 127.0.0.1:${port}`;
  const out = await runScript(PRIVATE_RABBITMQ, ["start", String(port), rabbitDir(port)], { PRIVATE_RABBITMQ_TLS_PORT: String(tlsPort) }, what);
  if (out === "started") started().rabbitmq.push({ port, dir: rabbitDir(port) });
}

/**
 * PostgreSQL (the django-db result backend): a PRIVATE server on 127.0.0.1:15432
 * (CELERIAC_TEST_PG_PORT overrides), data under <repo>/.tmp/postgres-<port>
 * (scripts/private-postgres.sh; as root it runs as the postgres user). Reused and left running when
 * already up. Tests see CELERIAC_TEST_PG_URL (superuser celeriac, database postgres; test files
 * create their own databases) and CELERIAC_TEST_PG_SOCKET_DIR (its unix socket's directory).
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
  process.env.CELERIAC_TEST_PG_SOCKET_DIR = dir;
}

/**
 * MariaDB (the django-db result backend on MySQL/MariaDB): a PRIVATE server on 127.0.0.1, port
 * CELERIAC_TEST_MYSQL_PORT (default: the base Redis port + 20, above the ports tests derive (+1..+9), so that a run's ports stay in its
 * own range), data under <repo>/.tmp/mariadb-<port> (scripts/private-mariadb.sh; as root it runs
 * with --user=root). Shared by every slot, as PostgreSQL is (test files create their own
 * databases); started with the other servers, reused and left running when already up. Tests see
 * CELERIAC_TEST_MYSQL_URL (user celeriac with every privilege, no database) and
 * CELERIAC_TEST_MYSQL_SOCKET (its unix socket).
 */
const PRIVATE_MARIADB = path.join(ROOT, "scripts", "private-mariadb.sh");

async function startMariadb(base) {
  const port = Number(process.env.CELERIAC_TEST_MYSQL_PORT || base.redis + 20);
  const dir = path.join(ROOT, ".tmp", `mariadb-${port}`);
  const out = await runScript(PRIVATE_MARIADB, ["start", String(port), dir], {}, `the test MariaDB on 127.0.0.1:${port}`);
  if (out === "started") started().mariadb = { port, dir };
  process.env.CELERIAC_TEST_MYSQL_URL = `mysql://celeriac:celeriac-test@127.0.0.1:${port}/`;
  process.env.CELERIAC_TEST_MYSQL_SOCKET = path.join(dir, "mariadbd.sock");
}

/** Slots to start: jest's worker count, 1 when it runs in band. */
function slotCount(globalConfig) {
  if (!globalConfig || globalConfig.runInBand) return 1;
  return Math.max(1, Number(globalConfig.maxWorkers) || 1);
}

module.exports = async function globalSetup(globalConfig) {
  const base = basePorts();
  process.env.CELERIAC_TEST_BASE_PORTS = JSON.stringify(base);
  const slots = Array.from({ length: slotCount(globalConfig) }, (_, i) => slotPorts(base, i + 1));
  await Promise.all([...slots.flatMap((p) => [startRedis(p.redis), startRabbitmq(p.amqp, p.amqpTls)]), startMariadb(base)]);
  startPostgres();
};
module.exports.PRIVATE_REDIS = PRIVATE_REDIS;
module.exports.PRIVATE_RABBITMQ = PRIVATE_RABBITMQ;
module.exports.PRIVATE_POSTGRES = PRIVATE_POSTGRES;
module.exports.PRIVATE_MARIADB = PRIVATE_MARIADB;
module.exports.started = started;
