/**
 * Celery's publish signals on `app.signals`: `beforeTaskPublish` gets Celery's arguments (sender =
 * the task name, body [args, kwargs, embed], exchange "" and the queue as routing key for a direct
 * route, headers, properties, declare) and what it changes in the headers and the body is what the
 * worker receives; `afterTaskPublish` follows once the broker accepted the message. On both brokers.
 */
import { Celery } from "../../src";
import type { Worker, WorkerEventMap } from "../../src";
import { captureLogger, unique } from "../support/app";
import { BROKERS, type BrokerLease } from "../support/brokers";
import { testRedisUrl } from "../support/redis";

describe.each(BROKERS)("on $name", (broker) => {
  let lease: BrokerLease;
  let app: Celery;
  let worker: Worker;
  const queue = unique("signals");

  beforeAll(async () => {
    lease = await broker.open("signals", 10);
    app = new Celery("signals", { broker: lease.url, backend: testRedisUrl(11), taskDefaultQueue: queue });
    app.task("s.seen", (ctx, x: number) => ({ x, tenant: ctx.request.headers.x_tenant ?? null }), { bind: true, params: ["x"] });
    worker = app.worker({ concurrency: 1, logger: captureLogger() });
    await worker.start();
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await lease?.close();
  });

  test("a header and a kwarg set by beforeTaskPublish reach the handler; afterTaskPublish follows with the same message", async () => {
    const before: Array<WorkerEventMap["beforeTaskPublish"]> = [];
    const after: Array<WorkerEventMap["afterTaskPublish"]> = [];
    const offs = [
      app.signals.on("beforeTaskPublish", (e) => {
        before.push(e);
        e.headers.x_tenant = "acme";
        e.body[1].x = 42;
      }),
      app.signals.on("afterTaskPublish", (e) => {
        after.push(e);
      }),
    ];
    try {
      const r = await app.sendTask("s.seen", [], { x: 1 });
      expect(await r.get({ timeout: 15_000 })).toEqual({ x: 42, tenant: "acme" });
      expect(before).toHaveLength(1);
      const e = before[0];
      expect(e.sender).toBe("s.seen");
      expect(e.exchange).toBe("");
      expect(e.routingKey).toBe(queue);
      expect(e.headers.id).toBe(r.id);
      expect(e.properties.correlation_id).toBe(r.id);
      expect(e.declare.map((d) => d.name)).toEqual([queue]);
      expect(e.body[2]).toEqual({ callbacks: null, errbacks: null, chain: null, chord: null });
      expect(after).toHaveLength(1);
      expect(after[0]).toMatchObject({ sender: "s.seen", exchange: "", routingKey: queue });
      expect(after[0].headers.x_tenant).toBe("acme");
    } finally {
      offs.forEach((off) => off());
    }
  }, 30_000);
});
