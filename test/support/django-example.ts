/**
 * examples/django run as the interop tests need it: its own database on the test PostgreSQL
 * (migrated by `manage.py migrate`), Redis as broker, the Node worker's settings file written by
 * `manage.py celeriac_config` and read by `celeriac worker --config`, a celeriac worker on the
 * Node queue and a Django (newest Celery) worker on the Django queue. Build first (the Node
 * worker is dist/cli/main.js).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { unique } from "./app";
import { createTestDatabase } from "./postgres";
import { PYTHONS } from "./python";
import { testRedisUrl } from "./redis";
import { waitFor } from "./wait";

const ROOT = resolve(__dirname, "../..");
/** The example project's directory. */
export const EXAMPLE = join(ROOT, "examples", "django");
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
 * Starts the example on a new database (`prefix` names it) with the Redis db `redisDb` as broker:
 * migrate, celeriac_config, then the Node worker, then the Django worker (second, so that its
 * mingle reaches the Node worker, which answers it). The Node worker runs without -n: its default
 * name must not clash with Django's.
 */
export async function startDjangoExample(prefix: string, redisDb: number): Promise<DjangoExample> {
  const children: ChildProcess[] = [];
  const logs = new Map<ChildProcess, string>();
  const databaseUrl = await createTestDatabase(unique(prefix).replace(/[^a-z0-9]/gi, "_").toLowerCase());
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    CELERY_BROKER_URL: testRedisUrl(redisDb),
    NODE_QUEUE: unique("node"),
    DJANGO_QUEUE: unique("django"),
  };
  const manage = (args: string[], timeoutMs = 120_000): Promise<string> =>
    new Promise((resolveOut, reject) => {
      execFile(PY, ["manage.py", ...args], { cwd: EXAMPLE, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`manage.py ${args[0]} failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolveOut(stdout);
      });
    });
  const djangoShell = async (code: string): Promise<Record<string, unknown>> => {
    const out = await manage(["shell", "-c", code]);
    return JSON.parse(out.trim().split("\n").pop() ?? "null") as Record<string, unknown>;
  };
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
  await manage(["migrate", "--noinput", "-v", "0"]);
  const configFile = join(mkdtempSync(join(tmpdir(), "celeriac-django-")), "celeriac.json");
  await manage(["celeriac_config", configFile]);
  const nodeWorker = startChild(process.execPath, [join(ROOT, "dist/cli/main.js"), "worker", "-A", "node/tasks.js", "--config", configFile, "-c", "2"]);
  try {
    await waitFor(() => /@\S+ ready\./.test(output(nodeWorker)), 30_000, "the celeriac worker ready");
    const djangoWorker = startChild(PY, ["-m", "celery", "-A", "proj", "worker", "-Q", env.DJANGO_QUEUE, "-P", "solo", "-l", "info"]);
    await waitFor(() => /celery@\S+ ready\./.test(output(djangoWorker)), 60_000, "the Django worker ready");
    return { env, configFile, databaseUrl, nodeWorker, djangoWorker, output, manage, djangoShell, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
