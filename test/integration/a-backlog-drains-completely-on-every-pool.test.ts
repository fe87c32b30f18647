/**
 * A backlog queued before the worker starts is drained completely by every pool: each task runs
 * and its result is stored, none is lost or left unacked. The fetch path (batches, read-ahead,
 * prefetch window) is exercised at full speed here, as in `npm run bench`, where a fetch change
 * once lost ~30 of 10,000 tasks on `-P prefork -c 2` only.
 * Redis broker: db 8, backend db 9 (unique queues); RabbitMQ: a vhost of its own.
 */
import type { Celery, WorkerOptions } from "../../src";
import { Celery as CeleryApp } from "../../src";
import { captureLogger, mirrorAppTasks, TSAPP, unique } from "../support/app";
import { BROKERS, type BrokerLease } from "../support/brokers";
import { rawRedis, testRedisUrl } from "../support/redis";

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

  test.each(POOLS)(`${N} tasks queued before a $name worker starts are each run and stored, none left unacked`, async ({ options }) => {
    const queue = unique("backlog");
    const a = (app = new CeleryApp("backlog", { broker: lease.url, backend: testRedisUrl(9), taskDefaultQueue: queue }));
    mirrorAppTasks(TSAPP, a);
    const results = await a.sendTasks<number>(Array.from({ length: N }, (_, i) => ({ name: "ts.add", args: [i, 1] })));
    const worker = a.worker({ ...options, logger: captureLogger("WARNING") });
    await worker.start();
    try {
      const values = await Promise.all(results.map((r) => r.get({ timeout: 90_000 })));
      expect(values).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    } finally {
      await worker.stop();
    }
    if (broker.transport === "redis") {
      // every message of this queue was acked: none of its tags is left in `unacked`
      const redis = rawRedis(8);
      try {
        const ids = new Set(results.map((r) => r.id));
        const left = Object.values(await redis.hgetall("unacked")).filter((v) => [...ids].some((id) => v.includes(id)));
        expect(left).toEqual([]);
        expect(await redis.llen(queue)).toBe(0);
      } finally {
        redis.disconnect();
      }
    }
  });
});
