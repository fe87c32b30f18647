/**
 * rpc:// result backend between celeriac and Python Celery (newest Celery and 5.2), on the Redis
 * broker and on RabbitMQ (a vhost of its own per Python):
 *   (a) a Python client calls a celeriac task and reads the result the celeriac worker sent to its
 *       reply queue;
 *   (b) a celeriac client calls a Python task (Python worker with backend rpc://) and reads it.
 * On Redis, the reply envelope of the celeriac worker is also compared with the Python worker's.
 *
 * Redis: db 1 of the private test Redis, unique queue names (never flushed).
 */
import { randomUUID } from "node:crypto";
import { Celery, CeleryError } from "../src";
import type { Worker } from "../src";
import { RpcBackend } from "../src/backend/rpc";
import { buildResultMeta } from "../src/protocol/result-meta";
import type { WireValue } from "../src/protocol/message";
import { captureLogger, unique } from "../test/support/app";
import { pyClient, type PyOutcome, pythonCeleryVersion, PYTHONS, type PythonWorker, startPythonWorker } from "../test/support/python";
import { BROKERS, type BrokerLease } from "../test/support/brokers";
import { rawRedis } from "../test/support/redis";
import { type KombuEnvelope, parseEnvelope } from "../test/support/vectors";
import { waitFor } from "../test/support/wait";

/** An envelope's properties but delivery_tag and delivery_info.routing_key (which differ between two replies). */
function withoutTagAndRoutingKey(p: KombuEnvelope["properties"]): { [key: string]: unknown } {
  const { delivery_tag: _tag, delivery_info, ...rest } = p;
  const { routing_key: _rk, ...info } = delivery_info;
  return { ...rest, delivery_info: info };
}

const REDIS_DB = 1;

const CASES = BROKERS.flatMap((broker) => PYTHONS.map((py) => ({ broker, py, name: `${py.label} on ${broker.name}` })));

describe.each(CASES)("rpc:// interop: $name", ({ broker, py }) => {
  const d = describe;
  let lease: BrokerLease;
  beforeAll(async () => {
    lease = await broker.open(`rpc-${py.label}`, REDIS_DB);
  });
  afterAll(async () => {
    await lease?.close();
  });

  d("(a) Python client → celeriac worker", () => {
    let app: Celery;
    let worker: Worker;
    const env = () => ({ PYAPP_BROKER: lease.url, PYAPP_BACKEND: "rpc://", PYAPP_ACCEPT: "json", PYAPP_QUEUES: app.conf.taskDefaultQueue });
    const call = (task: string, args: unknown[], extra: string[] = []) =>
      pyClient(py, ["call", task, "--args", JSON.stringify(args), "--timeout", "20", ...extra], env()) as Promise<PyOutcome>;

    beforeAll(async () => {
      app = new Celery("ts", { broker: lease.url, backend: "rpc://", taskDefaultQueue: unique("rpc-a"), taskTrackStarted: true });
      app.task("ts.add", (x: number, y: number) => x + y);
      app.task("ts.echo", (...args: unknown[]) => args);
      app.task("ts.fail", (m: string) => {
        throw new RangeError(m);
      });
      app.task(
        "ts.progress",
        async (ctx, n: number) => {
          await ctx.updateState("PROGRESS", { n });
          return n + 1;
        },
        { bind: true },
      );
      worker = app.worker({ concurrency: 2, logger: captureLogger() });
      await worker.start();
    });

    afterAll(async () => {
      await worker?.stop();
      await app?.close();
    });

    test("the result reaches the Python client through its reply queue (after STARTED)", async () => {
      const out = await call("ts.add", [2, 3], ["--states"]);
      expect(out).toMatchObject({ state: "SUCCESS", result: 5, exc_type: null });
      expect(out.states?.map(([status]) => status)).toEqual(["STARTED", "SUCCESS"]);
      expect(out.states?.[1]).toEqual(["SUCCESS", 5]);
    });

    test("unicode and nested data survive the round trip", async () => {
      const out = await call("ts.echo", ["é 🎉", { a: [1, 2.5, null, true] }]);
      expect(out.result).toEqual(["é 🎉", { a: [1, 2.5, null, true] }]);
    });

    test("custom states before the result are skipped by the Python client", async () => {
      const out = await call("ts.progress", [41], ["--states"]);
      expect(out.result).toBe(42);
      // get() received PROGRESS (with its meta) and went on waiting for the ready state
      expect(out.states?.filter(([status]) => status !== "STARTED")).toEqual([
        ["PROGRESS", { n: 41 }],
        ["SUCCESS", 42],
      ]);
    });

    test("a failure reaches the Python client as an exception with the traceback", async () => {
      const out = await call("ts.fail", ["nope"], ["--no-propagate"]);
      expect(out.state).toBe("FAILURE");
      expect(out.exc_type).toBe("RangeError");
      expect(out.exc_message).toContain("nope");
      expect(out.traceback).toMatch(/^Traceback \(most recent call last\):\n/);
    });
  });

  d("(b) celeriac client → Python worker", () => {
    let app: Celery;
    let pyWorker: PythonWorker;

    beforeAll(async () => {
      app = new Celery("ts", { broker: lease.url, backend: "rpc://", taskDefaultQueue: unique("rpc-b") });
      pyWorker = await startPythonWorker(py, {
        broker: lease.url,
        backend: "rpc://",
        queues: [app.conf.taskDefaultQueue],
        concurrency: 2,
        env: { PYAPP_ACCEPT: "json", PYAPP_TRACK_STARTED: "1" },
      });
    });

    afterAll(async () => {
      await pyWorker?.stop();
      await app?.close();
    });

    test("sendTask runs a Python task; get() returns the result sent to this client's reply queue", async () => {
      const r = await app.sendTask("py.add", [2, 3]);
      expect(await r.get({ timeout: 20000 })).toBe(5);
      expect(await r.state()).toBe("SUCCESS");
    });

    test("several tasks in flight are matched to their results", async () => {
      const rs = await Promise.all([1, 2, 3, 4].map((n) => app.sendTask("py.mul", [n, 10])));
      expect(await Promise.all(rs.map((r) => r.get({ timeout: 20000 })))).toEqual([10, 20, 30, 40]);
    });

    test("STARTED (task_track_started) is seen while the Python task runs, then the result", async () => {
      const r = await app.sendTask("py.sleep", [1.5]);
      await waitFor(async () => (await r.state()) === "STARTED", 15000, "STARTED");
      expect(await r.result()).toMatchObject({ pid: expect.any(Number) as unknown, hostname: expect.any(String) as unknown });
      expect(await r.get({ timeout: 20000 })).toBe(1.5);
    });

    test("a Python exception rejects get() with its type, args, module and traceback", async () => {
      const r = await app.sendTask("py.fail", ["boom"]);
      const err = await r.get({ timeout: 20000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CeleryError);
      expect(err).toMatchObject({ excType: "ValueError", excMessage: ["boom", 42], excModule: "builtins" });
      expect(await r.traceback()).toMatch(/ValueError: \('boom', 42\)/);
    });

    if (broker.transport === "redis") {
      test("the celeriac worker's reply envelope on Redis equals the Python worker's (but delivery_tag)", async () => {
        const version = await pythonCeleryVersion(py);
        const pyList = `capture-py-${randomUUID()}`;
        const tsList = `capture-ts-${randomUUID()}`;
        // the Python worker replies to a list nobody consumes
        const r = await app.sendTask("py.add", [2, 2], {}, { replyTo: pyList });
        const redis = rawRedis(REDIS_DB);
        try {
          await waitFor(async () => (await redis.llen(pyList)) === 2, 20000, "STARTED and SUCCESS from Python");
          const [pySuccess, pyStarted] = await redis.lrange(pyList, 0, -1);
          const backend = (await app.backend()) as RpcBackend;
          const route = { replyTo: tsList, correlationId: r.id };
          const started = parseEnvelope(pyStarted);
          const startedBody = JSON.parse(Buffer.from(started.body, "base64").toString("utf8")) as { result: WireValue };
          await backend.store(r.id, buildResultMeta({ taskId: r.id, status: "STARTED", result: startedBody.result }), route);
          await backend.store(r.id, buildResultMeta({ taskId: r.id, status: "SUCCESS", result: 4 }), route);
          const [tsSuccess, tsStarted] = await redis.lrange(tsList, 0, -1);
          for (const [ours, theirs] of [
            [tsStarted, pyStarted],
            [tsSuccess, pySuccess],
          ]) {
            const a = parseEnvelope(ours);
            const b = parseEnvelope(theirs);
            expect(Object.keys(a)).toEqual(Object.keys(b));
            expect(Object.keys(a.properties)).toEqual(Object.keys(b.properties));
            expect(withoutTagAndRoutingKey(a.properties)).toEqual(withoutTagAndRoutingKey(b.properties));
            expect(a.headers).toEqual(b.headers);
            expect(a["content-type"]).toBe(b["content-type"]);
            expect(a["content-encoding"]).toBe(b["content-encoding"]);
            const bodyA = Buffer.from(a.body, "base64").toString("utf8");
            const bodyB = Buffer.from(b.body, "base64").toString("utf8");
            if (version.startsWith("5.2.")) {
              expect(bodyA).toBe(bodyB); // byte for byte (5.2 layout)
            } else {
              // newer Celery sends the §7.1 document (date_done, ...); the common fields agree
              expect(JSON.parse(bodyB)).toMatchObject(JSON.parse(bodyA));
            }
          }
        } finally {
          await redis.del(pyList, tsList);
          redis.disconnect();
        }
      });
    }
  });
});
