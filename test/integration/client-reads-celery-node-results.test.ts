/**
 * The celeriac client reads what celery-node's worker stores (the other Node worker on the same
 * Redis): celery-node writes the task's return value (or the raised error) into `traceback`,
 * which Python ignores and celeriac once refused as "malformed traceback".
 */
import { testApp, unique } from "../support/app";
import { testRedisUrl } from "../support/redis";

// celery-node has no type declarations; only its worker is used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const celeryNode = require("celery-node") as {
  createWorker(broker: string, backend: string, queue: string): {
    register(name: string, fn: (...args: unknown[]) => unknown): void;
    start(): Promise<void>;
    isReady(): Promise<unknown>;
    disconnect(): Promise<void>;
  };
};

describe("celeriac client and celery-node's worker on Redis", () => {
  const queue = unique("cn");
  const worker = celeryNode.createWorker(testRedisUrl(8), testRedisUrl(9), queue);
  const app = testApp({ taskDefaultQueue: queue });

  beforeAll(async () => {
    worker.register("tasks.add", (x, y) => (x as number) + (y as number));
    worker.register("tasks.boom", () => {
      throw new Error("boom");
    });
    await worker.isReady();
    void worker.start();
  });

  afterAll(async () => {
    await app.close();
    await worker.disconnect();
  });

  test("a result celery-node stored (its return value in `traceback`) is read by AsyncResult.get", async () => {
    const result = await app.sendTask("tasks.add", [2, 3]);
    await expect(result.get({ timeout: 10_000 })).resolves.toBe(5);
    const meta = await result.meta();
    expect(meta?.traceback).toBe("5");
  });

  test("a failure celery-node stored (no exception fields, the error in `traceback`) rejects get() with a FAILURE, not a malformed meta", async () => {
    const result = await app.sendTask("tasks.boom", []);
    const error = await result.get({ timeout: 10_000 }).then(
      () => null,
      (err: unknown) => err as Error,
    );
    expect(error).not.toBeNull();
    expect(error?.name).not.toBe("InvalidResultMeta");
    expect(await result.state()).toBe("FAILURE");
  });
});
