/**
 * AmqpTransport ⇄ real Python Celery over the private test RabbitMQ, under both Pythons:
 * Debian's /usr/bin/python3 (Celery 5.2.6 / kombu 5.2.4 / py-amqp 5.1.1) and
 * interop-tests/.venv (newest Celery from PyPI).
 *
 *   Python send_task over amqp:// → our consumer → decodeTask
 *   our publish (typed int headers, timelimit [300, 240]) → kombu Consumer (py-amqp) → same
 *   args/kwargs/headers. amqplib's automatic integer typing would make py-amqp fail here (§6.3).
 */
import { execFile } from "node:child_process";
import * as os from "node:os";
import * as fs from "node:fs";
import { AmqpTransport } from "../src/transport/amqp";
import { decodeTask } from "../src/protocol/decode";
import { encodeTask } from "../src/protocol/encode";
import { amqpUrl, createVhost, deleteVhost } from "../test/support/amqp";
import { unique } from "../test/support/app";
import { record } from "../test/support/redis";
import { PYTHONS } from "../test/support/python";
import { waitFor } from "../test/support/wait";

// Both interpreters are always installed in CI (scripts/ensure-deps.sh): a missing one fails, it is not dropped.
for (const p of PYTHONS) {
  if (!fs.existsSync(p.exe)) throw new Error(`${p.label}: ${p.exe} not found (is it installed? run: bash scripts/ensure-deps.sh)`);
}

function python(exe: string, code: string, env: Record<string, string>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(exe, ["-c", code], { cwd: os.tmpdir(), env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: "1" }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${exe} failed: ${err.message}\n${stderr}`));
      const line = stdout.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`${exe} printed no JSON line:\n${stdout}\n${stderr}`));
      }
    });
  });
}

const SEND = `
import json, os
from celery import Celery
app = Celery('interop', broker=os.environ['URL'])
app.conf.broker_connection_retry_on_startup = True
r = app.send_task('tasks.add', args=(2, 3), kwargs={'name': 'ü€', 'nested': {'a': [1, None, True]}},
                  queue=os.environ['QUEUE'], time_limit=300, soft_time_limit=240,
                  headers={'x-num': 200, 'x-big': 2**40}, priority=3)
print(json.dumps({'id': r.id}))
`;

const RECEIVE = `
import json, os
from kombu import Connection, Queue, Consumer
got = []
def on_message(body, message):
    got.append({'body': body, 'headers': message.headers, 'content_type': message.content_type,
                'properties': {k: v for k, v in message.properties.items() if k in ('correlation_id', 'reply_to', 'delivery_mode', 'priority')},
                'routing_key': message.delivery_info.get('routing_key')})
    message.ack()
with Connection(os.environ['URL']) as conn:
    with Consumer(conn, [Queue(os.environ['QUEUE'], routing_key=os.environ['QUEUE'])], callbacks=[on_message], accept=['json']):
        conn.drain_events(timeout=20)
print(json.dumps(got[0], default=str))
`;

let vhost: string;
const transports: AmqpTransport[] = [];
beforeAll(async () => {
  vhost = await createVhost("py-interop");
});
afterAll(async () => {
  for (const t of transports) await t.close();
  await deleteVhost(vhost);
});

function transport(): AmqpTransport {
  const t = new AmqpTransport(amqpUrl(vhost), { onWarning: () => undefined });
  transports.push(t);
  return t;
}

describe.each(PYTHONS.map((p) => [p.label, p] as const))("%s", (_label, py) => {
  const pyUrl = (): string => amqpUrl(vhost).replace(/^amqp:/, "pyamqp:");

  test("Python send_task over amqp:// reaches our consumer and decodes", async () => {
    const t = transport();
    const q = unique("py2ts");
    await t.declareQueue({ name: q });
    const r = await record(t, [q]);
    const sent = (await python(py.exe, SEND, { URL: amqpUrl(vhost), QUEUE: q })) as { id: string };
    await waitFor(() => r.deliveries.length === 1, 20000, "Python's task");
    const d = r.deliveries[0];
    expect(d.queue).toBe(q);
    expect(d.routingKey).toBe(q);
    const task = decodeTask(d.message, { accept: ["json"] });
    expect(task.id).toBe(sent.id);
    expect(task.task).toBe("tasks.add");
    expect(task.args).toEqual([2, 3]);
    expect(task.kwargs).toEqual({ name: "ü€", nested: { a: [1, null, true] } });
    expect(task.timelimit).toEqual([300, 240]);
    expect(task.priority).toBe(3);
    expect(d.message.headers["x-num"]).toBe(200);
    // py-amqp writes 2**40 with tag L, which stock amqplib cannot decode (vector
    // amqp-header-type-interop): celeriac's table decoder reads it as a signed 64-bit integer.
    expect(d.message.headers["x-big"]).toBe(2 ** 40);
    await r.settle(d);
    await r.consumer.cancel();
  });

  test("a message we publish is consumed by a kombu Consumer (py-amqp) with the same args/kwargs/headers", async () => {
    const t = transport();
    const q = unique("ts2py");
    await t.declareQueue({ name: q });
    const msg = encodeTask(
      {
        id: "0b7d1c9e-1111-4a4a-9c9c-000000000001",
        task: "tasks.add",
        args: [2, 300],
        kwargs: { big: 2 ** 40, neg: -1, short: 300, nested: { n: [70000, { m: -129 }] }, s: "ü€" },
        timelimit: [300, 240],
        retries: 0,
        origin: "gen1@ts",
        replyTo: "reply-oid",
        priority: 0,
        headers: { "x-num": 200, "x-neg": -1, "x-nested": { a: [300, 240], b: null, c: 1.5 } },
      },
      { serializer: "json" },
    );
    await t.publish(msg, { exchange: "", routingKey: q });
    const got = (await python(py.exe, RECEIVE, { URL: amqpUrl(vhost), QUEUE: q })) as {
      body: unknown;
      headers: Record<string, unknown>;
      content_type: string;
      properties: Record<string, unknown>;
      routing_key: string;
    };
    void pyUrl;
    expect(got.content_type).toBe("application/json");
    expect(got.routing_key).toBe(q);
    expect(got.body).toEqual([[2, 300], { big: 2 ** 40, neg: -1, short: 300, nested: { n: [70000, { m: -129 }] }, s: "ü€" }, { callbacks: null, errbacks: null, chain: null, chord: null }]);
    expect(got.headers.timelimit).toEqual([300, 240]);
    expect(got.headers.retries).toBe(0);
    expect(got.headers["x-num"]).toBe(200);
    expect(got.headers["x-neg"]).toBe(-1);
    expect(got.headers["x-nested"]).toEqual({ a: [300, 240], b: null, c: 1.5 });
    expect(got.headers.id).toBe("0b7d1c9e-1111-4a4a-9c9c-000000000001");
    expect(got.properties).toMatchObject({ correlation_id: "0b7d1c9e-1111-4a4a-9c9c-000000000001", reply_to: "reply-oid", delivery_mode: 2, priority: 0 });
  });
});
