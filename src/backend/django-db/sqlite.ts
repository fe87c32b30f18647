/**
 * The django-db backend on SQLite, through the optional `better-sqlite3` package (loaded on first
 * use), on the file Django's `NAME` names, beside Django's own connections to it:
 * - dates are stored as Django's SQLite backend stores an aware DateTimeField: UTC text without
 *   an offset, `YYYY-MM-DD HH:MM:SS[.ffffff]` (Python's `str(datetime)`);
 * - a locked file is waited for up to the busy timeout (Django's default 5 s, OPTIONS.timeout);
 * - the journal mode is the user's (never changed here); transactions are short (`BEGIN IMMEDIATE`
 *   takes the write lock at once, so the ChordCounter decrement cannot deadlock on an upgrade);
 * - the file must exist (`manage.py migrate` creates it): a wrong path does not make a new file.
 *
 * better-sqlite3 is synchronous, and waits for a lock by blocking the thread: the calls of every
 * connection of this process to one file run one after another (a transaction's statements are
 * never interleaved with another call's, and a connection never waits for a lock another
 * connection of this process holds across an await, which would never be released).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { errorCode, loadDriver, onConflictUpsert, type SqlDialect, type SqlRunner, type SqlValue, type Upsert } from "./dialect";
import type { SqliteTarget } from "./settings";

/** A date as Django's SQLite backend stores it with USE_TZ: naive UTC, Python's `str()` of it. */
export function sqliteDatetime(date: Date): string {
  const iso = date.toISOString(); // 2026-12-06T12:48:27.431Z
  const ms = date.getUTCMilliseconds();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${ms ? `.${String(ms).padStart(3, "0")}000` : ""}`;
}

/** A stored SQLite date (naive UTC text, or text with an offset) as a Date. */
export function parseSqliteDatetime(text: string): Date {
  const aware = /(Z|[+-]\d\d:?\d\d)$/i.test(text);
  const date = new Date(`${text.trim().replace(" ", "T")}${aware ? "" : "Z"}`);
  if (Number.isNaN(date.getTime())) throw new Error(`not a stored datetime: ${JSON.stringify(text)}`);
  return date;
}

/** A value as better-sqlite3 binds it, stored as Django stores it (dates as text, booleans as 0/1). */
function bound(value: SqlValue): string | number | null {
  if (value instanceof Date) return sqliteDatetime(value);
  if (typeof value === "boolean") return value ? 1 : 0;
  return value;
}

/** Per file (resolved path): the completion of the last call of this process's connections to it. */
const tails = new Map<string, Promise<unknown>>();
let memories = 0;

/** SQLite, for the django-db backend. */
export class SqliteDialect implements SqlDialect {
  readonly lockForUpdate = "";
  private db: BetterSqlite3.Database | null = null;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  /** The key of the file in `tails`. */
  private readonly file: string;

  constructor(private readonly target: SqliteTarget) {
    this.file = target.path === ":memory:" ? `:memory:${++memories}` : resolve(target.path);
  }

  private open(): BetterSqlite3.Database {
    if (!this.db) {
      const Database = loadDriver<typeof BetterSqlite3>("better-sqlite3", "SQLite");
      const { path, busyTimeoutMs } = this.target;
      if (path !== ":memory:" && !existsSync(path)) {
        throw new Error(`the SQLite database ${path} does not exist (python manage.py migrate creates it and django-celery-results' tables)`);
      }
      this.db = new Database(path, { fileMustExist: path !== ":memory:", timeout: busyTimeoutMs });
    }
    return this.db;
  }

  private statement(sql: string): BetterSqlite3.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.open().prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Runs `fn` after every earlier call on the file has finished. */
  private serial<T>(fn: () => T | Promise<T>): Promise<T> {
    const out = (tails.get(this.file) ?? Promise.resolve()).then(fn);
    const tail = out.catch(() => undefined);
    tails.set(this.file, tail);
    void tail.then(() => tails.get(this.file) === tail && tails.delete(this.file));
    return out;
  }

  /** Statements on the connection, for callers already inside `serial`. */
  private readonly direct: SqlRunner = {
    run: async (sql, params) => {
      this.statement(sql).run(...params.map(bound));
    },
    row: async <R extends object>(sql: string, params: readonly SqlValue[]): Promise<R | null> => {
      return (this.statement(sql).get(...params.map(bound)) as R | undefined) ?? null;
    },
  };

  run(sql: string, params: readonly SqlValue[]): Promise<void> {
    return this.serial(() => this.direct.run(sql, params));
  }

  row<R extends object>(sql: string, params: readonly SqlValue[]): Promise<R | null> {
    return this.serial(() => this.direct.row<R>(sql, params));
  }

  upsert(upsert: Upsert): Promise<void> {
    const { sql, params } = onConflictUpsert(upsert);
    return this.run(sql, params);
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      const db = this.open();
      db.exec("BEGIN IMMEDIATE");
      try {
        const out = await fn(this.direct);
        db.exec("COMMIT");
        return out;
      } catch (err) {
        if (db.inTransaction) db.exec("ROLLBACK");
        throw err;
      }
    });
  }

  dateOf(value: unknown): Date | null {
    if (value instanceof Date) return value;
    return typeof value === "string" ? parseSqliteDatetime(value) : null;
  }

  isMissingTable(err: unknown): boolean {
    return errorCode(err) === "SQLITE_ERROR" && /no such table/i.test((err as Error).message);
  }

  close(): Promise<void> {
    return this.serial(() => {
      const db = this.db;
      this.db = null;
      this.statements.clear();
      db?.close();
    });
  }
}
