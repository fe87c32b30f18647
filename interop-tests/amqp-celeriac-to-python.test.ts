/**
 * celeriac produces over amqp://, a Python Celery worker (py-amqp; newest Celery and 5.2) runs,
 * celeriac reads the results — each Python in a vhost of its own on the private test RabbitMQ.
 * Results: Redis db 0 of the test Redis (unique task ids, never flushed) and rpc://.
 */
import type { Celery } from "../src";
import { Celery as CeleryApp, CeleryError } from "../src";
import { amqpUrl, createVhost, deleteVhost } from "../test/support/amqp";
import { unique } from "../test/support/app";
import { PYTHONS, type PythonWorker, startPythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import type { SerializerName } from "../src/protocol/serializers";

const BACKEND_DB = 0;

describe.each(PYTHONS)("celeriac → Python ($label) worker on RabbitMQ", (py) => {
  let vhost: string;

  beforeAll(async () => {
    vhost = await createVhost(`amqp-c2p-${py.label}`);
  });
  afterAll(async () => {
    await deleteVhost(vhost);
  });

  describe.each([
    { backendLabel: "Redis", backend: () => testRedisUrl(BACKEND_DB) },
    { backendLabel: "rpc://", backend: () => "rpc://" },
  ])("$backendLabel backend", ({ backendLabel, backend }) => {
    let app: Celery;
    let worker: PythonWorker | undefined;

    beforeAll(async () => {
      app = new CeleryApp("ts", { broker: amqpUrl(vhost), backend: backend(), taskDefaultQueue: unique("amqp-c2p") });
      worker = await startPythonWorker(py, {
        broker: amqpUrl(vhost),
        backend: backend(),
        queues: [app.conf.taskDefaultQueue],
        concurrency: 2,
        env: { PYAPP_ACCEPT: "json,msgpack,yaml" },
      });
    });

    afterAll(async () => {
      await worker?.stop();
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

    const combos: [SerializerName, string | null][] = [];
    for (const s of ["json", "msgpack", "yaml"] as const) for (const c of [null, "zlib", "gzip", "bzip2", "lzma"]) combos.push([s, c]);
    const cases = backendLabel === "Redis" ? combos : combos.filter(([s, c]) => c === null || s === "json");
    test.each(cases)("serializer %s with compression %s is read by the Python worker", async (serializer, compression) => {
      const r = await app.sendTask("py.echo", ["x".repeat(500), 7, "ü"], { k: [true, null] }, { serializer, compression: compression ?? undefined });
      expect(await r.get({ timeout: 20000 })).toEqual({ args: ["x".repeat(500), 7, "ü"], kwargs: { k: [true, null] } });
    });

    test("headers with ints (timeLimit 300, softTimeLimit 240, custom ints) are read by py-amqp without error", async () => {
      const r = await app.sendTask("py.add", [4, 4], {}, {
        timeLimit: 300,
        softTimeLimit: 240,
        headers: { "x-int": 7, "x-big": 2 ** 40, "x-neg": -5, "x-list": [1, 300, 70000], "x-str": "v" },
      });
      expect(await r.get({ timeout: 20000 })).toBe(8);
      // and the worker is still the same, connected one (a header py-amqp cannot read kills its connection)
      const again = await app.sendTask("py.add", [1, 2]);
      expect(await again.get({ timeout: 20000 })).toBe(3);
      const log = worker!.output();
      expect(log).toContain(`py.add[${r.id}] received`);
      expect(log).not.toMatch(/Unrecoverable error|Cannot connect to|Connection to broker lost|Can't decode message body|Received and deleted unknown message/);
    });
  });
});
