/**
 * Python's event Receiver (py/receive_events.py; newest Celery and 5.2) sees celeriac's client
 * task-sent events (taskSendSentEvent) and a celeriac worker's task-rejected and unknown-task
 * task-failed events on Redis, with the field sets Python Celery's own events have: task-sent is
 * compared with one a Python client sends in the same run; task-rejected and the NotRegistered
 * task-failed with what a Python 5.2 / 5.7 worker sends (Request.reject, Consumer.on_unknown_task).
 */
import { randomUUID } from "node:crypto";
import type { Celery } from "../src/celery";
import { ORIGIN } from "../src/client/producer";
import type { Worker } from "../src/worker/worker";
import { captureLogger, testApp } from "../test/support/app";
import { receiveEvents } from "../test/support/cli-worker";
import { pyInline, type Python, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";

jest.setTimeout(120_000);
const BROKER = testRedisUrl(8);
const BACKEND = testRedisUrl(9);

/** Python: the task-sent event its own client sends (task_send_sent_event), as its Receiver sees it. */
const PY_OWN_TASK_SENT = `
import json, os, sys, threading, time
from pyapp import app
queue = json.load(sys.stdin)['queue']
app.conf.task_send_sent_event = True
seen = []
def send():
    time.sleep(1.5)
    tid = app.send_task('py.add', (1, 2), queue=queue).id
    time.sleep(1)
    print(json.dumps([e for e in seen if e.get('uuid') == tid], default=str))
    sys.stdout.flush()
    os._exit(0)
threading.Thread(target=send).start()
with app.connection() as conn:
    app.events.Receiver(conn, handlers={'task-sent': seen.append}).capture(limit=None, timeout=None, wakeup=False)
`;

/** What Celery's Receiver has on every event: the dispatcher's fields plus local_received. */
const ENVELOPE = ["hostname", "utcoffset", "pid", "clock", "timestamp", "type", "local_received"];

describe.each(PYTHONS.map((p) => [p.label, p] as const))("%s event Receiver ← celeriac on Redis", (_label, py: Python) => {
  let client: Celery;
  let app: Celery;
  let worker: Worker;
  let node: string;
  const pyEnv = (queue: string) => ({ PYAPP_BROKER: BROKER, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: queue });

  beforeAll(async () => {
    app = testApp({ broker: BROKER, backend: BACKEND, workerSendTaskEvents: true });
    app.task("ev.reject_on_failure", () => {
      throw new Error("nope");
    }, { acksLate: true, acksOnFailureOrTimeout: false });
    node = `evr-${randomUUID().slice(0, 8)}@interop`;
    worker = app.worker({ hostname: node, concurrency: 1, logger: captureLogger() });
    await worker.start();
    client = testApp({ broker: BROKER, backend: BACKEND, taskSendSentEvent: true, taskDefaultQueue: app.conf.taskDefaultQueue });
  });

  afterAll(async () => {
    await worker.stop();
    await app.close();
    await client.close();
  });

  test("celeriac's task-sent reaches Python's Receiver with the fields of Python's own task-sent", async () => {
    const queue = app.conf.taskDefaultQueue;
    const listening = receiveEvents(py, pyEnv(queue), ORIGIN, 5);
    const own = pyInline(py, PY_OWN_TASK_SENT, { queue: `unused-${randomUUID().slice(0, 8)}` }, pyEnv(queue)) as Promise<Array<Record<string, unknown>>>;
    await new Promise((r) => setTimeout(r, 2000));
    const r = await client.sendTask("ev.sent_only", [1, "x"], { k: null }, { queue: `sent-${randomUUID().slice(0, 8)}`, countdown: 30 });
    const seen = (await listening).filter((e) => e.uuid === r.id);
    const pyEvent = (await own)[0];
    expect(pyEvent).toBeDefined();
    expect(seen).toHaveLength(1);
    const e = seen[0];
    expect(Object.keys(e).sort()).toEqual(Object.keys(pyEvent).sort());
    expect(e).toMatchObject({
      type: "task-sent",
      hostname: ORIGIN,
      pid: process.pid,
      name: "ev.sent_only",
      args: "(1, 'x')",
      kwargs: "{'k': None}",
      root_id: r.id,
      parent_id: null,
      retries: 0,
      expires: null,
      exchange: "",
      routing_key: e.queue,
    });
    expect(e.eta).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
  });

  test("task-rejected {uuid, requeue} and the NotRegistered task-failed {uuid, exception} reach Python's Receiver", async () => {
    const listening = receiveEvents(py, pyEnv(app.conf.taskDefaultQueue), node, 5);
    await new Promise((r) => setTimeout(r, 2000));
    const rejected = await client.sendTask("ev.reject_on_failure");
    const unknown = await client.sendTask("ev.unknown_here");
    const seen = await listening;
    const rej = seen.filter((e) => e.uuid === rejected.id && e.type === "task-rejected");
    expect(rej).toHaveLength(1);
    expect(Object.keys(rej[0]).sort()).toEqual([...ENVELOPE, "uuid", "requeue"].sort());
    expect(rej[0]).toMatchObject({ hostname: node, requeue: false });
    expect(seen.filter((e) => e.uuid === rejected.id).map((e) => e.type).sort()).toEqual(["task-failed", "task-received", "task-rejected", "task-started"]);
    const failed = seen.filter((e) => e.uuid === unknown.id);
    expect(failed).toHaveLength(1);
    expect(Object.keys(failed[0]).sort()).toEqual([...ENVELOPE, "uuid", "exception"].sort());
    expect(failed[0]).toMatchObject({ type: "task-failed", exception: "NotRegistered('ev.unknown_here')" });
  });
});
