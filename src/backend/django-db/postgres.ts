/**
 * The django-db backend on PostgreSQL, through the optional `pg` package (loaded on first use): a
 * pool of 4 connections; dates are `timestamp with time zone` (what Django creates with USE_TZ).
 */
import type * as Pg from "pg";
import { errorCode, onConflictUpsert, type SqlDialect, type SqlRunner, type SqlValue, type Upsert } from "./dialect";
import type { ServerTarget } from "./settings";

/** `pg`, required on first use: an optional peer dependency. */
function loadPg(): typeof Pg {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer dependency, loaded when django-db is used
    return require("pg") as typeof Pg;
  } catch (err) {
    throw new Error("the django-db result backend on PostgreSQL needs the pg package: npm install pg", { cause: err });
  }
}

/** `?` placeholders as PostgreSQL's `$1, $2, ...` (the backend's statements have no other `?`). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Statements on one pool or client. */
function runner(on: Pick<Pg.Pool, "query"> | Pg.PoolClient): SqlRunner {
  return {
    async run(sql, params) {
      await on.query(numbered(sql), params as SqlValue[]);
    },
    async row<R extends object>(sql: string, params: readonly SqlValue[]): Promise<R | null> {
      const res = await on.query<R & Pg.QueryResultRow>(numbered(sql), params as SqlValue[]);
      return res.rows[0] ?? null;
    },
  };
}

/** PostgreSQL, for the django-db backend. */
export class PostgresDialect implements SqlDialect {
  readonly lockForUpdate = " FOR UPDATE";
  private pool: Pg.Pool | null = null;

  constructor(private readonly target: ServerTarget) {}

  private db(): Pg.Pool {
    if (!this.pool) {
      const { Pool } = loadPg();
      const t = this.target;
      this.pool = new Pool({ host: t.host, port: t.port, user: t.user, password: t.password, database: t.database, max: 4 });
      // An idle client's error (the server went away) is not the pool's crash: the next query reconnects.
      this.pool.on("error", () => undefined);
    }
    return this.pool;
  }

  run(sql: string, params: readonly SqlValue[]): Promise<void> {
    return runner(this.db()).run(sql, params);
  }

  row<R extends object>(sql: string, params: readonly SqlValue[]): Promise<R | null> {
    return runner(this.db()).row<R>(sql, params);
  }

  upsert(upsert: Upsert): Promise<void> {
    const { sql, params } = onConflictUpsert(upsert);
    return this.run(sql, params);
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const client = await this.db().connect();
    try {
      await client.query("BEGIN");
      const out = await fn(runner(client));
      await client.query("COMMIT");
      return out;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  dateOf(value: unknown): Date | null {
    if (value instanceof Date) return value;
    return typeof value === "string" ? new Date(value) : null;
  }

  isMissingTable(err: unknown): boolean {
    return errorCode(err) === "42P01";
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.end();
  }
}
