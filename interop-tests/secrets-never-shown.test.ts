/**
 * Secrets are never shown. A celeriac CLI worker whose broker and result backend URLs carry a
 * password (a Redis ACL user and a RabbitMQ user created here), with a nested
 * `brokerTransportOptions.redisOptions.password` and a `securityKey` setting: celeriac's
 * `inspect report` / `inspect conf` and Python's `celery inspect report` / `celery inspect conf`
 * (newest Celery and Debian's 5.2) print the masked forms and never the password, on Redis and on
 * RabbitMQ; the worker's log masks a URL password a task result carries; an unsupported URL's
 * error masks its password. Build first: npm run build.
 */
import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import { amqpPort, amqpUrl, createVhost, deleteVhost, rabbitmqctl } from "../test/support/amqp";
import { celeriacCli, celeryCli, type CliWorker, type CommandResult, inspectJson, startCliWorker } from "../test/support/cli-worker";
import { PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

jest.setTimeout(180_000);

const id = randomUUID().slice(0, 8);
const PASSWORD = `s3cret-${id}`;
const USER = `secrets-${id}`;
const MASK = "********";

/** `redis://USER:PASSWORD@host:port/db` on the private test Redis. */
function redisWithPassword(db: number): string {
  return testRedisUrl(db).replace("redis://", `redis://${USER}:${PASSWORD}@`);
}
const redisMasked = (db: number) => testRedisUrl(db).replace("redis://", `redis://${USER}:${MASK}@`);

/** The settings of the worker that hold secrets (besides its URLs). */
const SECRET_SETTINGS = JSON.stringify({ securityKey: PASSWORD, brokerTransportOptions: { redisOptions: { password: PASSWORD } } });

function allOutput(...results: CommandResult[]): string {
  return results.map((r) => `${r.stdout}\n${r.stderr}`).join("\n");
}

let admin: Redis;
beforeAll(async () => {
  admin = new Redis(testRedisUrl(0));
  await admin.call("ACL", "SETUSER", USER, "on", `>${PASSWORD}`, "~*", "&*", "+@all");
});
afterAll(async () => {
  await admin.call("ACL", "DELUSER", USER);
  admin.disconnect();
});

interface Broker {
  /** The worker's and celeriac CLI's broker URL, with the password. */
  secret: string;
  /** How Celery shows it in `inspect conf` (kombu Connection.as_uri with Celery's mask). */
  masked: string;
  /** The same broker for the Python CLI (no password of ours involved). */
  plain: string;
  cleanup(): Promise<void>;
}

const BROKERS: Array<[string, () => Promise<Broker>]> = [
  [
    "Redis",
    async () => ({ secret: redisWithPassword(8), masked: redisMasked(8), plain: testRedisUrl(8), cleanup: async () => undefined }),
  ],
  [
    "RabbitMQ",
    async () => {
      const vhost = await createVhost("secrets");
      await rabbitmqctl("-q", "add_user", USER, PASSWORD);
      await rabbitmqctl("-q", "set_permissions", "-p", vhost, USER, ".*", ".*", ".*");
      return {
        secret: `amqp://${USER}:${PASSWORD}@127.0.0.1:${amqpPort()}/${vhost}`,
        masked: `amqp://${USER}:${MASK}@127.0.0.1:${amqpPort()}/${vhost}`,
        plain: amqpUrl(vhost),
        cleanup: async () => {
          await rabbitmqctl("-q", "delete_user", USER).catch(() => undefined);
          await deleteVhost(vhost);
        },
      };
    },
  ],
];

describe.each(BROKERS)("a celeriac worker with passwords on %s", (_name, makeBroker) => {
  let broker: Broker;
  let w: CliWorker;
  const celeriacEnv = () => ({ CELERY_BROKER_URL: broker.secret });
  const pyEnv = () => ({ PYAPP_BROKER: broker.plain, PYAPP_BACKEND: testRedisUrl(9), PYAPP_QUEUES: w.queue });

  beforeAll(async () => {
    broker = await makeBroker();
    w = startCliWorker(broker.secret, redisWithPassword(9), "secrets", [], { TSAPP_SETTINGS: SECRET_SETTINGS });
    await waitFor(() => w.output().includes("ready"), 60_000, `worker ready:\n${w.output()}`);
  });

  afterAll(async () => {
    await w.stop();
    await broker.cleanup();
  });

  test("celeriac inspect report / conf show the URLs, securityKey and nested password masked, never the password", async () => {
    const report = await celeriacCli(celeriacEnv(), ["inspect", "report", "-d", w.node, "-t", "10"]);
    const confText = await celeriacCli(celeriacEnv(), ["inspect", "conf", "-d", w.node, "-t", "10"]);
    const confJson = await celeriacCli(celeriacEnv(), ["inspect", "conf", "-d", w.node, "-t", "10", "-j"]);
    expect([report.code, confText.code, confJson.code]).toEqual([0, 0, 0]);
    expect(allOutput(report, confText, confJson)).not.toContain(PASSWORD);

    expect(report.stdout).toContain(`results:${redisMasked(9)}`);
    expect(report.stdout).toContain(`security_key: "${MASK}"`);
    const conf = (JSON.parse(confJson.stdout) as Record<string, Record<string, unknown>>)[w.node];
    expect(conf).toMatchObject({
      broker_url: broker.masked,
      result_backend: redisMasked(9),
      security_key: MASK,
      broker_transport_options: { redisOptions: { password: MASK } },
    });
  });

  test.each(PYTHONS.map((p) => [p.label, p] as const))("%s celery inspect report / conf show the masked forms, never the password", async (_label, py) => {
    const report = await celeryCli(py, pyEnv(), ["inspect", "report", "-d", w.node, "-t", "10"]);
    const confText = await celeryCli(py, pyEnv(), ["inspect", "conf", "-d", w.node, "-t", "10"]);
    expect([report.code, confText.code]).toEqual([0, 0]);
    const conf = (await inspectJson(py, pyEnv(), w, "conf"))[w.node] as Record<string, unknown>;
    expect(allOutput(report, confText)).not.toContain(PASSWORD);
    expect(JSON.stringify(conf)).not.toContain(PASSWORD);

    expect(report.stdout).toContain(`results:${redisMasked(9)}`);
    expect(confText.stdout).toContain(MASK);
    expect(conf).toMatchObject({
      broker_url: broker.masked,
      result_backend: redisMasked(9),
      security_key: MASK,
      broker_transport_options: { redisOptions: { password: MASK } },
    });
  });

  test("the worker's log masks a URL password a task result carries, and never shows the password", async () => {
    const carried = `redis://carrier:${PASSWORD}@elsewhere:6379/0`;
    const sent = await celeriacCli(celeriacEnv(), ["call", "ts.echo", "--args", JSON.stringify([carried]), "--queue", w.queue]);
    expect(sent.code).toBe(0);
    const taskId = sent.stdout.trim();
    await waitFor(() => w.output().includes(`[${taskId}] succeeded`), 60_000, `ts.echo[${taskId}] succeeded:\n${w.output()}`);
    expect(w.output()).toContain("redis://carrier:**@elsewhere:6379/0");
    expect(w.output()).not.toContain(PASSWORD);
  });
});

describe("errors naming a URL", () => {
  test("an unsupported broker or result backend URL is reported with its password masked", async () => {
    const badBroker = await celeriacCli({ CELERY_BROKER_URL: `foo://admin:${PASSWORD}@h:1/0` }, ["inspect", "ping", "-t", "2"]);
    expect(badBroker.code).not.toBe(0);
    expect(badBroker.stderr).toContain("unsupported broker URL: foo://admin:**@h:1/0");

    const badBackend = await celeriacCli(
      { TSAPP_BROKER: redisWithPassword(8), TSAPP_BACKEND: `bar://admin:${PASSWORD}@h:1/1`, TSAPP_QUEUE: `secrets-bad-${id}` },
      ["worker", "-A", "interop-tests/apps/tsapp.js", "-c", "1"],
    );
    expect(badBackend.code).not.toBe(0);
    expect(badBackend.stderr).toContain("unsupported result backend URL: bar://admin:**@h:1/1");
    expect(allOutput(badBroker, badBackend)).not.toContain(PASSWORD);
  });
});
