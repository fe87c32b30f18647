/** Shared set-up for end-to-end tests: an app on the private test Redis with its own queue. */
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { Celery } from "../../src";
import type { CelerySettings, Worker, WorkerOptions } from "../../src";
import { Logger } from "../../src/logging";
import type { LogLevel } from "../../src/logging";
import { rawRedis, testRedisUrl } from "./redis";

/** A unique name for one test (queue, exchange, vhost, task id prefix). */
export function unique(prefix = "q"): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Captures log lines (from `level` up, INFO unless told) instead of writing them. */
export function captureLogger(level: LogLevel = "INFO"): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = new Logger(level, (l) => lines.push(l)) as Logger & { lines: string[] };
  logger.lines = lines;
  return logger;
}

/** A fresh app on broker db 8 / backend db 9 whose default queue is unique. */
export function testApp(settings: CelerySettings = {}): Celery {
  return new Celery("test", {
    broker: testRedisUrl(8),
    backend: testRedisUrl(9),
    taskDefaultQueue: unique(),
    ...settings,
  });
}

/**
 * The app and worker of the running test, stopped and closed after each test (registers the
 * afterEach hook): `const t = perTestApp(); t.app = testApp(); t.worker = t.app.worker(...)`.
 */
export function perTestApp(): { app: Celery | null; worker: Worker | null } {
  const current: { app: Celery | null; worker: Worker | null } = { app: null, worker: null };
  afterEach(async () => {
    await current.worker?.stop();
    current.worker = null;
    await current.app?.close();
    current.app = null;
  });
  return current;
}

/** The task meta document stored for `id` in the backend db 9 of testApp(), parsed, or null. */
export async function storedMeta(id: string): Promise<Record<string, unknown> | null> {
  const redis = rawRedis(9);
  try {
    const text = await redis.get(`celery-task-meta-${id}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : null;
  } finally {
    redis.disconnect();
  }
}

/**
 * Register on `target` the user tasks of a CommonJS app module (e.g. interop-tests/apps/tsapp.js),
 * so in-process tests run the same handlers the CLI worker loads. Tasks `target` already has
 * (the `celery.*` builtins every app registers) are left as they are.
 */
export function mirrorAppTasks(modulePath: string, target: Celery): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module path is only known at run time
  const source = (require(modulePath) as { app: { tasks: Map<string, { handler: never; options: object }> } }).app;
  for (const [name, t] of source.tasks) if (!target.tasks.has(name)) target.task(name, t.handler, t.options as never);
}

/** interop-tests/apps/tsapp.js: the app module that pool threads and prefork children load. */
export const TSAPP = resolve(__dirname, "../../interop-tests/apps/tsapp.js");

/**
 * Start a worker with `options` (a pool that loads TSAPP) on a fresh testApp(settings) that has
 * tsapp.js's tasks, kept in `t` (perTestApp) so that it is stopped after the test.
 */
export async function startTsappWorker(
  t: { app: Celery | null; worker: Worker | null },
  options: WorkerOptions,
  settings: CelerySettings = {},
): Promise<{ app: Celery; worker: Worker }> {
  const app = testApp(settings);
  t.app = app;
  mirrorAppTasks(TSAPP, app);
  const worker = app.worker({ appModule: TSAPP, ...options });
  t.worker = worker;
  await worker.start();
  return { app, worker };
}
