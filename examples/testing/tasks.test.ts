// How to test celeriac tasks with jest and nothing else running (no Redis, no RabbitMQ, no worker
// process): eagerly (`task.apply()`, `taskAlwaysEager`) or with a real worker in the test process
// on the in-memory broker (`memory://` + `cache+memory://`). Run by celeriac's test suite.
import { chain, Logger } from "../../src"; // in your project: from "celeriac"
import type { Worker } from "../../src";
import { add, app, charge, totalOf } from "./tasks";

describe("eager: the task runs in the test, no broker", () => {
  beforeAll(() => {
    app.conf.taskAlwaysEager = true; // Celery's task_always_eager: delay()/applyAsync() run here
  });
  afterAll(() => {
    app.conf.taskAlwaysEager = false;
  });

  test("task.run() is the plain function, typed", () => {
    expect(add.run(2, 3)).toBe(5);
  });

  test("task.apply() runs it now and gives an EagerResult", async () => {
    const result = await add.apply([2], { y: 3 });
    expect(await result.state()).toBe("SUCCESS");
    expect(await result.get()).toBe(5);
  });

  test("code that calls delay() runs its tasks in the test", async () => {
    expect(await totalOf([1, 2, 3])).toBe(6);
  });

  test("retries run at once, countdowns are not waited", async () => {
    const result = await charge.apply([7, false]);
    expect(await result.get()).toEqual({ orderId: 7, charged: true, attempts: 2 });
  });

  test("a failure is a FAILURE result; throw: true (or taskEagerPropagates) throws it instead", async () => {
    // @ts-expect-error -- add has no parameter z: the types refuse the call, and at run time it fails as in Python
    const failed = await add.apply([1], { z: 2 });
    expect(await failed.state()).toBe("FAILURE");
    await expect(failed.get()).rejects.toThrow("unexpected keyword argument 'z'");
    // @ts-expect-error -- as above
    await expect(add.apply([1], { z: 2 }, { throw: true })).rejects.toThrow(TypeError);
  });

  test("canvas too: a chain gives its last step's result", async () => {
    const result = await chain(add.s(1, 2), add.s(10)).applyAsync();
    expect(await result.get()).toBe(13);
  });
});

describe("memory://: a real worker inside the test process", () => {
  let worker: Worker;

  beforeAll(async () => {
    // Before the app's first connection: the in-process broker and result backend.
    app.conf.broker = "memory://";
    app.conf.backend = "cache+memory://";
    worker = app.worker({ concurrency: 2, logger: new Logger("ERROR") });
    await worker.start();
  });
  afterAll(async () => {
    await worker.stop();
    await app.close();
  });

  test("tasks go through the broker to the worker, results come back", async () => {
    expect(await totalOf([1, 2, 3])).toBe(6);
  });

  test("retries are real messages, run by the worker", async () => {
    const result = await charge.delay(8, false);
    expect(await result.get({ timeout: 5000 })).toEqual({ orderId: 8, charged: true, attempts: 2 });
  });
});
