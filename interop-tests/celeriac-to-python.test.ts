/** celeriac produces, a Python Celery worker runs, celeriac reads the results (newest Celery and 5.2). */
import type { Celery } from "../src";
import { CeleryError } from "../src";
import { testApp } from "../test/support/app";
import { PYTHONS, startPythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";

const BROKER = testRedisUrl(12);
const BACKEND = testRedisUrl(13);

describe.each(PYTHONS)("celeriac → Python ($label) worker on Redis", (py) => {
  let app: Celery;
  let stopWorker: () => Promise<void>;

  beforeAll(async () => {
    app = testApp({ broker: BROKER, backend: BACKEND });
    const w = await startPythonWorker(py, {
      broker: BROKER,
      backend: BACKEND,
      queues: [app.conf.taskDefaultQueue],
      concurrency: 2,
      env: { PYAPP_ACCEPT: "json,msgpack,yaml" },
    });
    stopWorker = () => w.stop();
  });

  afterAll(async () => {
    await stopWorker?.();
    await app?.close();
  });

  test("sendTask runs a Python task and get() returns its result", async () => {
    const r = await app.sendTask("py.add", [2, 3]);
    expect(await r.get({ timeout: 20000 })).toBe(5);
  });

  test("kwargs, unicode and nested data reach Python intact", async () => {
    const kwargs = { "ключ": "值 🎉", nested: { list: [1, 2.5, { a: null }] } };
    const r = await app.sendTask("py.echo", ["é", [1, [2]]], kwargs);
    expect(await r.get({ timeout: 20000 })).toEqual({ args: ["é", [1, [2]]], kwargs });
  });

  test("a Python exception rejects get() with its type, args and module", async () => {
    const r = await app.sendTask("py.fail", ["boom"]);
    const err = await r.get({ timeout: 20000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CeleryError);
    expect(err).toMatchObject({ excType: "ValueError", excMessage: ["boom", 42], excModule: "builtins" });
    expect(await r.traceback()).toMatch(/ValueError: \('boom', 42\)/);
  });

  test.each([
    ["json", null],
    ["msgpack", null],
    ["yaml", null],
    ["json", "zlib"],
    ["json", "bzip2"],
    ["json", "lzma"],
  ] as const)("serializer %s with compression %s is read by the Python worker", async (serializer, compression) => {
    const r = await app.sendTask("py.echo", ["x".repeat(500), 7], {}, { serializer, compression: compression ?? undefined });
    expect(await r.get({ timeout: 20000 })).toEqual({ args: ["x".repeat(500), 7], kwargs: {} });
  });

  test("countdown is honoured by the Python worker", async () => {
    const sent = Date.now();
    const r = await app.sendTask("py.add", [1, 1], {}, { countdown: 1.5 });
    expect(await r.get({ timeout: 20000 })).toBe(2);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(1400);
  });

  test("timeLimit and a custom header cross as Celery's header shapes", async () => {
    const r = await app.sendTask("py.request_fields", ["x-custom", "shadow"], {}, {
      timeLimit: 30,
      softTimeLimit: 20,
      headers: { "x-custom": "v" },
      shadow: "shadowed",
    });
    // Celery's request.timelimit is (hard, soft); the custom header and shadow arrive as request fields.
    expect(await r.get({ timeout: 20000 })).toEqual({ timelimit: [30, 20], headers: { "x-custom": "v", shadow: "shadowed" } });
  });
});
