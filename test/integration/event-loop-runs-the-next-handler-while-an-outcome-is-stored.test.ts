/**
 * The event loop pool with -c N runs N handlers at once; a request whose handler is done gives its
 * slot to the next while its outcome is being stored, so a slow result backend does not bound the
 * drain to N tasks per round trip. What the worker holds stays within the prefetch window
 * (multiplier × concurrency): a request being stored counts against it. With -c 1 a request keeps
 * its slot until it settles: one task at a time, signals included (postrun before the next prerun).
 */
import { Celery } from "../../src";
import type { Worker } from "../../src";
import { BROKERS } from "../support/brokers";
import type { BrokerLease } from "../support/brokers";
import { captureLogger, unique } from "../support/app";
import { testRedisUrl } from "../support/redis";
import { startSlowLink } from "../support/slow-link";
import type { SlowLink } from "../support/slow-link";
import { waitFor } from "../support/wait";

const REPLY_DELAY_MS = 300;

describe.each(BROKERS)("event loop worker with a slow result backend on $name", (broker) => {
  let lease: BrokerLease;
  let link: SlowLink;
  let app: Celery | null = null;
  let worker: Worker | null = null;

  beforeAll(async () => {
    lease = await broker.open(unique("slowstore"), 8);
    const redis = new URL(testRedisUrl(9));
    link = await startSlowLink({ host: redis.hostname, port: Number(redis.port) }, REPLY_DELAY_MS);
  });

  afterEach(async () => {
    await worker?.stop();
    worker = null;
    await app?.close();
    app = null;
  });

  afterAll(async () => {
    await link.close();
    await lease.close();
  });

  /** Run `n` quick tasks on a worker with `concurrency` and multiplier 2; the most tasks between prerun and postrun at once. */
  async function mostInFlight(concurrency: number, n: number): Promise<number> {
    app = new Celery("slowstore", {
      broker: lease.url,
      backend: `redis://127.0.0.1:${link.port}/9`,
      taskDefaultQueue: unique(),
      workerPrefetchMultiplier: 2,
    });
    app.task("t.quick", (x: number) => x);
    worker = app.worker({ concurrency, logger: captureLogger("WARNING") });
    let inFlight = 0;
    let most = 0;
    let done = 0;
    worker.on("taskPrerun", () => void (most = Math.max(most, ++inFlight)));
    worker.on("taskPostrun", () => void (inFlight--, done++));
    await worker.start();
    const results = [];
    for (let i = 0; i < n; i++) results.push(await app.sendTask("t.quick", [i]));
    await waitFor(() => done === n, 30000, `${n} tasks done`);
    // every outcome was stored before its postrun
    expect(await Promise.all(results.map((r) => r.get({ timeout: 10000 })))).toEqual([...Array(n).keys()]);
    return most;
  }

  test("-c 2: handlers go on while outcomes are stored, at most the prefetch window (4) at once", async () => {
    expect(await mostInFlight(2, 12)).toBe(4);
  });

  test("-c 1: one task at a time, postrun before the next prerun", async () => {
    expect(await mostInFlight(1, 4)).toBe(1);
  });
});
