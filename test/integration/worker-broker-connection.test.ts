/**
 * The worker's broker and backend connections as Celery's worker makes them, against real
 * brokers: the first connection retried with Celery's lines and waits (2 s, 4 s, ...) while the
 * broker is not up yet, a clear error naming the masked URL when retries run out or credentials
 * are refused, and a broker restart under a running worker logged once (lost, then `Connected
 * to`) with tasks running again afterwards. Redis and RabbitMQ nodes of this file's own (private
 * ports next to the shared test brokers) are stopped and started; the shared ones are not touched.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { Celery } from "../../src";
import type { Worker } from "../../src";
import { amqpPort, PrivateNode } from "../support/amqp";
import { captureLogger, unique } from "../support/app";
import { startCliWorker } from "../support/cli-worker";
import { waitFor } from "../support/wait";

const ROOT = path.resolve(__dirname, "../..");
const run = promisify(execFile);
const REDIS_PORT = Number(process.env.CELERIAC_TEST_REDIS_PORT || 16379) + 6;
const REDIS_DIR = path.join(ROOT, ".tmp", `redis-${REDIS_PORT}-connections`);
const rabbit = new PrivateNode(amqpPort() + 6, "connections");

/** scripts/private-redis.sh on this file's own port. */
const privateRedis = (cmd: "start" | "stop") => run("bash", [path.join(ROOT, "scripts/private-redis.sh"), cmd, String(REDIS_PORT), REDIS_DIR], { timeout: 30_000 });
const testRedisUrl = (db: number) => `redis://127.0.0.1:${REDIS_PORT}/${db}`;
/** A port nothing listens on (the private Redis port + 1 is never started). */
const CLOSED_PORT = REDIS_PORT + 1;

let current: { app: Celery; worker: Worker } | null = null;
afterEach(async () => {
  await current?.worker.stop();
  await current?.app.close();
  current = null;
});
afterAll(async () => {
  await privateRedis("stop");
  await rabbit.stop();
}, 120_000);

/** A worker of a fresh app with an `add` task, logging into `logger.lines`; start() not awaited. */
function workerOn(broker: string, backend: string, settings: Partial<Celery["conf"]> = {}) {
  const app = new Celery("conn", { broker, backend, taskDefaultQueue: unique("conn"), ...settings });
  app.task("conn.add", (x: number, y: number) => x + y);
  const logger = captureLogger();
  const worker = app.worker({ concurrency: 1, logger });
  current = { app, worker };
  return { app, worker, logger, log: () => logger.lines.join("\n") };
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe("startup while the broker is down", () => {
  test("Redis: the worker retries with Celery's lines (2 s, then 4 s), connects once Redis is up ~3 s later, and runs a task", async () => {
    await privateRedis("stop");
    const { app, worker, log } = workerOn(testRedisUrl(0), testRedisUrl(1));
    const started = worker.start();
    await waitFor(() => log().includes("(1/100)"), 10_000, "first retry line");
    await new Promise((r) => setTimeout(r, 3000));
    await privateRedis("start");
    await started;
    const text = log();
    // celery/worker/consumer/consumer.py CONNECTION_ERROR ("consumer: Cannot connect to %s: %s.\n%s") with
    // CONNECTION_RETRY_STEP ("Trying again {when}... ({retries}/{max_retries})"); the reason is redis-py's Connection._error_message
    expect(text).toContain(
      `ERROR/MainProcess] consumer: Cannot connect to redis://127.0.0.1:${REDIS_PORT}/0: Error 111 connecting to 127.0.0.1:${REDIS_PORT}. Connection refused..\nTrying again in 2.00 seconds... (1/100)`,
    );
    expect(text).toContain("Trying again in 4.00 seconds... (2/100)");
    expect(text).toMatch(new RegExp(`INFO/MainProcess\\] Connected to redis://127\\.0\\.0\\.1:${REDIS_PORT}/0\\n`));
    expect(await (await app.sendTask("conn.add", [2, 3])).get({ timeout: 20_000 })).toBe(5);
  }, 60_000);

  test("RabbitMQ: the worker retries while the node's app is stopped, connects once it is started ~3 s later, and runs a task", async () => {
    await rabbit.start();
    await rabbit.ctl("-q", "stop_app");
    const { app, worker, log } = workerOn(rabbit.url, testRedisUrl(2));
    await privateRedis("start");
    const started = worker.start();
    const masked = rabbit.url.replace(":guest@", ":**@");
    await waitFor(() => log().includes("(1/100)"), 10_000, "first retry line");
    await new Promise((r) => setTimeout(r, 3000));
    await rabbit.ctl("-q", "start_app");
    await started;
    const text = log();
    expect(text).toContain(`consumer: Cannot connect to ${masked}: [Errno 111] Connection refused.\nTrying again in 2.00 seconds... (1/100)`);
    expect(text).not.toContain(":guest@");
    expect(text).toContain(`Connected to ${masked}`);
    expect(await (await app.sendTask("conn.add", [20, 22])).get({ timeout: 20_000 })).toBe(42);
  }, 180_000);

  test("retries exhausted: the CLI worker exits non-zero naming the masked URL, the reason and broker_connection_max_retries", async () => {
    const url = `redis://:s3cret@127.0.0.1:${CLOSED_PORT}/0`;
    const w = startCliWorker(url, url, "conn-exhausted", [], { TSAPP_MAX_RETRIES: "1" });
    const code = await w.exited;
    const out = w.output();
    expect(code).not.toBe(0);
    expect(out).toContain(`Trying again in 2.00 seconds... (1/1)`);
    expect(out).toContain(
      `CRITICAL/MainProcess] Unrecoverable error: Cannot connect to redis://:**@127.0.0.1:${CLOSED_PORT}/0: Error 111 connecting to 127.0.0.1:${CLOSED_PORT}. Connection refused. (gave up after 1 retry: broker_connection_max_retries=1)`,
    );
    expect(out).not.toContain("s3cret");
    expect(out).not.toContain("Connection is closed");
  }, 30_000);

  test("brokerConnectionRetryOnStartup=false: start() fails at the first refused attempt, without retry lines", async () => {
    const { worker, log } = workerOn(`redis://:s3cret@127.0.0.1:${CLOSED_PORT}/0`, testRedisUrl(1), { brokerConnectionRetryOnStartup: false });
    await expect(worker.start()).rejects.toThrow(
      `Cannot connect to redis://:**@127.0.0.1:${CLOSED_PORT}/0: Error 111 connecting to 127.0.0.1:${CLOSED_PORT}. Connection refused. (retrying on startup is disabled: broker_connection_retry_on_startup=False)`,
    );
    expect(log()).not.toContain("Trying again");
  }, 30_000);
});

describe("clear errors instead of 'Connection is closed.'", () => {
  beforeAll(async () => {
    await privateRedis("start");
    await run("redis-cli", ["-p", String(REDIS_PORT), "config", "set", "requirepass", "right"]);
  });
  afterAll(async () => {
    await run("redis-cli", ["-p", String(REDIS_PORT), "-a", "right", "--no-auth-warning", "config", "set", "requirepass", ""]);
  });

  test.each([
    ["a wrong Redis password", `redis://:wrong@127.0.0.1:${REDIS_PORT}/0`, `Cannot connect to redis://:**@127.0.0.1:${REDIS_PORT}/0: WRONGPASS invalid username-password pair or user is disabled.`],
    ["no Redis password where one is required", `redis://127.0.0.1:${REDIS_PORT}/0`, `Cannot connect to redis://127.0.0.1:${REDIS_PORT}/0: NOAUTH Authentication required.`],
  ])("%s: start() fails at once (refused credentials are not retried, as Celery) naming the masked URL and the server's reason", async (_what, url, message) => {
    const { worker, log } = workerOn(url, testRedisUrl(1));
    const t0 = Date.now();
    await expect(worker.start()).rejects.toThrow(message);
    expect(log()).not.toContain("Trying again"); // no retry
    expect(Date.now() - t0).toBeLessThan(10000);
    expect(log()).toContain(`CRITICAL/MainProcess] Unrecoverable error: ${message}`);
    expect(log()).not.toContain("wrong@");
  });

  test("a wrong RabbitMQ password: start() fails at once with ACCESS_REFUSED and the masked URL", async () => {
    await rabbit.start();
    const url = rabbit.url.replace(":guest@", ":wrong@");
    const { worker, log } = workerOn(url, testRedisUrl(1).replace("127.0.0.1", ":right@127.0.0.1"));
    await expect(worker.start()).rejects.toThrow(`Cannot connect to ${url.replace(":wrong@", ":**@")}: ACCESS_REFUSED - Login was refused`);
    expect(log()).not.toContain("Trying again");
    expect(log()).not.toContain("wrong@");
  }, 120_000);

  test("TLS to a plain AMQP port: the reason says the TLS handshake failed, where and why", async () => {
    await rabbit.start();
    const url = rabbit.url.replace(/^amqp:/, "amqps:");
    const { worker } = workerOn(url, testRedisUrl(1), { brokerConnectionMaxRetries: 0 });
    await expect(worker.start()).rejects.toThrow(
      /^Cannot connect to amqps:\/\/guest:\*\*@127\.0\.0\.1:(\d+)\S*: TLS handshake with 127\.0\.0\.1:\1 failed: the server does not speak TLS on this port \(amqp:\/\/\?\) \(ERR_SSL_WRONG_VERSION_NUMBER\) \(gave up after 0 retries/,
    );
  }, 120_000);

  test("an unknown host: the reason says the name is not known", async () => {
    const { worker } = workerOn("redis://:pw@celeriac-no-such-host.invalid:6379/0", testRedisUrl(1), { brokerConnectionMaxRetries: 0 });
    await expect(worker.start()).rejects.toThrow(
      "Cannot connect to redis://:**@celeriac-no-such-host.invalid:6379/0: Error -2 connecting to celeriac-no-such-host.invalid:6379. Name or service not known.",
    );
  }, 30_000);
});

describe("broker restart under a running worker", () => {
  test("Redis: loss and recovery of broker and result backend are logged once each, and a task sent afterwards runs", async () => {
    await privateRedis("start");
    const { app, worker, log } = workerOn(testRedisUrl(3), testRedisUrl(4));
    await worker.start();
    expect(await (await app.sendTask("conn.add", [1, 1])).get({ timeout: 20_000 })).toBe(2);
    await privateRedis("stop");
    await waitFor(() => log().includes("Connection to broker lost"), 20_000, "loss logged");
    await new Promise((r) => setTimeout(r, 5000)); // several reconnect attempts while Redis is down
    await privateRedis("start");
    await waitFor(() => count(log(), `Connected to redis://127.0.0.1:${REDIS_PORT}/3`) >= 2, 30_000, "broker recovery logged");
    await waitFor(() => log().includes(`result backend: Connected to redis://127.0.0.1:${REDIS_PORT}/4`), 30_000, "backend recovery logged");
    expect(await (await app.sendTask("conn.add", [2, 2])).get({ timeout: 30_000 })).toBe(4);
    const text = log();
    expect(text).toMatch(/WARNING\/MainProcess\] consumer: Connection to broker lost\. Trying to re-establish the connection\.\.\. \(ConnectionError\(/);
    expect(count(text, "consumer: Connection to broker lost")).toBe(1);
    expect(count(text, "result backend: Connection to result backend lost")).toBe(1);
    // one line per reason while down, not one per reconnect attempt
    expect(count(text, `consumer: Cannot connect to redis://127.0.0.1:${REDIS_PORT}/3`)).toBeLessThanOrEqual(2);
    expect(text).not.toContain("redis consume error");
  }, 90_000);

  test("RabbitMQ: stop_app/start_app under a running worker is logged once (lost, Connected to) and a task sent afterwards runs", async () => {
    await rabbit.start();
    await privateRedis("start");
    const { app, worker, log } = workerOn(rabbit.url, testRedisUrl(5));
    await worker.start();
    expect(await (await app.sendTask("conn.add", [3, 3])).get({ timeout: 20_000 })).toBe(6);
    const masked = rabbit.url.replace(":guest@", ":**@");
    await rabbit.ctl("-q", "stop_app");
    await waitFor(() => log().includes("Connection to broker lost"), 20_000, "loss logged");
    await new Promise((r) => setTimeout(r, 3000));
    await rabbit.ctl("-q", "start_app");
    await waitFor(() => count(log(), `Connected to ${masked}`) >= 2, 60_000, "recovery logged");
    expect(await (await app.sendTask("conn.add", [4, 4])).get({ timeout: 30_000 })).toBe(8);
    const text = log();
    expect(count(text, "consumer: Connection to broker lost. Trying to re-establish the connection...")).toBe(1);
    expect(count(text, `consumer: Cannot connect to ${masked}`)).toBeLessThanOrEqual(2);
    expect(text).not.toContain(":guest@");
  }, 180_000);
});
