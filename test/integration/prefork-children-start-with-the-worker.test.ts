/**
 * Prefork pool: children are forked when the worker starts (Celery's pool starts before its
 * consumer), not when the worker is constructed, so a worker that is only built (in a test, a
 * script that never calls start()) or stopped before it started leaves no process behind; it says
 * ready once they loaded the app module.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { perTestApp, testApp, TSAPP } from "../support/app";
import { preforkChildPids } from "../support/cli-worker";
import { sleep, waitFor } from "../support/wait";

const t = perTestApp();

test("a constructed prefork worker has no child process until it starts, then one per slot, none after it stops", async () => {
  t.app = testApp();
  const worker = (t.worker = t.app.worker({ pool: "prefork", appModule: TSAPP, concurrency: 2 }));
  await sleep(300);
  expect(worker.executor.info().processes).toEqual([]);
  expect(preforkChildPids(process.pid)).toEqual([]);
  await worker.start();
  const pids = worker.executor.info().processes;
  expect(pids).toHaveLength(2);
  expect(preforkChildPids(process.pid).sort()).toEqual([...pids].sort());
  await worker.stop();
  await waitFor(() => preforkChildPids(process.pid).length === 0, 5000, "children gone");
});

test("start() resolves once the children loaded the app module, so a worker that says ready runs a task at once", async () => {
  // An app module that takes 1.5 s to load (a heavy app); only the children load it.
  const dir = mkdtempSync(join(tmpdir(), "celeriac-slow-app-"));
  const slowApp = join(dir, "slow-app.js");
  writeFileSync(slowApp, `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);\nmodule.exports = require(${JSON.stringify(TSAPP)});\n`);
  try {
    t.app = testApp();
    const worker = (t.worker = t.app.worker({ pool: "prefork", appModule: slowApp, concurrency: 2 }));
    const begun = Date.now();
    await worker.start();
    expect(Date.now() - begun).toBeGreaterThanOrEqual(1400);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a prefork worker stopped before it started forks nothing and stops", async () => {
  t.app = testApp();
  const worker = (t.worker = t.app.worker({ pool: "prefork", appModule: TSAPP, concurrency: 2 }));
  await worker.stop();
  await sleep(300);
  expect(worker.executor.info().processes).toEqual([]);
  expect(preforkChildPids(process.pid)).toEqual([]);
});

test("a prefork worker whose start fails (broker refused) leaves no child process", async () => {
  // Port 1 refuses connections; with no retry on startup, start() fails at the first attempt.
  t.app = testApp({ broker: "redis://127.0.0.1:1/0", brokerConnectionRetryOnStartup: false });
  const worker = t.app.worker({ pool: "prefork", appModule: TSAPP, concurrency: 2 });
  await expect(worker.start()).rejects.toThrow(/Cannot connect to redis:\/\/127\.0\.0\.1:1\/0/);
  expect(worker.executor.info().processes).toEqual([]);
  await waitFor(() => preforkChildPids(process.pid).length === 0, 5000, "children gone");
});
