/**
 * A backlog is drained completely by every pool, whether it was queued before the worker started
 * or arrives all at once while the worker waits (Redis: moved onto the queue in one RENAME, as
 * `npm run bench` does): each task runs and its result is stored, none is lost or left unacked.
 * The fetch path (batches, the FETCH behind a wait, the prefetch window) runs at full speed here.
 * A read-ahead FETCH (50a94d6, reverted) lost tasks in the "all at once" cases on prefork and
 * threads only; these cases fail with it.
 * Redis broker: db 8, backend db 9 (unique queues); RabbitMQ: a vhost of its own.
 */
import type { Celery, WorkerOptions } from "../../src";
import { Celery as CeleryApp } from "../../src";
import { captureLogger, mirrorAppTasks, TSAPP, unique } from "../support/app";
import { BROKERS, type BrokerLease } from "../support/brokers";
import { rawRedis, testRedisUrl } from "../support/redis";
import { sleep } from "../support/wait";

jest.setTimeout(120_000);

const N = 3000;

const POOLS: Array<{ name: string; options: WorkerOptions }> = [
  { name: "eventloop -c 16", options: { pool: "eventloop", concurrency: 16 } },
  { name: "prefork -c 2", options: { pool: "prefork", concurrency: 2, appModule: TSAPP } },
  { name: "threads -c 2", options: { pool: "threads", concurrency: 2, appModule: TSAPP } },
];

describe.each(BROKERS)("a backlog on $name", (broker) => {
  let lease: BrokerLease;
  let app: Celery | null = null;

  beforeAll(async () => {
    lease = await broker.open("backlog-drains", 8);
  });
  afterAll(async () => {
    await lease?.close();
  });
  afterEach(async () => {
    await app?.close();
    app = null;
  });

  const CASES = POOLS.flatMap((pool) => [
    { ...pool, when: "queued before", arrivesWhileWaiting: false },
    { ...pool, when: "arriving all at once while", arrivesWhileWaiting: true },
  ]);

  test.each(CASES)(`${N} tasks $when a $name worker waits are each run and stored, none left unacked`, async ({ options, arrivesWhileWaiting }) => {
    const queue = unique("backlog");
    const redis = rawRedis(8);
    const a = (app = new CeleryApp("backlog", { broker: lease.url, backend: testRedisUrl(9), taskDefaultQueue: queue }));
    mirrorAppTasks(TSAPP, a);
    const staging = broker.transport === "redis" ? `${queue}-staging` : queue;
    const send = (to = queue) => a.sendTasks<number>(Array.from({ length: N }, (_, i) => ({ name: "ts.add", args: [i, 1], options: { queue: to } })));
    let results = arrivesWhileWaiting ? [] : await send();
    const worker = a.worker({ ...options, logger: captureLogger("WARNING") });
    await worker.start();
    try {
      if (arrivesWhileWaiting) {
        await sleep(300); // the worker now waits on its empty queue
        results = await send(staging);
        // Redis: queued aside, then moved onto the queue in one command (as `npm run bench` does)
        if (broker.transport === "redis") await redis.rename(staging, queue);
      }
      const values = await Promise.all(results.map((r) => r.get({ timeout: 30_000 })));
      expect(values).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    } finally {
      await worker.stop();
    }
    if (broker.transport === "redis") {
      // every message of this queue was acked: none of its tags is left in `unacked`
      try {
        const ids = results.map((r) => r.id);
        const left = Object.values(await redis.hgetall("unacked")).filter((v) => ids.some((id) => v.includes(id)));
        expect(left).toEqual([]);
        expect(await redis.llen(queue)).toBe(0);
      } finally {
        redis.disconnect();
      }
    } else {
      redis.disconnect();
    }
  });
});
