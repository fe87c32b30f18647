/**
 * Canvas across Python Celery and celeriac on Redis (newest Celery and 5.2): chains mixing
 * tasks of both workers, a chord with parts on both, link_error in both directions. Each
 * worker consumes its own queue; signatures carry `queue` in their options.
 */
import { execFile } from "child_process";
import { randomUUID } from "crypto";
import type { Celery, Worker } from "../src";
import { chain, chord } from "../src";
import type { AsyncResult } from "../src";
import { PYTHONS, PY_DIR, startPythonWorker } from "./harness/python";
import type { Python, PythonWorker } from "./harness/python";
import { captureLogger, testApp, testRedisUrl, uniqueQueue } from "../test/integration/helpers/app";

const BROKER = testRedisUrl(10);
const BACKEND = testRedisUrl(11);

/** Runs a Python snippet with pyapp importable; resolves with the JSON it printed last. */
function pyScript(py: Python, code: string, env: Record<string, string>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(py.exe, ["-c", code], { cwd: PY_DIR, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${py.label} script failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split("\n").pop() ?? ""));
      } catch {
        reject(new Error(`no JSON from script:\n${stdout}\n${stderr}`));
      }
    });
  });
}

describe.each(PYTHONS)("canvas between Python ($label) and celeriac on Redis", (py) => {
  let app: Celery;
  let worker: Worker;
  let pyWorker: PythonWorker;
  const pyQ = uniqueQueue("py");
  const bodies: unknown[][] = [];
  const logger = captureLogger();
  const env = () => ({ PYAPP_BROKER: BROKER, PYAPP_BACKEND: BACKEND, PYAPP_ACCEPT: "json", PYAPP_QUEUES: pyQ, PYQ: pyQ, TSQ: app.conf.taskDefaultQueue });

  beforeAll(async () => {
    app = testApp({ broker: BROKER, backend: BACKEND });
    app.task("ts.add", (x: number, y: number) => x + y);
    app.task("ts.echo", (...args: unknown[]) => args);
    app.task("ts.body", (xs: unknown[]) => {
      bodies.push(xs);
      return xs;
    });
    app.task("ts.fail", (m: string) => {
      throw new RangeError(m);
    });
    worker = app.worker({ concurrency: 2, logger });
    [pyWorker] = await Promise.all([startPythonWorker(py, { broker: BROKER, backend: BACKEND, queues: [pyQ], concurrency: 2, env: { PYAPP_ACCEPT: "json" } }), worker.start()]);
  });

  afterAll(async () => {
    await Promise.all([worker?.stop(), pyWorker?.stop()]);
    await app?.close();
  });

  const PRELUDE = `
import json, os
from celery import chain, chord
from pyapp import app, add, mul, fail
PYQ, TSQ = os.environ['PYQ'], os.environ['TSQ']
`;

  test("Python builds chain(py.add, ts.add, py.mul) and reads the final result", async () => {
    const out = await pyScript(
      py,
      PRELUDE +
        `r = chain(add.s(1, 2).set(queue=PYQ), app.signature('ts.add', args=(3,), queue=TSQ), mul.s(2).set(queue=PYQ)).apply_async()
print(json.dumps({'result': r.get(timeout=30), 'parent': r.parent.get(timeout=5)}))`,
      env(),
    );
    expect(out).toEqual({ result: 12, parent: 6 });
  });

  test("celeriac builds the same chain and reads the final result", async () => {
    const r = (await chain(
      app.signature("py.add", [1, 2], {}, { queue: pyQ }),
      // Routing happens where a step is sent: the Python worker needs the queue in the options.
      app.tasks.get("ts.add")!.s(3).set({ queue: app.conf.taskDefaultQueue }),
      app.signature("py.mul", [2], {}, { queue: pyQ }),
    ).applyAsync()) as AsyncResult & { parent: AsyncResult };
    expect(await r.get({ timeout: 30000 })).toBe(12);
    expect(await r.parent.get({ timeout: 5000 })).toBe(6);
  });

  test("Python chord with parts on both workers: the celeriac body runs exactly once", async () => {
    bodies.length = 0;
    const out = await pyScript(
      py,
      PRELUDE +
        `r = chord([add.s(1, 1).set(queue=PYQ), app.signature('ts.add', args=(2, 2), queue=TSQ), add.s(3, 3).set(queue=PYQ)], app.signature('ts.body', queue=TSQ)).apply_async()
print(json.dumps({'result': r.get(timeout=30)}))`,
      env(),
    );
    expect(out).toEqual({ result: [2, 4, 6] });
    await new Promise((r) => setTimeout(r, 300));
    expect(bodies).toEqual([[2, 4, 6]]);
  });

  test("celeriac chord with parts on both workers: the Python body gets the ordered results", async () => {
    const r = await chord(
      [app.signature("ts.add", [1, 1]), app.signature("py.add", [2, 2], {}, { queue: pyQ }), app.signature("ts.add", [3, 3])],
      app.signature("py.echo", [], {}, { queue: pyQ }),
    ).applyAsync();
    expect(await r.get({ timeout: 30000 })).toEqual({ args: [[2, 4, 6]], kwargs: {} });
  });

  test("link_error from celeriac reaches the Python errback with the failed id", async () => {
    const errId = randomUUID();
    const r = await app.tasks.get("ts.fail")!.applyAsync(["no"], {}, { linkError: app.signature("py.echo", [], {}, { queue: pyQ, taskId: errId }) });
    await expect(r.get({ timeout: 10000 })).rejects.toThrow("no");
    expect(await app.AsyncResult(errId).get({ timeout: 30000 })).toEqual({ args: [r.id], kwargs: {} });
  });

  test("link_error from Python reaches the celeriac errback with the failed id", async () => {
    const errId = randomUUID();
    const out = (await pyScript(
      py,
      PRELUDE +
        `r = fail.apply_async(('bad',), queue=PYQ, link_error=app.signature('ts.echo', queue=TSQ, task_id='${errId}'))
try:
    r.get(timeout=30)
except Exception:
    pass
print(json.dumps({'id': r.id}))`,
      env(),
    )) as { id: string };
    expect(await app.AsyncResult(errId).get({ timeout: 30000 })).toEqual([out.id]);
  });
});
