/**
 * examples/django, as Celery's "First steps with Django" guide runs it, beside a celeriac worker:
 * Django (newest Celery, django-celery-results on each database Django's django-db runs on:
 * PostgreSQL, SQLite, MariaDB) sends to the Node worker,
 * whose settings come from `manage.py celeriac_config` through `celeriac worker --config`; results
 * are read through `django-db` by Django (AsyncResult, the TaskResult rows, ChordCounter) and by
 * Node. A Django worker runs beside it with Celery's default node name. Build first.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Celery } from "../src";
import { unique } from "../test/support/app";
import { DJANGO_DATABASES, DJANGO_EXAMPLE as EXAMPLE, djangoShell as shellOn, manage as manageOn } from "../test/support/django-db";
import { PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

const ROOT = resolve(__dirname, "..");
const PY = PYTHONS.find((p) => p.label === "celery-latest")!.exe;

describe.each(DJANGO_DATABASES)("the Django example on $name", (database) => {
  let env: Record<string, string>;
  let configFile: string;
  let databaseUrl: string;
  const children: ChildProcess[] = [];
  const logs = new Map<ChildProcess, string>();

  const manage = (args: string[]): Promise<string> => manageOn(env, args);
  const djangoShell = (code: string): Promise<Record<string, unknown>> => shellOn(env, code);

  function startChild(cmd: string, args: string[], cwd: string): ChildProcess {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    logs.set(child, "");
    const add = (d: Buffer): void => void logs.set(child, (logs.get(child) ?? "") + d.toString());
    child.stdout?.on("data", add);
    child.stderr?.on("data", add);
    children.push(child);
    return child;
  }

  /** Waits for `pattern` in the child's output; a timeout shows the output's end (why it did not start). */
  async function readyOrLog(child: ChildProcess, pattern: RegExp, ms: number, what: string): Promise<void> {
    try {
      await waitFor(() => pattern.test(logs.get(child) ?? ""), ms, what);
    } catch (err) {
      throw new Error(`${(err as Error).message}; its output:\n${(logs.get(child) ?? "").slice(-4000)}`);
    }
  }

  let nodeWorker: ChildProcess;
  let djangoWorker: ChildProcess;

  beforeAll(async () => {
    const db = unique("django").replace(/[^a-z0-9]/gi, "_").toLowerCase();
    databaseUrl = await database.create(db);
    env = {
      DATABASE_URL: databaseUrl,
      CELERY_BROKER_URL: testRedisUrl(12),
      NODE_QUEUE: unique("node"),
      DJANGO_QUEUE: unique("django"),
    };
    await manage(["migrate", "--noinput", "-v", "0"]);
    configFile = join(mkdtempSync(join(tmpdir(), "celeriac-django-")), "celeriac.json");
    await manage(["celeriac_config", configFile]);
    // The example's worker command, but without -n: the default name must not clash with Django's.
    nodeWorker = startChild(process.execPath, [join(ROOT, "dist/cli/main.js"), "worker", "-A", "node/tasks.js", "--config", configFile, "-c", "2"], EXAMPLE);
    await readyOrLog(nodeWorker, /@\S+ ready\./, 30_000, "the celeriac worker ready");
    // Started second, so that its mingle (hello) reaches the Node worker, which answers it.
    djangoWorker = startChild(PY, ["-m", "celery", "-A", "proj", "worker", "-Q", env.DJANGO_QUEUE, "-P", "solo", "-l", "info"], EXAMPLE);
    await readyOrLog(djangoWorker, /celery@\S+ ready\./, 60_000, "the Django worker ready");
  }, 240_000);

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
    }
  });

  test("the settings file carries Django's CELERY_* settings and the Node worker consumes its queue", () => {
    const settings = JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>;
    expect(settings).toMatchObject({
      result_backend: "django-db",
      result_extended: true,
      task_track_started: true,
      timezone: "Europe/Berlin",
      // settings.py gives SQLite a busy timeout of 20 s, which the Node worker waits too
      django_database: { ENGINE: expect.stringContaining(database.name) as unknown, ...(database.name === "sqlite" ? { OPTIONS: { timeout: 20 } } : {}) },
      task_routes: { "node.*": { queue: env.NODE_QUEUE } },
      task_queues: [env.NODE_QUEUE],
    });
    expect(logs.get(nodeWorker)).toContain(`.> ${env.NODE_QUEUE} `); // the banner's [queues]
  });

  test("a kwargs-only call reaches a plain handler; Django reads the result, the TaskResult row and an aware date_done", async () => {
    const out = await djangoShell(`
import json
from django.utils import timezone
from proj.celery import app
from django_celery_results.models import TaskResult
r = app.send_task("node.resize", kwargs={"path": "/a.png", "width": 640})
value = r.get(timeout=30)
row = TaskResult.objects.get(task_id=r.id)
age = (timezone.now() - r.date_done).total_seconds()
row_age = (timezone.now() - row.date_done).total_seconds()
print(json.dumps({"id": r.id, "value": value, "status": row.status, "task_name": row.task_name,
  "task_kwargs": row.task_kwargs, "worker": row.worker, "content_type": row.content_type,
  "meta": row.meta, "started": row.date_started is not None, "age": age, "row_age": row_age,
  "node_rows": list(TaskResult.objects.filter(task_name__startswith="node.").values_list("task_id", flat=True))}))
  `);
    expect(out.value).toEqual({ path: "/a.png", width: 640, height: 480 });
    expect(out).toMatchObject({ status: "SUCCESS", task_name: "node.resize", content_type: "application/json", meta: '{"children": []}', started: true });
    expect(out.task_kwargs).toBe(JSON.stringify("{'path': '/a.png', 'width': 640}"));
    expect(String(out.worker)).toMatch(/^celeriac@/);
    for (const age of [out.age, out.row_age] as number[]) {
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(120);
    }
    expect(out.node_rows).toContain(out.id);
  });

  test("a Node failure is a FAILURE row Django raises with its type name", async () => {
    const out = await djangoShell(`
import json
from proj.celery import app
from django_celery_results.models import TaskResult
r = app.send_task("node.fail", ["too far"])
try:
    r.get(timeout=30)
    exc = None
except Exception as e:
    exc = [type(e).__name__, str(e)]
row = TaskResult.objects.get(task_id=r.id)
print(json.dumps({"exc": exc, "status": row.status, "traceback": bool(row.traceback)}))
  `);
    expect(out).toEqual({ exc: ["RangeError", "too far"], status: "FAILURE", traceback: true });
  });

  test("a chord of Node parts completes through ChordCounter into a Django task", async () => {
    const out = await djangoShell(`
import json
from celery import chord
from proj.celery import app
from demo.tasks import tsum
from django_celery_results.models import ChordCounter
header = [app.signature("node.double", (i,)) for i in (1, 2, 3)]
r = chord(header)(tsum.s())
value = r.get(timeout=60)
print(json.dumps({"value": value, "counters": ChordCounter.objects.filter(group_id=r.parent.id).count() if r.parent else ChordCounter.objects.count()}))
  `);
    expect(out).toEqual({ value: 12, counters: 0 });
  });

  test("Node reads results back through django-db: a Node task's and a Django task's", async () => {
    const ids = await djangoShell(`
import json
from proj.celery import app
from demo.tasks import add
node = app.send_task("node.double", [21])
node.get(timeout=30)
py = add.delay(2, 3)
py.get(timeout=30)
print(json.dumps({"node": node.id, "py": py.id}))
  `);
    const app = new Celery("reader", { broker: env.CELERY_BROKER_URL, backend: "django-db", djangoDatabase: { url: databaseUrl } });
    try {
      expect(await app.AsyncResult(String(ids.node)).get({ timeout: 10_000 })).toBe(42);
      expect(await app.AsyncResult(String(ids.py)).get({ timeout: 10_000 })).toBe(5);
      const meta = await (await app.backend()).get(String(ids.py));
      expect(meta?.date_done).toMatch(/\+00:00$/);
    } finally {
      await app.close();
    }
  });

  test("the two workers' default node names do not clash: celery status sees two nodes, no DuplicateNodenameWarning", async () => {
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((done, reject) =>
      execFile(PY, ["-m", "celery", "-A", "proj", "status", "-t", "5"], { cwd: EXAMPLE, env: { ...process.env, ...env }, timeout: 60_000 }, (err, out, errOut) =>
        err ? reject(new Error(`celery status failed: ${err.message}\n${out}\n${errOut}`)) : done({ stdout: out, stderr: errOut }),
      ),
    );
    expect(stderr).not.toMatch(/DuplicateNodenameWarning|multiple replies/i);
    expect(stdout).toMatch(/celeriac@\S+: OK/);
    expect(stdout).toMatch(/celery@\S+: OK/);
    expect(stdout).toMatch(/2 nodes online/);
  });
});
