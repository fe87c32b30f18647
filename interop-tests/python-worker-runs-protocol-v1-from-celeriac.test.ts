/**
 * `taskProtocol: 1` (Celery's task_protocol): a Python worker (newest Celery and 5.2) runs the
 * legacy messages celeriac sends, on Redis and RabbitMQ, with args, kwargs and a countdown; the
 * results read back from the Redis backend (db 13, unique ids, never flushed).
 */
import type { Celery } from "../src";
import { Celery as CeleryApp } from "../src";
import { unique } from "../test/support/app";
import { BROKERS, type BrokerLease } from "../test/support/brokers";
import { PYTHONS, type PythonWorker, startPythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { parseDateDone } from "../src/protocol/result-meta";

describe.each(BROKERS)("on $name", (broker) => {
  describe.each(PYTHONS)("celeriac (protocol 1) → Python ($label) worker", (py) => {
    let lease: BrokerLease;
    let app: Celery;
    let worker: PythonWorker | undefined;

    beforeAll(async () => {
      lease = await broker.open(`v1-${py.label}`, 12);
      app = new CeleryApp("ts", { broker: lease.url, backend: testRedisUrl(13), taskDefaultQueue: unique("v1"), taskProtocol: 1 });
      worker = await startPythonWorker(py, { broker: lease.url, backend: testRedisUrl(13), queues: [app.conf.taskDefaultQueue], concurrency: 2 });
    });
    afterAll(async () => {
      await worker?.stop();
      await app?.close();
      await lease?.close();
    });

    test("a v1 message runs and its result reads back", async () => {
      const r = await app.sendTask("py.add", [2, 3]);
      expect(await r.get({ timeout: 20000 })).toBe(5);
    });

    test("kwargs and unicode reach Python intact; a countdown is honoured", async () => {
      const sent = Date.now();
      const kwargs = { "ключ": "值 🎉", nested: { list: [1, 2.5, { a: null }] } };
      const r = await app.sendTask("py.echo", ["é"], kwargs, { countdown: 1 });
      expect(await r.get({ timeout: 20000 })).toEqual({ args: ["é"], kwargs });
      const meta = await r.meta();
      expect(parseDateDone(meta?.date_done as string | undefined)!.getTime()).toBeGreaterThanOrEqual(sent + 1000);
      expect(worker!.output()).not.toMatch(/Received invalid task message|KeyError|Traceback/);
    });
  });
});
