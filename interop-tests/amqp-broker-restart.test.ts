/**
 * A broker outage in the middle of a batch loses nothing: Python publishes 1,000 tasks (persistent,
 * to a durable queue) to a SECOND private RabbitMQ node of this file's own (so `stop_app` cannot
 * disturb the other test files), a celeriac worker consumes them, `rabbitmqctl stop_app` /
 * `start_app` happen while it is consuming, and at the end every one of the 1,000 results is
 * readable from Python (Redis backend) with the right value. Messages in flight at the loss are
 * redelivered (at-least-once): duplicates are allowed, losses are not.
 */
import type { Worker } from "../src";
import { Celery } from "../src";
import { amqpPort, PrivateNode } from "../test/support/amqp";
import { captureLogger, unique } from "../test/support/app";
import { PY_GET_MANY, PY_SEND_MANY, pyInline, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

const BACKEND_DB = 0;
const N = 1000;
const node = new PrivateNode(amqpPort() + 5, "interop-restart");

beforeAll(async () => {
  await node.start();
}, 120_000);
afterAll(async () => {
  await node.stop();
}, 120_000);

interface QueueRow {
  name: string;
  durable: boolean;
  messages: number;
  messages_persistent: number;
}

/** The broker's own count of `queue`'s messages (rabbitmqctl list_queues). */
async function queueRow(queue: string): Promise<QueueRow | undefined> {
  const out = await node.ctl("-q", "list_queues", "--formatter", "json", "name", "durable", "messages", "messages_persistent");
  return (JSON.parse(out) as QueueRow[]).find((q) => q.name === queue);
}

/** Registers ts.slow_add (20 ms, then x + y) on `app`; returns the ids it ran, in order. */
function slowAdd(app: Celery): string[] {
  const runs: string[] = [];
  app.task(
    "ts.slow_add",
    async (ctx, x: number, y: number) => {
      await new Promise((r) => setTimeout(r, 20));
      runs.push(ctx.request.id);
      return x + y;
    },
    { bind: true },
  );
  return runs;
}

describe.each(PYTHONS)("RabbitMQ stop_app/start_app mid-batch, Python ($label) producer and reader", (py) => {
  test(`${N} tasks published from Python: zero lost after the outage, every result right`, async () => {
    const queue = unique("amqp-restart");
    const backend = testRedisUrl(BACKEND_DB);
    const env = { PYAPP_BROKER: node.url, PYAPP_BACKEND: backend, PYAPP_ACCEPT: "json", PYAPP_QUEUES: queue };
    const warnings: string[] = [];
    const app = new Celery("ts", { broker: node.url, backend, taskDefaultQueue: queue, brokerTransportOptions: { onWarning: (m: string) => warnings.push(m) } });
    const runs = slowAdd(app);
    const logger = captureLogger();
    let worker: Worker | undefined;
    try {
      const argsList = Array.from({ length: N }, (_, i) => [i, 1000]);
      const ids = (await pyInline(py, PY_SEND_MANY, { task: "ts.slow_add", queue, argsList }, env)) as string[];
      expect(ids).toHaveLength(N);
      expect(new Set(ids).size).toBe(N);

      // durable queue, persistent messages (delivery_mode 2): all N survive a broker restart.
      // Celery publishes without confirms, so the broker may still be routing the last ones when
      // the Python process exits: wait until the queue holds N (or time out and show what it holds).
      let row: QueueRow | undefined;
      await waitFor(
        async () => {
          row = await queueRow(queue);
          return row?.messages === N;
        },
        15_000,
        `${N} messages in ${queue}`,
      ).catch(() => undefined);
      expect(row).toEqual({ name: queue, durable: true, messages: N, messages_persistent: N });

      worker = app.worker({ concurrency: 4, logger });
      await worker.start();
      await waitFor(() => runs.length >= 250, 30_000, "a quarter of the batch");
      await node.ctl("-q", "stop_app");
      const atStop = new Set(runs).size;
      expect(atStop).toBeLessThan(N); // the outage really is in the middle of the batch
      await new Promise((r) => setTimeout(r, 1500));
      await node.ctl("-q", "start_app");

      await waitFor(() => new Set(runs).size >= N, 90_000, `all ${N} tasks run (${new Set(runs).size} so far)`);
      const out = (await pyInline(py, PY_GET_MANY, { ids, timeout: 30 }, env)) as [string, unknown][];
      const wrong = out.map((o, i) => [i, ...o] as const).filter(([i, state, value]) => state !== "SUCCESS" || value !== i + 1000);
      expect(wrong).toEqual([]);
      // the worker did see the outage, and logged it as Celery does (its log, not onWarning)
      expect(logger.lines.join("\n")).toContain("consumer: Connection to broker lost. Trying to re-establish the connection...");
      expect(logger.lines.join("\n")).toMatch(/INFO\/MainProcess\] Connected to amqp:\/\/guest:\*\*@127\.0\.0\.1:[^\n]*\n(.|\n)*Connected to amqp:\/\/guest:\*\*@127\.0\.0\.1:/);
      console.log(`${py.label}: ${atStop} done at stop_app, ${runs.length} runs for ${N} tasks (${runs.length - N} duplicates)`);
    } finally {
      await worker?.stop();
      await app.close();
      await node.ctl("-q", "delete_queue", queue).catch(() => undefined);
    }
  }, 240_000);
});

test(`celeriac producer: ${N} tasks, half of them published DURING the outage (they wait for the broker), zero lost; both Pythons read every result`, async () => {
  const queue = unique("amqp-restart-ts");
  const backend = testRedisUrl(BACKEND_DB);
  const warnings: string[] = [];
  const opts = { broker: node.url, backend, taskDefaultQueue: queue, brokerTransportOptions: { onWarning: (m: string) => warnings.push(m), publishTimeout: 60 } };
  const producer = new Celery("producer", opts);
  const app = new Celery("ts", opts);
  const runs = slowAdd(app);
  let worker: Worker | undefined;
  try {
    const send = (i: number) => producer.sendTask("ts.slow_add", [i, 2000]).then((r) => r.id);
    const ids: string[] = [];
    for (let i = 0; i < N / 2; i++) ids.push(await send(i));
    worker = app.worker({ concurrency: 4, logger: captureLogger() });
    await worker.start();
    await waitFor(() => runs.length >= 250, 30_000, "half of the first half");
    await node.ctl("-q", "stop_app");
    const during = Promise.all(Array.from({ length: N / 2 }, (_, k) => send(N / 2 + k)));
    let settled = false;
    during.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(settled).toBe(false); // waiting for the broker, not dropped
    await node.ctl("-q", "start_app");
    ids.push(...(await during));
    expect(new Set(ids).size).toBe(N);
    await waitFor(() => new Set(runs).size >= N, 90_000, `all ${N} tasks run (${new Set(runs).size} so far)`);
    for (const py of PYTHONS) {
      const env = { PYAPP_BROKER: node.url, PYAPP_BACKEND: backend, PYAPP_ACCEPT: "json", PYAPP_QUEUES: queue };
      const out = (await pyInline(py, PY_GET_MANY, { ids, timeout: 30 }, env)) as [string, unknown][];
      const wrong = out.map((o, i) => [i, ...o] as const).filter(([i, state, value]) => state !== "SUCCESS" || value !== i + 2000);
      expect({ py: py.label, wrong }).toEqual({ py: py.label, wrong: [] });
    }
    expect(warnings.join("\n")).toMatch(/reconnected to amqp:/);
    console.log(`celeriac producer: ${runs.length} runs for ${N} tasks (${runs.length - N} duplicates)`);
  } finally {
    await worker?.stop();
    await app.close();
    await producer.close();
    await node.ctl("-q", "delete_queue", queue).catch(() => undefined);
  }
}, 240_000);
