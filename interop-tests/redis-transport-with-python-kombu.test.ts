/** Real Python kombu 5.2 / Celery 5.2 against our Redis transport and backend. */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomUUID } from "node:crypto";
import { RedisTransport } from "../src/transport/redis";
import { RedisBackend } from "../src/backend/redis";
import type { RawMessage } from "../src/protocol/message";
import type { Delivery } from "../src/transport/types";
import { unique } from "../test/support/app";
import { rawRedis, testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

/** What the Python script of the first test prints: the message kombu consumed, then the task's result. */
interface KombuConsumed {
  message: {
    body: unknown;
    headers: { [key: string]: unknown };
    delivery_info: { routing_key: string; [key: string]: unknown };
    properties: { [key: string]: unknown };
    content_type: string;
    delivery_tag: string;
  };
  result: unknown;
  state: string;
}

/** Debian's Python with celery 5.2.6 / kombu 5.2.4 / redis-py. */
const PYTHON = process.env.CELERIAC_TEST_PYTHON ?? "/usr/bin/python3";

jest.setTimeout(60000);

const DB = 5;
const url = testRedisUrl(DB); // no FLUSHDB: names are unique, and other files of the same run use this database too

/** Start python with an inline script; collect stdout lines. */
function python(script: string, env: { [k: string]: string }): { child: ChildProcessWithoutNullStreams; lines: string[]; done: Promise<number> } {
  const child = spawn(PYTHON, ["-c", script], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env } });
  const lines: string[] = [];
  let buf = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const done = new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(0) : reject(new Error(`python exited with ${code}: ${err.slice(-2000)}`))));
  });
  return { child, lines, done };
}

test("Python kombu consumes a message published by RedisTransport and reads our result via AsyncResult.get()", async () => {
  const q = unique("py");
  const id = randomUUID();
  const transport = new RedisTransport(url);
  const backend = new RedisBackend(url);
  try {
    const message: RawMessage = {
      body: Buffer.from('[[2, 3], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'),
      contentType: "application/json",
      contentEncoding: "utf-8",
      headers: { lang: "py", task: "tasks.add", id, shadow: null, eta: null, expires: null, group: null, group_index: null, retries: 0, timelimit: [null, null], root_id: id, parent_id: null, argsrepr: "(2, 3)", kwargsrepr: "{}", origin: "gen1@node", ignore_result: false },
      properties: { correlation_id: id, reply_to: randomUUID(), delivery_mode: 2 },
    };
    await transport.declareQueue({ name: q });
    await transport.publish(message, { exchange: "", routingKey: q, priority: 5 });
    await backend.store(id, { status: "SUCCESS", result: 5, traceback: null, children: [], date_done: "2026-11-22T01:42:28.748231", task_id: id });
    const py = python(
      `
import json, os
from kombu import Connection, Queue, Exchange, Consumer
from celery import Celery
url, q, tid = os.environ["BROKER"], os.environ["QUEUE"], os.environ["TASK_ID"]
app = Celery("interop", broker=url, backend=url)
out = {}
with Connection(url) as conn:
    got = []
    def cb(body, message):
        got.append({"body": body, "headers": message.headers, "delivery_info": message.delivery_info,
                    "properties": message.properties, "content_type": message.content_type,
                    "delivery_tag": message.delivery_tag})
        message.ack()
    with Consumer(conn, [Queue(q, Exchange(q), routing_key=q)], callbacks=[cb], accept=["json"]):
        conn.drain_events(timeout=10)
    out["message"] = got[0]
r = app.AsyncResult(tid)
out["result"] = r.get(timeout=10)
out["state"] = r.state
print(json.dumps(out, default=repr))
`,
      { BROKER: url, QUEUE: q, TASK_ID: id },
    );
    await py.done;
    const out = JSON.parse(py.lines[py.lines.length - 1]) as KombuConsumed;
    expect(out.message.body).toEqual([[2, 3], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
    expect(out.message.headers.task).toBe("tasks.add");
    expect(out.message.headers.id).toBe(id);
    expect(out.message.content_type).toBe("application/json");
    expect(out.message.properties.priority).toBe(5);
    expect(out.message.properties.correlation_id).toBe(id);
    expect(out.message.delivery_info.routing_key).toBe(q);
    expect(out.result).toBe(5);
    expect(out.state).toBe("SUCCESS");
    // Python acked: its unacked entry is gone
    const raw = rawRedis(DB);
    expect(await raw.hexists("unacked", out.message.delivery_tag)).toBe(0);
    raw.disconnect();
  } finally {
    await transport.close();
    await backend.close();
  }
});

test("Python app.send_task is received by our consumer; Python's r.get() wakes on our stored result", async () => {
  const q = unique("py");
  const transport = new RedisTransport(url);
  const backend = new RedisBackend(url);
  try {
    const py = python(
      `
import json, os
from celery import Celery
url, q = os.environ["BROKER"], os.environ["QUEUE"]
app = Celery("interop", broker=url, backend=url)
r = app.send_task("tasks.add", args=[4, 5], kwargs={"z": "\\u00e9"}, queue=q, priority=9)
print(json.dumps({"id": r.id}), flush=True)
print(json.dumps({"result": r.get(timeout=20), "state": r.state}), flush=True)
`,
      { BROKER: url, QUEUE: q },
    );
    await waitFor(() => py.lines.length >= 1, 20000, "python send_task");
    const { id } = JSON.parse(py.lines[0]) as { id: string };
    const got: Delivery[] = [];
    const consumer = await transport.consume({
      queues: [q],
      hasCapacity: () => got.length < 10,
      capacity: () => 10 - got.length,
      onDelivery: (d) => got.push(d),
    });
    await waitFor(() => got.length === 1, 10000, "delivery");
    const d = got[0];
    expect(d.queue).toBe(q);
    expect(d.routingKey).toBe(q);
    expect(d.message.headers.id).toBe(id);
    expect(d.message.headers.task).toBe("tasks.add");
    expect(d.message.properties.priority).toBe(9);
    expect(JSON.parse(d.message.body.toString())).toEqual([[4, 5], { z: "é" }, { callbacks: null, errbacks: null, chain: null, chord: null }]);
    await backend.store(id, { status: "SUCCESS", result: 9, traceback: null, children: [], date_done: "2026-11-22T01:42:28.748231", task_id: id });
    await d.ack();
    await py.done;
    expect(JSON.parse(py.lines[1])).toEqual({ result: 9, state: "SUCCESS" });
    await consumer.cancel();
  } finally {
    await transport.close();
    await backend.close();
  }
});
