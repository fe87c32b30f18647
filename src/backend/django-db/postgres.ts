/**
 * The django-db backend on PostgreSQL, through the optional `pg` package (loaded on first use): a
 * pool of 4 connections; dates are `timestamp with time zone` (what Django creates with USE_TZ).
 */
import type * as Pg from "pg";
import { errorCode, loadDriver, onConflictUpsert, type SqlRunner, type SqlValue, type Upsert } from "./dialect";
import { PooledDialect, type PoolDriver } from "./pooled";
import type { ServerTarget } from "./settings";

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
export class PostgresDialect extends PooledDialect {
  readonly lockForUpdate = " FOR UPDATE";

  constructor(private readonly target: ServerTarget) {
    super();
  }

  protected openPool(): PoolDriver {
    const { Pool } = loadDriver<typeof Pg>("pg", "PostgreSQL");
    const t = this.target;
    // A HOST that is a path is the directory of the server's unix socket (libpq's, Django's reading).
    const pool = new Pool({ host: t.host, port: t.port, user: t.user, password: t.password, database: t.database, max: 4 });
    // An idle client's error (the server went away) is not the pool's crash: the next query reconnects.
    pool.on("error", () => undefined);
    return {
      runner: runner(pool),
      connect: async () => {
        const client = await pool.connect();
        return {
          runner: runner(client),
          begin: () => client.query("BEGIN"),
          commit: () => client.query("COMMIT"),
          rollback: () => client.query("ROLLBACK"),
          release: () => client.release(),
        };
      },
      end: () => pool.end(),
    };
  }

  protected upsertStatement(upsert: Upsert): { sql: string; params: SqlValue[] } {
    return onConflictUpsert(upsert);
  }

  dateOf(value: unknown): Date | null {
    if (value instanceof Date) return value;
    return typeof value === "string" ? new Date(value) : null;
  }

  isMissingTable(err: unknown): boolean {
    return errorCode(err) === "42P01";
  }
}
