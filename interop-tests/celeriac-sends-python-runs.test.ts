/**
 * celeriac produces, a Python Celery worker (newest Celery and 5.2) runs, celeriac reads the
 * results — on Redis and on RabbitMQ (py-amqp; a vhost of its own per Python). Results: Redis db 13
 * of the test Redis (unique task ids, never flushed), and on RabbitMQ also rpc://.
 */
import type { Celery } from "../src";
import { Celery as CeleryApp, CeleryError, chain } from "../src";
import { unique } from "../test/support/app";
import { BROKERS, type BrokerLease } from "../test/support/brokers";
import { PYTHONS, type PythonWorker, startPythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import type { SerializerName } from "../src/protocol/serializers";

const REDIS_BACKEND = { backendLabel: "Redis", backend: () => testRedisUrl(13) };
// rpc:// with a Python worker runs on RabbitMQ, its usual broker; celeriac's rpc:// on both brokers
// is test/integration/rpc-backend.test.ts.
const RPC_BACKEND = { backendLabel: "rpc://", backend: () => "rpc://" };

describe.each(BROKERS)("on $name", (broker) => {
  describe.each(PYTHONS)("celeriac → Python ($label) worker", (py) => {
    let lease: BrokerLease;

    beforeAll(async () => {
      lease = await broker.open(`c2p-${py.label}`, 12);
    });
    afterAll(async () => {
      await lease?.close();
    });

    describe.each(broker.transport === "amqp" ? [REDIS_BACKEND, RPC_BACKEND] : [REDIS_BACKEND])("$backendLabel backend", ({ backendLabel, backend }) => {
      let app: Celery;
      let worker: PythonWorker | undefined;

      beforeAll(async () => {
        app = new CeleryApp("ts", { broker: lease.url, backend: backend(), taskDefaultQueue: unique("c2p") });
        worker = await startPythonWorker(py, {
          broker: lease.url,
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

      test("sendTasks: a batch of 100 runs on the Python worker and every result reads back, in order", async () => {
        const results = await app.sendTasks<number>(Array.from({ length: 100 }, (_, i) => ({ name: "py.add", args: [i, 1000] })));
        expect(await Promise.all(results.map((r) => r.get({ timeout: 30000 })))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1000));
      });

      test("Python tasks declared with remoteTask are called typed: delay, kwargs by name, a chain", async () => {
        const add = app.remoteTask<[x: number, y: number], number, ["x", "y"]>("py.add");
        const mul = app.remoteTask<[x: number, y: number], number, ["x", "y"]>("py.mul");
        expect(await (await add.delay(2, 3)).get({ timeout: 20000 })).toBe(5);
        expect(await (await add.applyAsync([2], { y: 40 })).get({ timeout: 20000 })).toBe(42);
        expect(await (await mul.applyAsync([], { x: 6, y: 7 })).get({ timeout: 20000 })).toBe(42);
        const last = await chain(add.s(1, 2), mul.s(10)).applyAsync();
        const n: number = await last.get({ timeout: 20000 });
        expect(n).toBe(30);
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

      test("countdown is honoured by the Python worker", async () => {
        const sent = Date.now();
        const r = await app.sendTask("py.add", [1, 1], {}, { countdown: 1.5 });
        expect(await r.get({ timeout: 20000 })).toBe(2);
        // a lower bound only: the task must not run early (sent is taken before the ETA is computed)
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

      test("headers with ints (timeLimit 300, softTimeLimit 240, custom ints) are read without error (py-amqp on RabbitMQ)", async () => {
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
});
