/**
 * examples/django run as the interop tests need it: its own database on one of the test servers
 * (DJANGO_DATABASES; migrated by `manage.py migrate`), Redis as broker, the Node worker's settings file written by
 * `manage.py celeriac_config` and read by `celeriac worker --config`, a celeriac worker on the
 * Node queue and a Django (newest Celery) worker on the Django queue. Build first (the Node
 * worker is dist/cli/main.js).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { unique } from "./app";
import { DJANGO_DATABASES, DJANGO_EXAMPLE, djangoShell as shellOn, manage as manageOn, type DjangoDatabase } from "./django-db";
import { PYTHONS } from "./python";
import { testRedisUrl } from "./redis";
import { waitFor } from "./wait";

const ROOT = resolve(__dirname, "../..");
/** The example project's directory. */
export const EXAMPLE = DJANGO_EXAMPLE;
const PY = PYTHONS.find((p) => p.label === "celery-latest")!.exe;

/** The running example: its environment, settings file, workers and Django commands. */
export interface DjangoExample {
  /** DATABASE_URL, CELERY_BROKER_URL, NODE_QUEUE and DJANGO_QUEUE, as the example's settings read them. */
  env: Record<string, string>;
  /** The settings file `manage.py celeriac_config` wrote (the Node worker's --config). */
  configFile: string;
  databaseUrl: string;
  nodeWorker: ChildProcess;
  djangoWorker: ChildProcess;
  /** What a process started here printed so far. */
  output: (child: ChildProcess) => string;
  /** `python manage.py <args>` in the example; resolves with stdout. */
  manage: (args: string[], timeoutMs?: number) => Promise<string>;
  /** Runs `code` in `manage.py shell` and returns the JSON of its last line. */
  djangoShell: (code: string) => Promise<Record<string, unknown>>;
  /** SIGTERM to every process started here; resolves when they have exited. */
  stop: () => Promise<void>;
}

/**
 * Starts the example on a new database of `database` (PostgreSQL unless given; `prefix` names it)
 * with the Redis db `redisDb` as broker (or the URL `broker`):
 * migrate, celeriac_config, then the Node worker, then the Django worker (second, so that its
 * mingle reaches the Node worker, which answers it). The Node worker runs without -n: its default
 * name must not clash with Django's.
 */
export async function startDjangoExample(prefix: string, redisDb: number, database: DjangoDatabase = DJANGO_DATABASES[0], broker?: string): Promise<DjangoExample> {
  const children: ChildProcess[] = [];
  const logs = new Map<ChildProcess, string>();
  const databaseUrl = await database.create(unique(prefix).replace(/[^a-z0-9]/gi, "_").toLowerCase());
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    CELERY_BROKER_URL: broker ?? testRedisUrl(redisDb),
    NODE_QUEUE: unique("node"),
    DJANGO_QUEUE: unique("django"),
  };
  const manage = (args: string[], timeoutMs = 120_000): Promise<string> => manageOn(env, args, timeoutMs);
  const djangoShell = (code: string): Promise<Record<string, unknown>> => shellOn(env, code);
  const startChild = (cmd: string, args: string[]): ChildProcess => {
    const child = spawn(cmd, args, { cwd: EXAMPLE, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    logs.set(child, "");
    const add = (d: Buffer): void => void logs.set(child, (logs.get(child) ?? "") + d.toString());
    child.stdout?.on("data", add);
    child.stderr?.on("data", add);
    children.push(child);
    return child;
  };
  const output = (child: ChildProcess): string => logs.get(child) ?? "";
  const stop = async (): Promise<void> => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
    }
  };
  /** Waits for `pattern` in the child's output; a timeout shows the output's end (why it did not start). */
  const readyOrShow = async (child: ChildProcess, pattern: RegExp, ms: number, what: string): Promise<void> => {
    try {
      await waitFor(() => pattern.test(output(child)), ms, what);
    } catch (err) {
      throw new Error(`${(err as Error).message}; its output:\n${output(child).slice(-4000)}`);
    }
  };
  await manage(["migrate", "--noinput", "-v", "0"]);
  const configFile = join(mkdtempSync(join(tmpdir(), "celeriac-django-")), "celeriac.json");
  await manage(["celeriac_config", configFile]);
  const nodeWorker = startChild(process.execPath, [join(ROOT, "dist/cli/main.js"), "worker", "-A", "node/tasks.js", "--config", configFile, "-c", "2"]);
  try {
    await readyOrShow(nodeWorker, /@\S+ ready\./, 30_000, "the celeriac worker ready");
    const djangoWorker = startChild(PY, ["-m", "celery", "-A", "proj", "worker", "-Q", env.DJANGO_QUEUE, "-P", "solo", "-l", "info"]);
    await readyOrShow(djangoWorker, /celery@\S+ ready\./, 60_000, "the Django worker ready");
    return { env, configFile, databaseUrl, nodeWorker, djangoWorker, output, manage, djangoShell, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
