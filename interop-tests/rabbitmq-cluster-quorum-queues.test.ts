/**
 * A three-node RabbitMQ cluster on loopback (test/support/rabbitmq-cluster.ts, one fixture for the
 * file) with quorum queues as Celery 5.5+ declares them (task_default_queue_type "quorum"): a
 * queue celeriac declares is the one a Python worker declares and consumes, and the reverse; the
 * node a celeriac worker is connected to stops in the middle of a batch and the worker carries on
 * through the next URL of its failover list, with every task sent (publisher confirms) run once
 * at least. Celery 5.2 has no quorum queue settings, so the newest Celery is the Python peer.
 */
import { Celery } from "../src";
import { PYTHONS, PY_GET_MANY, PY_SEND_MANY, pyInline, startPythonWorker } from "../test/support/python";
import { logTime, startCliWorker } from "../test/support/cli-worker";
import { RabbitCluster } from "../test/support/rabbitmq-cluster";
import { rawRedis, testRedisUrl } from "../test/support/redis";
import { unique } from "../test/support/app";
import { sleep, waitFor } from "../test/support/wait";

const cluster = new RabbitCluster();
const py = PYTHONS[0];
const RESULTS_DB = 11;

beforeAll(async () => {
  await cluster.start();
}, 240_000);

afterAll(async () => {
  await cluster.stop();
}, 120_000);

interface QueueRow {
  name: string;
  type: string;
  arguments: unknown;
}

async function queueRow(name: string): Promise<QueueRow | undefined> {
  const rows = JSON.parse(await cluster.ctl(1, "-q", "list_queues", "name", "type", "arguments", "--formatter", "json")) as QueueRow[];
  return rows.find((r) => r.name === name);
}

/** Exactly what Celery 5.5+ declares for its default queue with task_default_queue_type "quorum". */
const CELERY_QUORUM_QUEUE = (name: string): QueueRow => ({ name, type: "quorum", arguments: [["x-queue-type", "longstr", "quorum"]] });

function pyEnv(broker: string, queue: string): Record<string, string> {
  return { PYAPP_BROKER: broker, PYAPP_BACKEND: testRedisUrl(RESULTS_DB), PYAPP_QUEUES: queue, PYAPP_QUEUE_TYPE: "quorum" };
}

test("a quorum queue celeriac declares is the one Celery declares: a Python worker on another node consumes it, with global QoS off", async () => {
  const queue = unique("qq-ts2py");
  const app = new Celery("qq", { broker: cluster.url(0), backend: testRedisUrl(RESULTS_DB), taskDefaultQueue: queue, taskDefaultQueueType: "quorum" });
  try {
    const r = await app.sendTask("py.add", [20, 22]);
    expect(await queueRow(queue)).toEqual(CELERY_QUORUM_QUEUE(queue));
    const worker = await startPythonWorker(py, { broker: cluster.url(1), backend: testRedisUrl(RESULTS_DB), queues: [queue], pool: "solo", env: pyEnv(cluster.url(1), queue) });
    try {
      expect(await r.get({ timeout: 30_000 })).toBe(42);
      expect(worker.output()).toContain("Global QoS is disabled. Prefetch count is now static.");
    } finally {
      await worker.stop();
    }
  } finally {
    await app.close();
  }
}, 90_000);

test("a quorum queue Python declares is consumed by a celeriac worker on another node", async () => {
  const queue = unique("qq-py2ts");
  const ids = (await pyInline(py, PY_SEND_MANY, { task: "ts.add", queue, argsList: [[2, 3]] }, pyEnv(cluster.url(2), queue))) as string[];
  expect(await queueRow(queue)).toEqual(CELERY_QUORUM_QUEUE(queue));
  const w = startCliWorker(cluster.url(0), testRedisUrl(RESULTS_DB), "qq", ["-P", "eventloop"], {
    TSAPP_QUEUE: queue,
    TSAPP_SETTINGS: JSON.stringify({ taskDefaultQueueType: "quorum" }),
  });
  try {
    expect(await pyInline(py, PY_GET_MANY, { ids, timeout: 30 }, pyEnv(cluster.url(2), queue))).toEqual([["SUCCESS", 5]]);
  } finally {
    await w.stop();
  }
  expect(w.output()).not.toMatch(/PRECONDITION_FAILED|ERROR/);
}, 90_000);

test("the node a celeriac worker is connected to stops mid-batch: it carries on through another node, every confirmed task runs", async () => {
  const N = 300;
  const queue = unique("qq-failover");
  // the worker's list starts at node 0, the client's at node 2 (which stays up)
  const w = startCliWorker(cluster.urls(0, 1, 2), testRedisUrl(RESULTS_DB), "qq", ["-P", "eventloop"], {
    TSAPP_QUEUE: queue,
    TSAPP_ACKS_LATE: "1",
    TSAPP_SETTINGS: JSON.stringify({ taskDefaultQueueType: "quorum" }),
  });
  const app = new Celery("qq", { broker: cluster.urls(2, 1), backend: testRedisUrl(RESULTS_DB), taskDefaultQueue: queue, taskDefaultQueueType: "quorum" });
  const redis = rawRedis(RESULTS_DB);
  try {
    await waitFor(() => w.output().includes("ready."), 60_000, "worker ready");
    expect(w.output()).toContain(`Connected to amqp://guest:**@127.0.0.1:${cluster.nodePort(0)}//`);
    const ids: string[] = [];
    const keys = (): string[] => ids.map((id) => `celery-task-meta-${id}`);
    const done = async (): Promise<number> => (ids.length ? redis.exists(...keys()) : 0);
    // send in steps of 10 while the node stops: every publish resolves only once confirmed
    let stopping: Promise<unknown> | null = null;
    let stoppedAt = 0;
    let before = 0;
    for (let i = 0; i < N; i += 10) {
      const sent = await app.sendTasks(Array.from({ length: 10 }, (_, k) => ({ name: "ts.sleep", args: [0.05, i + k] })));
      ids.push(...sent.map((r) => r.id));
      if (!stopping && (await done()) >= N / 5) {
        before = await done();
        stoppedAt = Date.now();
        stopping = cluster.stopNode(0);
      }
      await sleep(50);
    }
    await stopping;
    expect(stoppedAt).toBeGreaterThan(0);
    await waitFor(async () => (await done()) === N, 120_000, "every task run after the node stopped");
    const out = w.output();
    const lost = out.lastIndexOf("\n", out.indexOf("Connection to broker lost")) + 1; // the start of its line
    expect(out).toContain("Connection to broker lost");
    const ports = [...out.matchAll(/Connected to amqp:\/\/guest:\*\*@127\.0\.0\.1:(\d+)\/\//g)].map((m) => Number(m[1]));
    expect(ports[0]).toBe(cluster.nodePort(0));
    expect(ports.slice(1)).toContain(cluster.nodePort(1)); // the next URL of its list
    const recovery = logTime(out.slice(lost), "Connected to") - logTime(out.slice(lost), "Connection to broker lost");
    // the measured recovery, as the issue asks
    console.log(`RabbitMQ node stop: ${before}/${N} done when node 0 was told to stop; the worker reconnected ${recovery} ms after it lost node 0, all ${N} done ${Date.now() - stoppedAt} ms after the stop began`);
    const results = await Promise.all(ids.map((id) => app.AsyncResult(id).get({ timeout: 10_000 })));
    expect(results).toEqual(Array.from({ length: N }, (_, i) => i));
  } finally {
    redis.disconnect();
    await app.close();
    await w.stop();
  }
  expect(w.output()).not.toContain("guest:guest");
}, 240_000);
