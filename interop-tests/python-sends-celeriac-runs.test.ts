/**
 * Python Celery produces (newest Celery and 5.2), a celeriac worker (in-process) runs, Python reads
 * the results — on Redis and on RabbitMQ (py-amqp; a vhost of its own per Python). Results: Redis db 9
 * of the test Redis (unique task ids, never flushed) and rpc://. Priorities are the one place the
 * brokers differ: kombu's Redis transport runs the lowest number first, RabbitMQ the highest.
 */
import type { Celery, Worker } from "../src";
import { Celery as CeleryApp } from "../src";
import { parseDateDone } from "../src/protocol/result-meta";
import { captureLogger, storedMeta, unique } from "../test/support/app";
import { BROKERS, type BrokerLease } from "../test/support/brokers";
import { pyClient, pyInline, type PyOutcome, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

/** When the worker stored the task's result (date_done in backend db 9), in ms. */
async function doneAt(id: string): Promise<number> {
  const done = parseDateDone((await storedMeta(id))?.date_done as string | undefined);
  if (!done) throw new Error(`no date_done stored for ${id}`);
  return done.getTime();
}

describe.each(BROKERS)("on $name", (broker) => {
  describe.each(PYTHONS)("Python ($label) → celeriac worker", (py) => {
    let lease: BrokerLease;
    const apps: Celery[] = [];
    const workers: Worker[] = [];
    const newApp = (settings: ConstructorParameters<typeof CeleryApp>[1] = {}): Celery => {
      const app = new CeleryApp("ts", {
        broker: lease.url,
        backend: testRedisUrl(9),
        taskDefaultQueue: unique("p2c"),
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
      PYAPP_BROKER: lease.url,
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
      ) as Promise<PyOutcome>;
    const sendOn = async (app: Celery, task: string, args: unknown[], options: object = {}, env: Record<string, string> = {}) =>
      ((await pyClient(py, ["send", task, "--args", JSON.stringify(args), "--options", JSON.stringify({ queue: app.conf.taskDefaultQueue, ...options })], envFor(app, env))) as { id: string }).id;
    const getOn = (app: Celery, id: string, env: Record<string, string> = {}) =>
      pyClient(py, ["get", id, "--timeout", "30", "--no-propagate"], envFor(app, env)) as Promise<PyOutcome>;

    beforeAll(async () => {
      lease = await broker.open(`p2c-${py.label}`, 10);
    });

    afterAll(async () => {
      for (const w of workers) await w.stop();
      for (const a of apps) await a.close();
      await lease?.close();
    });

    describe("Redis backend", () => {
      let app: Celery;
      const call = (task: string, args: unknown[], kwargs: object = {}, options: object = {}) => callOn(app, task, args, kwargs, options);

      beforeAll(async () => {
        app = newApp();
        app.task("ts.add", (x: number, y: number) => x + y);
        app.task("ts.mul", (x: number, y: number) => x * y, { params: ["x", "y"] });
        app.task("ts.echo", (...args: unknown[]) => args);
        app.task("ts.resize", (path: string, width: number, height = 480) => [path, width, height]);
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

      test("kwargs-only calls reach a plain handler by its declared parameter names", async () => {
        expect(await call("ts.resize", [], { width: 640, path: "/a.png" })).toMatchObject({ state: "SUCCESS", result: ["/a.png", 640, 480] });
      });

      test("date_done is read by Python as an aware UTC datetime (subtracting it from an aware now works)", async () => {
        const id = (await call("ts.add", [1, 1])).id;
        const code = `
import datetime, json, sys
from pyapp import app
r = app.AsyncResult(json.load(sys.stdin))
d = r.date_done
age = (datetime.datetime.now(datetime.timezone.utc) - d).total_seconds()
print(json.dumps({"offset": d.utcoffset().total_seconds(), "age": age}))
`;
        const out = (await pyInline(py, code, id, envFor(app))) as { offset: number; age: number };
        expect(out.offset).toBe(0);
        expect(out.age).toBeGreaterThanOrEqual(0);
        expect(out.age).toBeLessThan(120);
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

      // Times are the worker's (date_done), measured from before Python was started to send: a task
      // run early fails the lower bounds, however long Python's start-up takes.
      test("a countdown is honoured and the held message does not block the next task (basic.qos raised on RabbitMQ)", async () => {
        const sentAt = Date.now();
        const delayed = await sendOn(app, "ts.add", [10, 1], { countdown: 4 });
        // the worker holds the ETA message; with prefetch 1 the next one only arrives if qos was raised
        const now = await callOn(app, "ts.add", [1, 1]);
        expect(now).toMatchObject({ state: "SUCCESS", result: 2 });
        const later = await getOn(app, delayed);
        expect(later).toMatchObject({ state: "SUCCESS", result: 11 });
        // not stuck behind the held ETA message: the later task ran first
        expect(await doneAt(now.id)).toBeLessThan(await doneAt(delayed));
        expect((await doneAt(delayed)) - sentAt).toBeGreaterThanOrEqual(3900);
      });

      test("an absolute ETA is honoured", async () => {
        const eta = Date.now() + 2500;
        const out = await callOn(app, "ts.add", [2, 2], {}, { eta: new Date(eta).toISOString() });
        expect(out).toMatchObject({ state: "SUCCESS", result: 4 });
        expect(await doneAt(out.id)).toBeGreaterThanOrEqual(eta - 100);
      });
    });

    // The one case where the brokers differ: kombu's Redis transport emulates priorities with one
    // list per step and serves the lowest number first; RabbitMQ (x-max-priority) the highest.
    if (broker.transport === "redis") {
      describe("priority steps", () => {
        test("tasks sent with priorities before the worker starts run lowest number first (Redis)", async () => {
          const order: number[] = [];
          const app = newApp();
          app.task("ts.order", (n: number) => {
            order.push(n);
            return n;
          });
          for (const p of [9, 0, 5]) await sendOn(app, "ts.order", [p], { priority: p });
          await newWorker(app, { concurrency: 1 }).start();
          const last = await callOn(app, "ts.order", [100], {}, { priority: 9 });
          expect(last.result).toBe(100);
          expect(order).toEqual([0, 5, 9, 100]);
        });
      });
    } else {
      describe("priority queue (taskQueueMaxPriority 10 on both sides)", () => {
        test("priorities 1, 9, 5 sent before the worker starts run 9, 5, 1 (higher first on AMQP)", async () => {
          const order: number[] = [];
          const app = newApp({ taskQueueMaxPriority: 10 });
          app.task("ts.order", (n: number) => {
            order.push(n);
            return n;
          });
          const env = { PYAPP_QUEUE_MAX_PRIORITY: "10" };
          const ids: string[] = [];
          for (const p of [1, 9, 5]) ids.push(await sendOn(app, "ts.order", [p], { priority: p }, env));
          await newWorker(app, { concurrency: 1, prefetchMultiplier: 1 }).start();
          await waitFor(() => order.length === 3, 20000, "three ordered tasks");
          expect(order).toEqual([9, 5, 1]);
          for (const [i, p] of [1, 9, 5].entries()) expect((await getOn(app, ids[i], env)).result).toBe(p);
        });
      });
    }

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
});
