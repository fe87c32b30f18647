/** Python Celery produces, a celeriac worker runs, Python reads the results (newest Celery and 5.2). */
import type { Celery, Worker } from "../src";
import { captureLogger, testApp } from "../test/support/app";
import { pyClient, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";

const BROKER = testRedisUrl(10);
const BACKEND = testRedisUrl(11);

interface Outcome {
  state: string;
  result: unknown;
  exc_type: string | null;
  exc_message: string | null;
  exc_module: string | null;
}

describe.each(PYTHONS)("Python ($label) → celeriac worker on Redis", (py) => {
  let app: Celery;
  let worker: Worker;
  const order: number[] = [];
  const logger = captureLogger();
  const env = () => ({ PYAPP_BROKER: BROKER, PYAPP_BACKEND: BACKEND, PYAPP_ACCEPT: "json", PYAPP_QUEUES: app.conf.taskDefaultQueue });
  const call = (task: string, args: unknown[], kwargs: object = {}, options: object = {}) =>
    pyClient(py, ["call", task, "--args", JSON.stringify(args), "--kwargs", JSON.stringify(kwargs), "--options", JSON.stringify({ queue: app.conf.taskDefaultQueue, ...options }), "--timeout", "20"], env()) as Promise<Outcome>;

  beforeAll(async () => {
    app = testApp({ broker: BROKER, backend: BACKEND, acceptContent: ["json", "msgpack", "yaml"] });
    app.task("ts.add", (x: number, y: number) => x + y);
    app.task("ts.mul", (x: number, y: number) => x * y, { params: ["x", "y"] });
    app.task("ts.echo", (...args: unknown[]) => args);
    app.task("ts.order", (n: number) => {
      order.push(n);
      return n;
    });
    app.task("ts.fail", (m: string) => {
      throw new RangeError(m);
    });
    worker = app.worker({ concurrency: 1, logger });
  });

  afterAll(async () => {
    await worker.stop();
    await app.close();
  });

  test("tasks sent with priorities before the worker starts run lowest number first (Redis)", async () => {
    for (const p of [9, 0, 5]) {
      await pyClient(py, ["send", "ts.order", "--args", JSON.stringify([p]), "--options", JSON.stringify({ queue: app.conf.taskDefaultQueue, priority: p })], env());
    }
    await worker.start();
    const last = await call("ts.order", [100], {}, { priority: 9 });
    expect(last.result).toBe(100);
    expect(order).toEqual([0, 5, 9, 100]);
  });

  test("apply_async with args returns the result to Python", async () => {
    expect((await call("ts.add", [2, 3])).result).toBe(5);
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
    const out = await call("ts.echo", ["s", 1, [true, null]], {}, { serializer });
    expect(out.state).toBe("SUCCESS");
    expect(out.result).toEqual(["s", 1, [true, null]]);
  });

  test.each(["zlib", "gzip", "bzip2", "lzma"])("compression %s is read by the celeriac worker", async (compression) => {
    const out = await call("ts.echo", ["x".repeat(2000)], {}, { compression });
    expect(out.result).toEqual(["x".repeat(2000)]);
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
