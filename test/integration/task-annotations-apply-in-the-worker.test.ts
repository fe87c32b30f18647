/**
 * `task_annotations` reach the worker as Celery's do (the overrides are the task's options):
 * a time limit by task name stops the run (FAILURE TimeLimitExceeded, thrown as that class), a
 * rate limit for "*" spaces the runs, on the event loop and on prefork (whose main process
 * applies limits from its own app, configured like the children's).
 */
import type { Celery, Worker, WorkerOptions } from "../../src";
import { TimeLimitExceeded } from "../../src";
import { captureLogger, mirrorAppTasks, perTestApp, testApp, TSAPP } from "../support/app";

jest.setTimeout(60_000);

const current = perTestApp();

/** An app with `annotations` and the tsapp tasks, and its started worker. */
async function start(annotations: object, options: WorkerOptions, concurrency: number): Promise<{ app: Celery; worker: Worker }> {
  const app = (current.app = testApp({ task_annotations: annotations }));
  mirrorAppTasks(TSAPP, app);
  const worker = (current.worker = app.worker({ concurrency, logger: captureLogger(), ...options }));
  await worker.start();
  return { app, worker };
}

describe.each<[string, WorkerOptions]>([
  ["event loop", { pool: "eventloop" }],
  ["prefork", { pool: "prefork", appModule: TSAPP }],
])("%s pool", (_label, options) => {
  test("a time_limit annotation by task name stops the task, which fails with TimeLimitExceeded", async () => {
    const { app } = await start({ "ts.sleep": { time_limit: 1 } }, options, 1);
    const r = await app.sendTask("ts.sleep", [5, "not reached"]);
    const err = await r.get({ timeout: 15_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeLimitExceeded);
    expect(err).toMatchObject({ excMessage: [1] });
  });

  test("a rate_limit annotation for '*' spaces the runs of every task", async () => {
    const { app } = await start([{ "*": { rate_limit: "2/s" } }], options, 2);
    const results = await Promise.all(Array.from({ length: 4 }, () => app.sendTask("ts.pid")));
    const sent = Date.now();
    await Promise.all(results.map((r) => r.get({ timeout: 20_000 })));
    // 2/s: the fourth run starts at least ~1.5 s after the first (the bucket holds one token)
    expect(Date.now() - sent).toBeGreaterThanOrEqual(1400);
  });
});
