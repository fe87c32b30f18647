/**
 * Python Celery (newest and 5.2) sends chunks / map / starmap of a celeriac task to a celeriac
 * worker on Redis and reads the results: the worker's `celery.map`/`celery.starmap` builtins run
 * them as a Python worker would.
 */
import { execFile } from "child_process";
import type { Celery, Worker } from "../src";
import { captureLogger, testApp } from "../test/support/app";
import { PY_DIR, type Python, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";

const BROKER = testRedisUrl(10);
const BACKEND = testRedisUrl(11);

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

const SCRIPT = `
import json, os
from celery.canvas import chunks, xmap, xstarmap
from pyapp import app
q = os.environ['TSQ']
add = app.signature('ts.add')
g = chunks(add, zip(range(10), range(10)), 2, app=app).apply_async(queue=q)
c = g.get(timeout=30)
m = xmap(app.signature('ts.double'), [1, 2, 3], app=app).apply_async(queue=q).get(timeout=30)
s = xstarmap(add, [[1, 2], [3, 4]], app=app).apply_async(queue=q).get(timeout=30)
print(json.dumps({'chunks': c, 'n': len(g.results), 'map': m, 'starmap': s}))
`;

describe.each(PYTHONS)("map/starmap/chunks from Python ($label) to a celeriac worker", (py) => {
  let app: Celery;
  let worker: Worker;
  const logger = captureLogger();

  beforeAll(async () => {
    app = testApp({ broker: BROKER, backend: BACKEND });
    app.task("ts.add", (x: number, y: number) => x + y);
    app.task("ts.double", (x: number) => x * 2);
    worker = app.worker({ concurrency: 2, logger });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop();
    await app?.close();
  });

  test("chunks(zip(range(10), range(10)), 2), map and starmap give Celery's results", async () => {
    const out = await pyScript(py, SCRIPT, { PYAPP_BROKER: BROKER, PYAPP_BACKEND: BACKEND, PYAPP_ACCEPT: "json", TSQ: app.conf.taskDefaultQueue });
    // What Celery's own celery.chunks / celery.map / celery.starmap give (celery/app/builtins.py:
    // chunks → [[task(*a) for a in part] ...], xmap → [task(item) ...], xstarmap → [task(*item) ...])
    expect(out).toEqual({ chunks: [[0, 2], [4, 6], [8, 10], [12, 14], [16, 18]], n: 5, map: [2, 4, 6], starmap: [3, 7] });
  }, 90_000);
});
