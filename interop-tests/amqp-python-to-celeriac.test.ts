/**
 * Python Celery produces over amqp:// (py-amqp), a celeriac worker (in-process) runs, Python reads
 * the results — newest Celery and 5.2, each in a vhost of its own on the private test RabbitMQ.
 * Results: Redis db 0 of the test Redis (unique task ids, never flushed) and rpc://.
 */
import type { Celery, Worker } from "../src";
import { Celery as CeleryApp } from "../src";
import { amqpUrl, createVhost, deleteVhost } from "../test/support/amqp";
import { captureLogger, unique } from "../test/support/app";
import { pyClient, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

const BACKEND_DB = 0;

interface Outcome {
  state: string;
  result: unknown;
  exc_type: string | null;
  exc_message: string | null;
  exc_module: string | null;
}

describe.each(PYTHONS)("Python ($label) → celeriac worker on RabbitMQ", (py) => {
  let vhost: string;
  const apps: Celery[] = [];
  const workers: Worker[] = [];
  const newApp = (settings: ConstructorParameters<typeof CeleryApp>[1] = {}): Celery => {
    const app = new CeleryApp("ts", {
      broker: amqpUrl(vhost),
      backend: testRedisUrl(BACKEND_DB),
      taskDefaultQueue: unique("amqp-p2c"),
      acceptContent: ["json", "msgpack", "yaml"],
      ...settings,
    });
    apps.push(app);
    return app;
  };
  const newWorker = (app: Celery, opts: Parameters<Celery["worker"]>[0] = {}): Worker => {
    const w = app.worker({ concurrency: 2, logger: captureLogger(), ...opts });
    workers.push(w);
    return w;
  };
  const envFor = (app: Celery, extra: Record<string, string> = {}) => ({
    PYAPP_BROKER: amqpUrl(vhost),
    PYAPP_BACKEND: app.conf.backend as string,
    PYAPP_ACCEPT: "json",
    PYAPP_QUEUES: app.conf.taskDefaultQueue,
    ...extra,
  });
  const callOn = (app: Celery, task: string, args: unknown[], kwargs: object = {}, options: object = {}, env: Record<string, string> = {}) =>
    pyClient(
      py,
      ["call", task, "--args", JSON.stringify(args), "--kwargs", JSON.stringify(kwargs), "--options", JSON.stringify({ queue: app.conf.taskDefaultQueue, ...options }), "--timeout", "20", "--no-propagate"],
      envFor(app, env),
    ) as Promise<Outcome>;
  const sendOn = async (app: Celery, task: string, args: unknown[], options: object = {}, env: Record<string, string> = {}) =>
    ((await pyClient(py, ["send", task, "--args", JSON.stringify(args), "--options", JSON.stringify({ queue: app.conf.taskDefaultQueue, ...options })], envFor(app, env))) as { id: string }).id;
  const getOn = (app: Celery, id: string, env: Record<string, string> = {}) =>
    pyClient(py, ["get", id, "--timeout", "30", "--no-propagate"], envFor(app, env)) as Promise<Outcome>;

  beforeAll(async () => {
    vhost = await createVhost(`amqp-p2c-${py.label}`);
  });

  afterAll(async () => {
    for (const w of workers) await w.stop();
    for (const a of apps) await a.close();
    await deleteVhost(vhost);
  });

  describe("Redis backend", () => {
    let app: Celery;
    const call = (task: string, args: unknown[], kwargs: object = {}, options: object = {}) => callOn(app, task, args, kwargs, options);

    beforeAll(async () => {
      app = newApp();
      app.task("ts.add", (x: number, y: number) => x + y);
      app.task("ts.mul", (x: number, y: number) => x * y, { params: ["x", "y"] });
      app.task("ts.echo", (...args: unknown[]) => args);
      app.task("ts.fail", (m: string) => {
        throw new RangeError(m);
      });
      await newWorker(app).start();
    });

    test("apply_async with args returns the result to Python", async () => {
      expect(await call("ts.add", [2, 3])).toMatchObject({ state: "SUCCESS", result: 5 });
    });

    test("kwargs map onto params", async () => {
      expect((await call("ts.mul", [], { x: 6, y: 7 })).result).toBe(42);
    });

    test("unicode and nested data survive the round trip exactly", async () => {
      const kwargs = { "ключ": "值 🎉 \u0000\n\"'", nested: { list: [1, 2.5, { a: null, b: true }], empty: {} } };
      const out = await call("ts.echo", ["é", [1, [2, [3]]]], kwargs);
      expect(out.result).toEqual(["é", [1, [2, [3]]], kwargs]);
    });

    test.each(["json", "msgpack", "yaml"])("serializer %s is read by the celeriac worker", async (serializer) => {
      const out = await call("ts.echo", ["s", 1, [true, null], "ü"], {}, { serializer });
      expect(out.state).toBe("SUCCESS");
      expect(out.result).toEqual(["s", 1, [true, null], "ü"]);
    });

    test.each(["zlib", "gzip", "bzip2", "lzma"])("compression %s is read by the celeriac worker", async (compression) => {
      const out = await call("ts.echo", ["x".repeat(2000), "é"], {}, { compression });
      expect(out.result).toEqual(["x".repeat(2000), "é"]);
    });

    test("a JS error is re-raised in Python with the same type name and message", async () => {
      const out = await call("ts.fail", ["out of range"]);
      expect(out.state).toBe("FAILURE");
      expect(out.exc_type).toBe("RangeError");
      expect(out.exc_message).toContain("out of range");
    });

    test("an unknown task is stored as NotRegistered and Python raises it", async () => {
      const out = await call("ts.unknown", [1]);
      expect(out.state).toBe("FAILURE");
      expect(out.exc_type).toBe("NotRegistered");
      expect(out.exc_message).toContain("ts.unknown");
    });
  });

  describe("ETA / countdown (concurrency 1, prefetch multiplier 1)", () => {
    let app: Celery;

    beforeAll(async () => {
      app = newApp();
      app.task("ts.add", (x: number, y: number) => x + y);
      await newWorker(app, { concurrency: 1, prefetchMultiplier: 1 }).start();
    });

    test("a countdown is honoured and the held message does not block the next task (basic.qos raised)", async () => {
      const sentAt = Date.now();
      const delayed = await sendOn(app, "ts.add", [10, 1], { countdown: 4 });
      // the worker holds the ETA message; with prefetch 1 the next one only arrives if qos was raised
      const now = await callOn(app, "ts.add", [1, 1]);
      const nowDone = Date.now();
      expect(now).toMatchObject({ state: "SUCCESS", result: 2 });
      const later = await getOn(app, delayed);
      const laterDone = Date.now();
      expect(later).toMatchObject({ state: "SUCCESS", result: 11 });
      expect(nowDone - sentAt).toBeLessThan(3500); // not stuck behind the held ETA message
      expect(nowDone - sentAt).toBeLessThan(laterDone - sentAt);
      expect(laterDone - sentAt).toBeGreaterThanOrEqual(3900);
    });

    test("an absolute ETA is honoured", async () => {
      const eta = new Date(Date.now() + 2500).toISOString();
      const sentAt = Date.now();
      const out = await callOn(app, "ts.add", [2, 2], {}, { eta });
      expect(out).toMatchObject({ state: "SUCCESS", result: 4 });
      expect(Date.now() - sentAt).toBeGreaterThanOrEqual(2400);
    });
  });

  describe("priority queue (taskQueueMaxPriority 10 on both sides)", () => {
    let app: Celery;
    const order: number[] = [];

    beforeAll(() => {
      app = newApp({ taskQueueMaxPriority: 10 });
      app.task("ts.order", (n: number) => {
        order.push(n);
        return n;
      });
    });

    test("priorities 1, 9, 5 sent before the worker starts run 9, 5, 1 (higher first on AMQP)", async () => {
      const env = { PYAPP_QUEUE_MAX_PRIORITY: "10" };
      const ids: string[] = [];
      for (const p of [1, 9, 5]) ids.push(await sendOn(app, "ts.order", [p], { priority: p }, env));
      await newWorker(app, { concurrency: 1, prefetchMultiplier: 1 }).start();
      await waitFor(() => order.length === 3, 20000, "three ordered tasks");
      expect(order).toEqual([9, 5, 1]);
      for (const [i, p] of [1, 9, 5].entries()) expect((await getOn(app, ids[i], env)).result).toBe(p);
    });
  });

  describe("rpc:// backend", () => {
    let app: Celery;

    beforeAll(async () => {
      app = newApp({ backend: "rpc://" });
      app.task("ts.add", (x: number, y: number) => x + y);
      app.task("ts.fail", (m: string) => {
        throw new TypeError(m);
      });
      await newWorker(app).start();
    });

    test("the result reaches the Python client through its reply queue", async () => {
      expect(await callOn(app, "ts.add", [20, 22])).toMatchObject({ state: "SUCCESS", result: 42, exc_type: null });
    });

    test("a JS error reaches the Python client with its type name", async () => {
      const out = await callOn(app, "ts.fail", ["bad type"]);
      expect(out).toMatchObject({ state: "FAILURE", exc_type: "TypeError" });
      expect(out.exc_message).toContain("bad type");
    });
  });
});
