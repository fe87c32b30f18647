import { databaseTarget } from "../../src/backend/django-db/settings";
import { metaOfRow, taskResultRow } from "../../src/backend/django-db/rows";
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

test("database settings: a URL or Django's DATABASES fields; other engines are refused", () => {
  expect(databaseTarget({ url: "postgres://u:p%40ss@db.example:6543/proj" })).toMatchObject({ host: "db.example", port: 6543, user: "u", password: "p@ss", database: "proj" });
  expect(databaseTarget({ ENGINE: "django.db.backends.postgresql", NAME: "proj", USER: "u", PASSWORD: "pw", HOST: "h", PORT: "5433" })).toMatchObject({ host: "h", port: 5433, database: "proj", url: "postgresql://u:pw@h:5433/proj" });
  expect(() => databaseTarget({ ENGINE: "django.db.backends.sqlite3", NAME: "db.sqlite3" })).toThrow(/PostgreSQL only/);
  expect(() => databaseTarget({ url: "mysql://u@h/db" })).toThrow(/PostgreSQL only/);
  expect(() => databaseTarget(null)).toThrow(/djangoDatabase/);
});
