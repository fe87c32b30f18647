/**
 * examples/django, as Celery's "First steps with Django" guide runs it, beside a celeriac worker,
 * on each database Django's django-db backend runs on (PostgreSQL, SQLite, MySQL/MariaDB): Django
 * (newest Celery, django-celery-results) sends to the Node worker, whose settings come from
 * `manage.py celeriac_config` through `celeriac worker --config`; results are read through
 * `django-db` by Django (AsyncResult, the TaskResult rows, ChordCounter) and by Node. A Django
 * worker runs beside it with Celery's default node name. Build first.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { Celery } from "../src";
import { DJANGO_DATABASES } from "../test/support/django-db";
import { EXAMPLE, startDjangoExample, type DjangoExample } from "../test/support/django-example";
import { PYTHONS } from "../test/support/python";

const PY = PYTHONS.find((p) => p.label === "celery-latest")!.exe;

describe.each(DJANGO_DATABASES)("the Django example on $name", (database) => {
  let example: DjangoExample;
  let env: Record<string, string>;
  let configFile: string;
  let databaseUrl: string;
  let djangoShell: DjangoExample["djangoShell"];

  beforeAll(async () => {
    example = await startDjangoExample("django", 12, database);
    ({ env, configFile, databaseUrl, djangoShell } = example);
  }, 240_000);

  afterAll(async () => {
    await example?.stop();
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
    expect(example.output(example.nodeWorker)).toContain(`.> ${env.NODE_QUEUE} `); // the banner's [queues]
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

  test("except TypeError in Django catches a TypeError thrown by a Node task", async () => {
    const out = await djangoShell(`
import json
from proj.celery import app
r = app.send_task("node.length", [42])
try:
    r.get(timeout=30)
    caught = None
except TypeError as e:
    caught = ["TypeError", type(e).__module__, str(e)]
except Exception as e:
    caught = ["other", type(e).__module__, repr(e)]
print(json.dumps({"caught": caught, "ok": app.send_task("node.length", ["four"]).get(timeout=30)}))
`);
    expect(out).toEqual({ caught: ["TypeError", "builtins", "text must be a string, not number"], ok: 4 });
  });

  test("the admin's Task results list shows a Node task's row (a logged-in superuser's changelist, searched by id)", async () => {
    const out = await djangoShell(`
import json
from django.contrib.auth.models import User
from django.test import Client
from proj.celery import app
user, _ = User.objects.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True})
client = Client()
client.force_login(user)
r = app.send_task("node.double", [7])
r.get(timeout=30)
page = client.get("/admin/django_celery_results/taskresult/", {"q": r.id})
html = page.content.decode()
print(json.dumps({"status": page.status_code, "listed": r.id in html, "task": "node.double" in html, "count": "1 task result" in html}))
`);
    expect(out).toEqual({ status: 200, listed: true, task: true, count: true });
  });

  test("an ETA and a countdown sent from Django (CELERY_TIMEZONE Europe/Berlin) hold the task on the Node worker until then", async () => {
    const out = await djangoShell(`
import json
from datetime import timedelta
from django.utils import timezone
from proj.celery import app
sent = timezone.now()
by_eta = app.send_task("node.double", [4], eta=sent + timedelta(seconds=3))
by_countdown = app.send_task("node.double", [5], countdown=2)
values = [by_eta.get(timeout=30), by_countdown.get(timeout=30)]
waited = [(r.date_done - sent).total_seconds() for r in (by_eta, by_countdown)]
print(json.dumps({"values": values, "waited": waited}))
  `);
    expect(out.values).toEqual([8, 10]);
    const [byEta, byCountdown] = out.waited as number[];
    expect(byEta).toBeGreaterThanOrEqual(2.9);
    expect(byEta).toBeLessThan(30);
    expect(byCountdown).toBeGreaterThanOrEqual(1.9);
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
