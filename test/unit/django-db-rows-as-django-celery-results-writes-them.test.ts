import { databaseTarget } from "../../src/backend/django-db/settings";
import { metaOfRow, taskResultRow } from "../../src/backend/django-db/rows";
import { parseSqliteDatetime, sqliteDatetime } from "../../src/backend/django-db/sqlite";
import { buildResultMeta } from "../../src/protocol/result-meta";

test("the row of an extended SUCCESS: encoded result, {children} meta, repr'd args and kwargs", () => {
  const meta = buildResultMeta({
    taskId: "t1",
    status: "SUCCESS",
    result: { w: 640 },
    extended: { name: "node.resize", args: ["/a.png"], kwargs: { width: 640 }, worker: "node@h", retries: 0, queue: "node" },
  });
  expect(taskResultRow(meta, "json")).toEqual({
    task_id: "t1",
    status: "SUCCESS",
    content_type: "application/json",
    content_encoding: "utf-8",
    result: '{"w": 640}',
    traceback: null,
    meta: '{"children": []}',
    periodic_task_name: null,
    task_name: "node.resize",
    // Celery stores encode_content(request.argsrepr): the repr string, JSON-encoded
    task_args: "\"('/a.png',)\"",
    task_kwargs: "\"{'width': 640}\"",
    worker: "node@h",
  });
  // without result_extended: no name, args, kwargs or worker
  expect(taskResultRow(buildResultMeta({ taskId: "t2", status: "SUCCESS", result: 1 }), "json")).toMatchObject({ task_name: null, task_args: null, worker: null });
});

test("msgpack content is stored base64 with content_encoding binary, and read back", () => {
  const row = taskResultRow(buildResultMeta({ taskId: "t", status: "SUCCESS", result: [1, "a"] }), "msgpack");
  expect(row.content_encoding).toBe("binary");
  const back = metaOfRow("t", { ...row, date_done: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)) }, ["msgpack"]);
  expect(back).toMatchObject({ status: "SUCCESS", result: [1, "a"], children: [], date_done: "2026-01-02T03:04:05.006000+00:00" });
});

test("database settings: a URL as dj-database-url reads it, or Django's DATABASES fields; other engines are refused", () => {
  expect(databaseTarget({ url: "postgres://u:p%40ss@db.example:6543/proj" })).toMatchObject({ kind: "postgresql", host: "db.example", port: 6543, user: "u", password: "p@ss", database: "proj" });
  expect(databaseTarget({ ENGINE: "django.db.backends.postgresql", NAME: "proj", USER: "u", PASSWORD: "pw", HOST: "h", PORT: "5433" })).toMatchObject({ kind: "postgresql", host: "h", port: 5433, database: "proj", url: "postgresql://u:pw@h:5433/proj" });
  // SQLite: three slashes and a relative path, four and an absolute one; Django's 5 s busy timeout unless OPTIONS.timeout
  expect(databaseTarget({ url: "sqlite:///db.sqlite3" })).toMatchObject({ kind: "sqlite", path: "db.sqlite3", busyTimeoutMs: 5000 });
  expect(databaseTarget({ url: "sqlite:////srv/app/db%20x.sqlite3" })).toMatchObject({ kind: "sqlite", path: "/srv/app/db x.sqlite3" });
  expect(databaseTarget({ url: "sqlite://:memory:" })).toMatchObject({ kind: "sqlite", path: ":memory:" });
  expect(databaseTarget({ ENGINE: "django.db.backends.sqlite3", NAME: "/srv/app/db.sqlite3", OPTIONS: { timeout: 20 } })).toMatchObject({ kind: "sqlite", path: "/srv/app/db.sqlite3", busyTimeoutMs: 20_000 });
  expect(() => databaseTarget({ ENGINE: "django.db.backends.sqlite3" })).toThrow(/NAME/);
  expect(databaseTarget({ url: "mysql://u:pw@h/db" })).toMatchObject({ kind: "mysql", host: "h", port: 3306, user: "u", password: "pw", database: "db" });
  expect(databaseTarget({ ENGINE: "django.db.backends.mysql", NAME: "proj", USER: "u", HOST: "h" })).toMatchObject({ kind: "mysql", port: 3306, url: "mysql://u@h:3306/proj" });
  expect(() => databaseTarget({ ENGINE: "django.db.backends.oracle", NAME: "x" })).toThrow(/PostgreSQL, MySQL\/MariaDB and SQLite \(got ENGINE django.db.backends.oracle\)/);
  expect(() => databaseTarget({ url: "oracle://u@h/db" })).toThrow(/got a oracle:\/\/ URL/);
  expect(() => databaseTarget(null)).toThrow(/djangoDatabase/);
});

test("SQLite dates as Django's SQLite backend stores them (naive UTC, Python's str(datetime)) and read back", () => {
  expect(sqliteDatetime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)))).toBe("2026-01-02 03:04:05.006000");
  expect(sqliteDatetime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 0)))).toBe("2026-01-02 03:04:05");
  expect(parseSqliteDatetime("2026-01-02 03:04:05.006789").toISOString()).toBe("2026-01-02T03:04:05.006Z");
  expect(parseSqliteDatetime("2026-01-02 03:04:05").toISOString()).toBe("2026-01-02T03:04:05.000Z");
  expect(parseSqliteDatetime("2026-01-02 04:04:05+01:00").toISOString()).toBe("2026-01-02T03:04:05.000Z");
  expect(() => parseSqliteDatetime("yesterday")).toThrow(/not a stored datetime/);
});
