/**
 * Client task-sent events (task_send_sent_event, Celery's amqp.send_task_message) and the
 * worker's task-rejected (Request.reject on an acksLate reject) and unknown-task task-failed
 * (Consumer.on_unknown_task), seen by celeriac's EventReceiver on Redis.
 * Field sets and values are those Python Celery 5.2 and 5.7 send (checked against real Celery).
 */
import { randomUUID } from "node:crypto";
import { Celery } from "../../src/celery";
import { ORIGIN } from "../../src/client/producer";
import { EventReceiver } from "../../src/events/receiver";
import type { CeleryEvent } from "../../src/events/dispatcher";
import type { Worker } from "../../src/worker/worker";
import { captureLogger, storedMeta, testApp } from "../support/app";
import { rawRedis } from "../support/redis";
import { waitFor } from "../support/wait";
import { loadVector } from "../support/vectors";

const events: CeleryEvent[] = [];
let listener: Celery;
let receiver: EventReceiver;

beforeAll(async () => {
  listener = testApp();
  receiver = new EventReceiver(await listener.connection(), (e) => events.push(e));
  await receiver.start();
});

afterAll(async () => {
  await receiver.stop();
  await listener.close();
});

const of = (uuid: string, type?: string) => events.filter((e) => e.uuid === uuid && (!type || e.type === type));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("task-sent (taskSendSentEvent)", () => {
  let client: Celery;
  beforeAll(() => {
    client = testApp({ taskSendSentEvent: true });
  });
  afterAll(() => client.close());

  test("has Celery's fields in Celery's order, with the message's reprs, ids and route", async () => {
    const r = await client.sendTask("ev.add", [1, "x"], { k: [1] });
    await waitFor(() => of(r.id, "task-sent").length === 1, 5000, "task-sent");
    const e = of(r.id, "task-sent")[0];
    const queue = client.conf.taskDefaultQueue;
    // the fields, in order, of the task-sent event Celery 5.2 sent (vector event-redis-task-sent)
    const captured = (loadVector("event-redis-task-sent").decoded as { body: Record<string, unknown> }).body;
    expect(Object.keys(e)).toEqual(Object.keys(captured));
    expect(Object.keys(e)).toEqual([
      "hostname", "utcoffset", "pid", "clock",
      "uuid", "root_id", "parent_id", "name", "args", "kwargs", "retries", "eta", "expires", "queue", "exchange", "routing_key",
      "timestamp", "type",
    ]);
    expect(e).toEqual({
      hostname: ORIGIN,
      utcoffset: expect.any(Number) as unknown,
      pid: process.pid,
      clock: expect.any(Number) as unknown,
      uuid: r.id,
      root_id: r.id,
      parent_id: null,
      name: "ev.add",
      args: "(1, 'x')",
      kwargs: "{'k': [1]}",
      retries: 0,
      eta: null,
      expires: null,
      queue,
      exchange: "",
      routing_key: queue,
      timestamp: expect.any(Number) as unknown,
      type: "task-sent",
    });
  });

  test("eta and expires are the message headers' ISO strings; an explicit exchange and routing key are reported", async () => {
    const redis = rawRedis(8);
    try {
      const r = await client.sendTask("ev.later", [], {}, { countdown: 60, expires: 120, queue: `q-${randomUUID().slice(0, 8)}` });
      await waitFor(() => of(r.id, "task-sent").length === 1, 5000, "task-sent");
      const e = of(r.id, "task-sent")[0];
      const raw = JSON.parse((await redis.lrange(e.queue as string, 0, 0))[0]) as { headers: { eta: string; expires: string } };
      expect(e).toMatchObject({ eta: raw.headers.eta, expires: raw.headers.expires, exchange: "", routing_key: e.queue });
      expect(e.eta).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
      const queue = `q-${randomUUID().slice(0, 8)}`;
      const routed = await client.sendTask("ev.routed", [], {}, { queue, exchange: "ev-ex", routingKey: "ev-rk" });
      await waitFor(() => of(routed.id, "task-sent").length === 1, 5000, "task-sent");
      expect(of(routed.id, "task-sent")[0]).toMatchObject({ queue, exchange: "ev-ex", routing_key: "ev-rk" });
    } finally {
      redis.disconnect();
    }
  });

  test("the clock moves forward with each event", async () => {
    const a = await client.sendTask("ev.a");
    const b = await client.sendTask("ev.b");
    await waitFor(() => of(a.id, "task-sent").length === 1 && of(b.id, "task-sent").length === 1, 5000, "task-sent");
    expect(of(b.id, "task-sent")[0].clock as number).toBeGreaterThan(of(a.id, "task-sent")[0].clock as number);
  });
});

test("no task-sent event when taskSendSentEvent is off (the default)", async () => {
  const client = testApp();
  const on = testApp({ taskSendSentEvent: true, taskDefaultQueue: client.conf.taskDefaultQueue });
  try {
    const quiet = await client.sendTask("ev.quiet");
    // A later event from another client proves the receiver was listening when the first was sent.
    const loud = await on.sendTask("ev.loud");
    await waitFor(() => of(loud.id, "task-sent").length === 1, 5000, "task-sent");
    await sleep(200);
    expect(of(quiet.id)).toEqual([]);
  } finally {
    await client.close();
    await on.close();
  }
});

describe("worker task-rejected and unknown-task task-failed", () => {
  let app: Celery;
  let worker: Worker;
  let node: string;
  let client: Celery;

  beforeAll(async () => {
    app = testApp({ workerSendTaskEvents: true });
    app.task("ev.reject_on_failure", () => {
      throw new Error("nope");
    }, { acksLate: true, acksOnFailureOrTimeout: false });
    app.task("ev.late_fail", () => {
      throw new Error("acked");
    }, { acksLate: true });
    app.task("ev.early_fail", () => {
      throw new Error("acked early");
    });
    node = `rej-${randomUUID().slice(0, 8)}@test`;
    client = testApp({ taskDefaultQueue: app.conf.taskDefaultQueue });
    worker = app.worker({ hostname: node, concurrency: 2, logger: captureLogger() });
    await worker.start();
  });

  afterAll(async () => {
    await worker.stop();
    await app.close();
    await client.close();
  });

  test("an acksLate failure with acksOnFailureOrTimeout=false sends task-rejected {uuid, requeue: false} and task-failed", async () => {
    const r = await client.sendTask("ev.reject_on_failure");
    await waitFor(() => of(r.id, "task-rejected").length === 1 && of(r.id, "task-failed").length === 1, 10000, "task-rejected + task-failed");
    const e = of(r.id, "task-rejected")[0];
    expect(Object.keys(e)).toEqual(["hostname", "utcoffset", "pid", "clock", "uuid", "requeue", "timestamp", "type"]);
    expect(e).toMatchObject({ hostname: node, uuid: r.id, requeue: false, pid: process.pid });
    expect(of(r.id).map((x) => x.type).sort()).toEqual(["task-failed", "task-received", "task-rejected", "task-started"]);
  });

  test("acked failures (acksLate with the default acks, or early ack) send no task-rejected", async () => {
    const late = await client.sendTask("ev.late_fail");
    const early = await client.sendTask("ev.early_fail");
    await waitFor(() => of(late.id, "task-failed").length === 1 && of(early.id, "task-failed").length === 1, 10000, "task-failed");
    await sleep(300);
    expect(of(late.id, "task-rejected")).toEqual([]);
    expect(of(early.id, "task-rejected")).toEqual([]);
  });

  test("an unregistered task sends task-failed with only uuid and exception NotRegistered('<name>')", async () => {
    const r = await client.sendTask("ev.not_here");
    await waitFor(() => of(r.id, "task-failed").length === 1, 10000, "task-failed");
    const e = of(r.id, "task-failed")[0];
    expect(Object.keys(e)).toEqual(["hostname", "utcoffset", "pid", "clock", "uuid", "exception", "timestamp", "type"]);
    expect(e).toMatchObject({ hostname: node, uuid: r.id, exception: "NotRegistered('ev.not_here')" });
    expect(of(r.id).map((x) => x.type)).toEqual(["task-failed"]);
  });

  test("with task events disabled (disable_events) neither is sent", async () => {
    expect(await client.control.disableEvents({ reply: true, destination: [node], timeout: 3 })).toEqual([{ [node]: { ok: "task events disabled" } }]);
    try {
      const rejected = await client.sendTask("ev.reject_on_failure");
      const unknown = await client.sendTask("ev.not_here_either");
      await waitFor(async () => (await storedMeta(unknown.id)) !== null, 10000, "NotRegistered stored");
      await rejected.get({ timeout: 10, propagate: false });
      await sleep(300);
      expect(of(rejected.id)).toEqual([]);
      expect(of(unknown.id)).toEqual([]);
    } finally {
      await client.control.enableEvents({ reply: true, destination: [node], timeout: 3 });
    }
  });
});
