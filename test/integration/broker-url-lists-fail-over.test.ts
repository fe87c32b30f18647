/**
 * A list of broker URLs (`amqp://h1;amqp://h2`) with broker_failover_strategy: a worker and a
 * client whose first URL is dead connect to the next one at once (no retry wait within a round),
 * log the URL they connected to with its password masked, and run tasks. Moving to another node
 * when the connected one stops is interop-tests/rabbitmq-cluster-quorum-queues.test.ts's.
 */
import { Celery } from "../../src";
import { amqpPort, amqpUrl, createVhost, deleteVhost } from "../support/amqp";
import { captureLogger, unique } from "../support/app";

/** A port nothing listens on (this file's own: the test broker's port + 8). */
const DEAD = `amqp://guest:dead-pw@127.0.0.1:${amqpPort() + 8}//`;
let vhost: string;

beforeAll(async () => {
  vhost = await createVhost("failover");
});
afterAll(async () => {
  await deleteVhost(vhost);
});

test.each(["round-robin", "shuffle"] as const)("%s: the dead first URL is skipped, the worker connects to the other, runs a task", async (strategy) => {
  const broker = `${DEAD};${amqpUrl(vhost)}`;
  const app = new Celery("failover", { broker, backend: "rpc://", taskDefaultQueue: unique("failover"), brokerFailoverStrategy: strategy });
  app.task("failover.add", (x: number, y: number) => x + y);
  const logger = captureLogger();
  const worker = app.worker({ concurrency: 1, logger });
  try {
    const t0 = Date.now();
    await worker.start();
    // round-robin tries the next URL at once (no 2 s retry wait); shuffle may draw the dead one again (kombu's shufflecycle)
    if (strategy === "round-robin") expect(Date.now() - t0).toBeLessThan(2000);
    const text = logger.lines.join("\n");
    expect(text).toContain(`Connected to amqp://guest:**@127.0.0.1:${amqpPort()}/${vhost}`);
    expect(text).not.toContain("dead-pw");
    expect(await (await app.sendTask("failover.add", [2, 3])).get({ timeout: 20_000 })).toBe(5);
  } finally {
    await worker.stop();
    await app.close();
  }
});

test("every URL dead: the worker's startup retry names the URL it tried, masked, and a round of the list is one attempt", async () => {
  const other = `amqp://guest:other-pw@127.0.0.1:${amqpPort() + 9}//`;
  const app = new Celery("failover", { broker: `${DEAD};${other}`, taskDefaultQueue: unique("failover"), brokerConnectionMaxRetries: 1 });
  const logger = captureLogger();
  const worker = app.worker({ concurrency: 1, logger });
  await expect(worker.start()).rejects.toThrow(/Cannot connect to amqp:\/\/guest:\*\*@127\.0\.0\.1:\d+\/\//);
  const text = logger.lines.join("\n");
  expect(text).toContain("(1/1)");
  expect(text).not.toMatch(/dead-pw|other-pw/);
  await app.close();
});
