/**
 * The django-db result backend on each database Django runs it on (test/support/django-db.ts),
 * against real Django and django-celery-results (examples/django's project, newest versions): the
 * tables come from `manage.py migrate`; Django reads what Node stores (aware dates, the admin's
 * date filter, AsyncResult) and Node reads what Django stores; a stored SUCCESS is never
 * overwritten; a chord counter Django's apply_chord made completes once under concurrent parts.
 * On SQLite: Django's locks are waited out (busy timeout) and the journal mode is the file's.
 */
import Sqlite from "better-sqlite3";
import { existsSync } from "node:fs";
import { DjangoDbBackend } from "../src/backend/django-db";
import { buildResultMeta, type ResultMeta } from "../src/protocol/result-meta";
import { pyJsonDumps } from "../src/protocol/serializers/json";
import { unique } from "../test/support/app";
import { DJANGO_DATABASES, djangoShell, migratedDatabase } from "../test/support/django-db";
import { PYTHONS, pyInline } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

function meta(taskId: string, status: string, result: ResultMeta["result"] = null): ResultMeta {
  return buildResultMeta({ taskId, status, result, extended: { name: "node.t", args: [1], kwargs: { k: "v" }, worker: "celeriac@h", retries: 0, queue: "node" } });
}

const tag = (): string => unique("dj").replace(/[^a-z0-9]/gi, "_").toLowerCase();

describe.each(DJANGO_DATABASES)("django-db on $name shares django-celery-results' rows with Django", (database) => {
  let url: string;
  let env: Record<string, string>;
  const open: DjangoDbBackend[] = [];
  function backend(): DjangoDbBackend {
    const b = new DjangoDbBackend({ url }, { serializer: "json", accept: ["json"], pollIntervalMs: 50 });
    open.push(b);
    return b;
  }
  const django = (code: string): Promise<Record<string, unknown>> => djangoShell(env, `import json\nfrom proj.celery import app\n${code}`);

  beforeAll(async () => {
    url = await migratedDatabase(database, tag());
    env = { DATABASE_URL: url, CELERY_BROKER_URL: testRedisUrl(12) };
  }, 120_000);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
  });

  test("store then get returns the meta with an aware date_done; a missing id is null; forget deletes", async () => {
    const b = backend();
    await b.connect();
    const id = unique("t");
    expect(await b.get(id)).toBeNull();
    await b.store(id, meta(id, "SUCCESS", { n: [1, "ü"] }));
    const got = await b.get(id);
    expect(got).toMatchObject({ status: "SUCCESS", result: { n: [1, "ü"] }, children: [], task_id: id, name: "node.t", worker: "celeriac@h" });
    expect(Math.abs(Date.parse(got?.date_done ?? "") - Date.now())).toBeLessThan(60_000);
    expect(got?.date_done).toMatch(/\+00:00$/);
    await b.forget(id);
    expect(await b.get(id)).toBeNull();
  });

  test("Django reads a Node row: a stored SUCCESS is never overwritten, aware dates, STARTED's date_started kept, the admin's date filter lists it", async () => {
    const b = backend();
    const id = unique("t");
    await b.store(id, meta(id, "STARTED"));
    await b.store(id, meta(id, "SUCCESS", [1, 2]));
    await b.store(id, meta(id, "FAILURE", { exc_type: "ValueError", exc_message: ["late"], exc_module: "builtins" }));
    const out = await django(`
from datetime import timedelta
from django.utils import timezone
from django_celery_results.models import TaskResult
row = TaskResult.objects.get(task_id=${JSON.stringify(id)})
now = timezone.now()
recent = TaskResult.objects.filter(date_done__gte=now - timedelta(minutes=5), date_done__lte=now + timedelta(minutes=5))
print(json.dumps({"status": row.status, "result": row.result, "task_name": row.task_name, "task_args": row.task_args,
  "task_kwargs": row.task_kwargs, "aware": [timezone.is_aware(d) for d in (row.date_done, row.date_created, row.date_started)],
  "age": (now - row.date_done).total_seconds(), "started_first": row.date_started <= row.date_done,
  "recent": recent.filter(task_id=${JSON.stringify(id)}).exists(), "value": app.AsyncResult(${JSON.stringify(id)}).get(timeout=10)}))
`);
    expect(out).toMatchObject({ status: "SUCCESS", result: "[1, 2]", task_name: "node.t", task_args: '"(1,)"', task_kwargs: `"{'k': 'v'}"`, aware: [true, true, true], started_first: true, recent: true, value: [1, 2] });
    expect(out.age).toBeGreaterThanOrEqual(-5);
    expect(out.age).toBeLessThan(60);
  });

  test("dates are stored as Django stores them: Django orders a Node row between its own and finds it by its exact dates", async () => {
    const b = backend();
    const [before, node, after] = [unique("t"), unique("t"), unique("t")];
    const store = (id: string): Promise<unknown> => django(`app.backend.store_result(${JSON.stringify(id)}, 2, "SUCCESS")\nprint("{}")`);
    await store(before);
    await b.store(node, meta(node, "STARTED"));
    await b.store(node, meta(node, "SUCCESS", 1));
    await store(after);
    const out = await django(`
from django_celery_results.models import TaskResult
ids = ${JSON.stringify([before, node, after])}
row = TaskResult.objects.get(task_id=ids[1])
print(json.dumps({"order": list(TaskResult.objects.filter(task_id__in=ids).order_by("date_done").values_list("task_id", flat=True)),
  "exact": TaskResult.objects.filter(date_done=row.date_done, date_created=row.date_created, date_started=row.date_started).filter(task_id=ids[1]).exists()}))
`);
    expect(out).toEqual({ order: [before, node, after], exact: true });
    expect(await b.get(after)).toMatchObject({ status: "SUCCESS", result: 2 });
  });

  test("waitForReady polls until Django stores the result", async () => {
    const b = backend();
    const id = unique("t");
    const waiting = b.waitForReady(id, 30_000);
    await django(`app.backend.store_result(${JSON.stringify(id)}, {"from": "django"}, "SUCCESS")\nprint("{}")`);
    expect((await waiting).result).toEqual({ from: "django" });
  });

  test("groups: saved, read back by Django's GroupResult, restored and deleted", async () => {
    const b = backend();
    const gid = unique("g");
    const ids = [unique("t"), unique("t")];
    await b.saveGroup(gid, { result: [[gid, null], ids.map((i) => [[i, null], null])] });
    const out = await django(`
from django_celery_results.models import GroupResult
row = GroupResult.objects.get(group_id=${JSON.stringify(gid)})
print(json.dumps({"children": [r.id for r in app.backend.restore_group(${JSON.stringify(gid)}).results], "aware": row.date_done.tzinfo is not None}))
`);
    expect(out).toEqual({ children: ids, aware: true });
    expect((await b.restoreGroup(gid))?.result).toEqual([[gid, null], ids.map((i) => [[i, null], null])]);
    await b.deleteGroup(gid);
    expect(await b.restoreGroup(gid)).toBeNull();
  });

  test("a ChordCounter made by Django's apply_chord completes once, under parts returning at the same time", async () => {
    const gid = unique("g");
    const ids = [unique("t"), unique("t"), unique("t")];
    await django(`
from celery.result import GroupResult
app.backend.apply_chord(GroupResult(${JSON.stringify(gid)}, [app.AsyncResult(i) for i in ${JSON.stringify(ids)}]), {})
print("{}")
`);
    const parts = ids.map(() => backend());
    await Promise.all(ids.map((id, i) => parts[i].store(id, meta(id, "SUCCESS", i * 10))));
    const outcomes = await Promise.all(ids.map((id, i) => parts[i].onChordPartReturn(gid, i, pyJsonDumps([1, id, "SUCCESS", i * 10]))));
    const complete = outcomes.filter((o) => o.complete);
    expect(complete).toHaveLength(1);
    expect(complete[0].members).toEqual(ids.map((id, i) => pyJsonDumps([1, id, "SUCCESS", i * 10])));
    const left = await django(`
from django_celery_results.models import ChordCounter
print(json.dumps({"n": ChordCounter.objects.filter(group_id=${JSON.stringify(gid)}).count()}))
`);
    expect(left).toEqual({ n: 0 });
    // a part of a chord without a counter: not complete (Python logs "Can't find ChordCounter")
    expect(await backend().onChordPartReturn(unique("g"), 0, pyJsonDumps([1, ids[0], "SUCCESS", 0]))).toEqual({ complete: false, members: [] });
  });

  // A server database only: SQLite has no server to reach.
  const socket = database.socket;
  if (socket) {
    test("a HOST that is a path reaches the server through its unix socket, as Django's backends read it", async () => {
      const u = new URL(url);
      const fields = { ENGINE: socket.ENGINE, NAME: u.pathname.slice(1), USER: decodeURIComponent(u.username), PASSWORD: decodeURIComponent(u.password), HOST: socket.HOST(), PORT: u.port };
      const b = new DjangoDbBackend(fields, { serializer: "json", accept: ["json"] });
      open.push(b);
      await b.connect();
      const id = unique("t");
      await b.store(id, meta(id, "SUCCESS", "through the socket"));
      expect((await backend().get(id))?.result).toBe("through the socket");
    });
  }

  test("a database without django-celery-results' tables: the error names the migration", async () => {
    const empty = await database.create(tag());
    const b = new DjangoDbBackend({ url: empty }, { serializer: "json", accept: ["json"] });
    open.push(b);
    await b.connect();
    await expect(b.get(unique("t"))).rejects.toThrow(/manage\.py migrate django_celery_results/);
  });
});

describe("django-db on SQLite beside Django's connections to the file", () => {
  const sqlite = DJANGO_DATABASES.find((d) => d.name === "sqlite")!;
  const PY = PYTHONS.find((p) => p.label === "celery-latest")!;
  // Holds the file's write lock (as a Django request in transaction.atomic does), `marker` made once
  // it is taken, for `hold` seconds; prints the journal mode and when the lock was released.
  const HOLD_LOCK = `
import json, sqlite3, sys, time
req = json.load(sys.stdin)
c = sqlite3.connect(req["path"], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
c.execute("UPDATE django_celery_results_taskresult SET status = status")
open(req["marker"], "w").close()
time.sleep(req["hold"])
c.execute("COMMIT")
released = time.time()
print(json.dumps({"released": released, "journal": c.execute("PRAGMA journal_mode").fetchone()[0]}))
`;
  let path: string;
  beforeAll(async () => {
    path = (await migratedDatabase(sqlite, tag())).replace(/^sqlite:\/\/\//, "");
  }, 120_000);

  test("a store waits out a lock Django holds (the busy timeout, Django's 5 s) and leaves the journal mode as it is", async () => {
    const b = new DjangoDbBackend({ ENGINE: "django.db.backends.sqlite3", NAME: path }, { serializer: "json", accept: ["json"] });
    try {
      await b.connect();
      const marker = `${path}.${unique("lock")}`;
      const holder = pyInline(PY, HOLD_LOCK, { path, marker, hold: 1.5 });
      await waitFor(() => existsSync(marker), 30_000, "the lock taken");
      const id = unique("t");
      await b.store(id, meta(id, "SUCCESS", 7));
      const stored = Date.now() / 1000;
      const { released, journal } = (await holder) as { released: number; journal: string };
      expect(stored).toBeGreaterThanOrEqual(released - 0.05);
      expect(journal).toBe("delete");
      expect((await b.get(id))?.result).toBe(7);
    } finally {
      await b.close();
    }
  });

  test("OPTIONS.timeout shortens the wait: a store gives up with SQLite's 'database is locked'", async () => {
    // The lock is held by a second connection of this process (SQLite locks between connections
    // of one process as between processes; the case above holds it from Python).
    // The rejection is checked by its message and code, not with `rejects.toThrow`: better-sqlite3's
    // native part keeps the SqliteError class of the first module registry that loaded it, so in a
    // jest worker that ran another SQLite test file first the error is not an `Error` of this file's
    // realm, and `rejects.toThrow` then reports "did not throw" (CI failed so three times).
    const holder = new Sqlite(path, { fileMustExist: true });
    const b = new DjangoDbBackend({ ENGINE: "django.db.backends.sqlite3", NAME: path, OPTIONS: { timeout: 0.2 } }, { serializer: "json", accept: ["json"] });
    try {
      holder.exec("BEGIN IMMEDIATE");
      holder.exec("UPDATE django_celery_results_taskresult SET status = status");
      const id = unique("t");
      const started = Date.now();
      const failure = (await b.store(id, meta(id, "SUCCESS", 7)).then(
        () => null,
        (err: unknown) => err,
      )) as { message?: unknown; code?: unknown } | null;
      expect(failure?.message).toMatch(/database is locked/);
      expect(failure?.code).toBe("SQLITE_BUSY");
      const waited = Date.now() - started;
      expect(waited).toBeGreaterThanOrEqual(150);
      expect(waited).toBeLessThan(4000);
      holder.exec("COMMIT");
      await b.store(id, meta(id, "SUCCESS", 7));
      expect((await b.get(id))?.result).toBe(7);
    } finally {
      if (holder.inTransaction) holder.exec("ROLLBACK");
      holder.close();
      await b.close();
    }
  });
});
