/**
 * The databases Django's django-db result backend runs on, for `describe.each(DJANGO_DATABASES)`
 * (PostgreSQL, SQLite, MySQL/MariaDB, the test servers of test/services/global-setup.js):
 * each makes an empty database of a test's own and gives its URL, as the example's settings.py
 * reads DATABASE_URL. `manage` and `djangoShell` run examples/django (newest Celery and Django,
 * interop-tests/.venv) on such a database.
 */
import { execFile } from "node:child_process";
import { closeSync, mkdtempSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createTestMysqlDatabase } from "./mysql";
import { createTestDatabase } from "./postgres";
import { PYTHONS } from "./python";

/** A database Django runs on. */
export interface DjangoDatabase {
  /** postgresql, sqlite, mysql (as `djangoDatabase` kinds name them). */
  name: string;
  /** A new, empty database named after `tag` (letters, digits, _); resolves its URL. */
  create(tag: string): Promise<string>;
  /** A server's Django ENGINE and the HOST that reaches it through its unix socket (a path). */
  socket?: { ENGINE: string; HOST: () => string };
}

/** The value of an environment variable global-setup.js sets. */
function fromSetup(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run through jest's integration or interop project (test/services/global-setup.js)`);
  return value;
}

/** An empty SQLite file in a directory of its own (Django opens it; `manage.py migrate` fills it). */
function createSqliteDatabase(tag: string): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), "celeriac-django-")), `${tag}.sqlite3`);
  closeSync(openSync(file, "w"));
  return Promise.resolve(`sqlite:///${file}`);
}

export const DJANGO_DATABASES: DjangoDatabase[] = [
  { name: "postgresql", create: createTestDatabase, socket: { ENGINE: "django.db.backends.postgresql", HOST: () => fromSetup("CELERIAC_TEST_PG_SOCKET_DIR") } },
  { name: "sqlite", create: createSqliteDatabase },
  { name: "mysql", create: createTestMysqlDatabase, socket: { ENGINE: "django.db.backends.mysql", HOST: () => fromSetup("CELERIAC_TEST_MYSQL_SOCKET") } },
];

export const DJANGO_EXAMPLE = resolve(__dirname, "..", "..", "examples", "django");
const PY = PYTHONS.find((p) => p.label === "celery-latest")!.exe;

/** `python manage.py <args>` in examples/django with `env` (DATABASE_URL, ...); resolves its stdout. */
export function manage(env: Record<string, string>, args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolveOut, reject) => {
    execFile(PY, ["manage.py", ...args], { cwd: DJANGO_EXAMPLE, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`manage.py ${args[0]} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolveOut(stdout);
    });
  });
}

/** Runs `code` in `manage.py shell` and returns the JSON of the last line it prints. */
export async function djangoShell(env: Record<string, string>, code: string): Promise<Record<string, unknown>> {
  const out = await manage(env, ["shell", "-c", code]);
  return JSON.parse(out.trim().split("\n").pop() ?? "null") as Record<string, unknown>;
}

/** A new database of `db`, migrated by Django (django-celery-results' tables); resolves its URL. */
export async function migratedDatabase(db: DjangoDatabase, tag: string): Promise<string> {
  const url = await db.create(tag);
  await manage({ DATABASE_URL: url }, ["migrate", "--noinput", "-v", "0"]);
  return url;
}
