/**
 * Canvas across Python Celery and celeriac (newest Celery and 5.2) on Redis and on RabbitMQ, with
 * the Redis result backend: chains mixing tasks of both workers, nested canvases, a chord of 100
 * parts drained by both workers at once from one shared queue (body run exactly once), and
 * link_error in both directions. Each worker also consumes a queue of its own; signatures carry
 * `queue` in their options.
 */
import { randomUUID } from "crypto";
import type { AsyncResult, BoundTaskContext, Celery, Worker } from "../src";
import { chain, chord } from "../src";
import { BROKERS, type BrokerLease } from "../test/support/brokers";
import { captureLogger, testApp, unique } from "../test/support/app";
import { pyInline, PYTHONS, type PythonWorker, startPythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";

jest.setTimeout(120_000);
const BACKEND = testRedisUrl(11);

const CASES = BROKERS.flatMap((b) => PYTHONS.map((py) => [py.label, b.name, py, b] as const));

type Where = [number, "py" | "ts"];

describe.each(CASES)("canvas between Python (%s) and celeriac on %s", (_label, _broker, py, kind) => {
  let broker: string;
  let lease: BrokerLease | undefined;
  let app: Celery;
  let worker: Worker;
  let pyWorker: PythonWorker;
  const pyQ = unique("py");
  const sharedQ = unique("shared");
  const bodies: unknown[][] = [];
  const logger = captureLogger();
  const env = () => ({ PYAPP_BROKER: broker, PYAPP_BACKEND: BACKEND, PYAPP_ACCEPT: "json", PYAPP_QUEUES: `${pyQ},${sharedQ}` });
  const TSQ = () => app.conf.taskDefaultQueue;
  const py3 = (code: string) => pyInline(py, PRELUDE + code, { PYQ: pyQ, TSQ: TSQ(), SHQ: sharedQ }, env(), 120_000);

  beforeAll(async () => {
    lease = await kind.open(`canvas-${py.label}`, 10);
    broker = lease.url;
    app = testApp({ broker, backend: BACKEND });
    app.task("ts.add", (x: number, y: number) => x + y);
    app.task("ts.echo", (...args: unknown[]) => args);
    app.task("ts.body", (xs: unknown[]) => {
      bodies.push(xs);
      return xs;
    });
    app.task("ts.fail", (m: string) => {
      throw new RangeError(m);
    });
    app.task("ts.to_py_mul", (ctx: BoundTaskContext, x: number) => ctx.replace(app.signature("py.mul", [x, 10], {}, { queue: pyQ })), { bind: true });
    app.task("ts.spawn_py", async (x: number) => (await app.signature("py.add", [x, 1], {}, { queue: pyQ }).applyAsync()).id);
    app.task("both.where", async (i: number): Promise<Where> => {
      await new Promise((r) => setTimeout(r, 10));
      return [i, "ts"];
    });
    worker = app.worker({ concurrency: 2, logger, queues: [app.conf.taskDefaultQueue, sharedQ] });
    [pyWorker] = await Promise.all([
      startPythonWorker(py, { broker, backend: BACKEND, queues: [pyQ, sharedQ], concurrency: 2, env: { PYAPP_ACCEPT: "json" } }),
      worker.start(),
    ]);
  });

  afterAll(async () => {
    await Promise.all([worker?.stop(), pyWorker?.stop()]);
    await app?.close();
    await lease?.close();
  });

  const PRELUDE = `
import json, sys
from celery import chain, chord, group
from pyapp import app, add, mul, fail
q = json.load(sys.stdin)
PYQ, TSQ, SHQ = q['PYQ'], q['TSQ'], q['SHQ']
`;

  /** The result of a 100-part chord of both.where: in part order, run by both workers. */
  function expectSplitAcrossWorkers(result: Where[]): void {
    expect(result.map(([i]) => i)).toEqual([...Array(100).keys()]);
    const by = new Set(result.map(([, who]) => who));
    expect([...by].sort()).toEqual(["py", "ts"]);
  }

  test("Python builds chain(py.add, ts.add, py.mul) and reads the final result and its parent", async () => {
    const out = await py3(
      `r = chain(add.s(1, 2).set(queue=PYQ), app.signature('ts.add', args=(3,), queue=TSQ), mul.s(2).set(queue=PYQ)).apply_async()
print(json.dumps({'result': r.get(timeout=30), 'parent': r.parent.get(timeout=5)}))`,
    );
    expect(out).toEqual({ result: 12, parent: 6 });
  });

  test("celeriac builds the same chain and reads the final result and its parent", async () => {
    const r = (await chain(
      app.signature("py.add", [1, 2], {}, { queue: pyQ }),
      // Routing happens where a step is sent: the Python worker needs the queue in the options.
      app.tasks.get("ts.add")!.s(3).set({ queue: TSQ() }),
      app.signature("py.mul", [2], {}, { queue: pyQ }),
    ).applyAsync()) as AsyncResult & { parent: AsyncResult };
    expect(await r.get({ timeout: 30000 })).toBe(12);
    expect(await r.parent.get({ timeout: 5000 })).toBe(6);
  });

  test("Python chord of 100 parts drained by both workers from one queue: the celeriac body runs exactly once", async () => {
    bodies.length = 0;
    const out = (await py3(
      `r = chord([app.signature('both.where', args=(i,), queue=SHQ) for i in range(100)], app.signature('ts.body', queue=TSQ)).apply_async()
print(json.dumps({'result': r.get(timeout=90)}))`,
    )) as { result: Where[] };
    expectSplitAcrossWorkers(out.result);
    await new Promise((r) => setTimeout(r, 500));
    expect(bodies).toEqual([out.result]);
  });

  test("celeriac chord of 100 parts drained by both workers from one queue: the body runs exactly once", async () => {
    bodies.length = 0;
    const parts = [...Array(100).keys()].map((i) => app.signature("both.where", [i], {}, { queue: sharedQ }));
    // The body is sent by whichever worker finishes last: without a queue a Python worker would route it to its own.
    const r = await chord(parts, app.signature("ts.body", [], {}, { queue: TSQ() })).applyAsync();
    const result = (await r.get({ timeout: 90000 })) as Where[];
    expectSplitAcrossWorkers(result);
    await new Promise((r) => setTimeout(r, 500));
    expect(bodies).toEqual([result]);
  });

  test("celeriac chord with parts on both workers: the Python body gets the ordered results", async () => {
    const r = await chord(
      [app.signature("ts.add", [1, 1]), app.signature("py.add", [2, 2], {}, { queue: pyQ }), app.signature("ts.add", [3, 3])],
      app.signature("py.echo", [], {}, { queue: pyQ }),
    ).applyAsync();
    expect(await r.get({ timeout: 30000 })).toEqual({ args: [[2, 4, 6]], kwargs: {} });
  });

  test("Python nests a group in a chain and a chain in a chord header across both workers", async () => {
    const out = await py3(
      `a = chain(add.s(1, 1).set(queue=PYQ), group(app.signature('ts.add', args=(10,), queue=TSQ), add.s(20).set(queue=PYQ)), app.signature('ts.body', queue=TSQ)).apply_async()
b = chord([chain(add.s(1, 1).set(queue=PYQ), app.signature('ts.add', args=(1,), queue=TSQ)), app.signature('ts.add', args=(5, 5), queue=TSQ)], app.signature('py.echo', queue=PYQ)).apply_async()
print(json.dumps({'a': a.get(timeout=30), 'b': b.get(timeout=30)}))`,
    );
    expect(out).toEqual({ a: [12, 22], b: { args: [[3, 10]], kwargs: {} } });
  });

  test("celery.chord_unlock sent by Python's fallback_chord_unlock: celeriac polls the header, then runs the body once or fails it with ChordError", async () => {
    bodies.length = 0;
    const out = (await py3(
      `from celery.exceptions import ChordError
def unlock(parts):
    header = group(parts).apply_async()
    body = app.signature('ts.body', queue=TSQ)
    body.freeze()
    app.backend.fallback_chord_unlock(header, body, countdown=0, interval=0.2)
    try:
        return {'result': app.AsyncResult(body.id).get(timeout=30)}
    except ChordError as exc:
        return {'error': str(exc), 'failed': header.results[1].id}
ok = unlock([app.signature('py.sleep', args=(0.6,), queue=PYQ), app.signature('ts.add', args=(2, 2), queue=TSQ)])
bad = unlock([app.signature('ts.add', args=(1, 1), queue=TSQ), fail.s('bad').set(queue=PYQ)])
print(json.dumps({'ok': ok, 'bad': bad}))`,
    )) as { ok: { result: unknown }; bad: { error: string; failed: string } };
    expect(out.ok).toEqual({ result: [0.6, 4] });
    expect(out.bad.error).toBe(`Dependency ${out.bad.failed} raised ValueError('bad', 42)`);
    expect(bodies).toEqual([[0.6, 4]]);
    expect(logger.lines.filter((l) => l.includes("celery.chord_unlock") && l.includes("retry")).length).toBeGreaterThan(0);
  });

  test("a celeriac step replaced by a Python task inside a Python chain: the chain goes on, Python reads the result", async () => {
    const out = await py3(
      `r = chain(add.s(1, 2).set(queue=PYQ), app.signature('ts.to_py_mul', queue=TSQ), add.s(1).set(queue=PYQ)).apply_async()
print(json.dumps({'result': r.get(timeout=30), 'replaced': r.parent.get(timeout=5)}))`,
    );
    expect(out).toEqual({ result: 31, replaced: 30 });
  });

  test("a Python task replaced by a celeriac task: the celeriac client reads the result under the original id", async () => {
    const r = await app.signature("py.replace_with", ["ts.add", [20, 22], TSQ()], {}, { queue: pyQ }).applyAsync();
    expect(await r.get({ timeout: 30000 })).toBe(42);
  });

  test("a Python task sent from a celeriac handler is in the celeriac task's children, as Python reads them", async () => {
    const out = await py3(
      `r = app.signature('ts.spawn_py', args=(41,), queue=TSQ).apply_async()
child_id = r.get(timeout=30)
print(json.dumps({'children': [c.id for c in r.children], 'child': child_id, 'value': r.children[0].get(timeout=30)}))`,
    ) as { children: string[]; child: string; value: number };
    expect(out.children).toEqual([out.child]);
    expect(out.value).toBe(42);
  });

  test("link_error from celeriac reaches the Python errback with the failed id", async () => {
    const errId = randomUUID();
    const r = await app.tasks.get("ts.fail")!.applyAsync(["no"], {}, { linkError: app.signature("py.echo", [], {}, { queue: pyQ, taskId: errId }) });
    await expect(r.get({ timeout: 10000 })).rejects.toThrow("no");
    expect(await app.AsyncResult(errId).get({ timeout: 30000 })).toEqual({ args: [r.id], kwargs: {} });
  });

  test("link_error from Python reaches the celeriac errback with the failed id", async () => {
    const errId = randomUUID();
    const out = (await py3(
      `r = fail.apply_async(('bad',), queue=PYQ, link_error=app.signature('ts.echo', queue=TSQ, task_id='${errId}'))
try:
    r.get(timeout=30)
except Exception:
    pass
print(json.dumps({'id': r.id}))`,
    )) as { id: string };
    expect(await app.AsyncResult(errId).get({ timeout: 30000 })).toEqual([out.id]);
  });
});
