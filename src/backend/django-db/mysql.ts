/**
 * The django-db backend on MySQL and MariaDB, through the optional `mysql2` package (loaded on
 * first use): a pool of 4 connections; dates are DATETIME(6) holding naive UTC, as Django's MySQL
 * backend stores an aware DateTimeField (the session time zone is not used: `timezone: "Z"`
 * converts in the client). MySQL has no `ON CONFLICT ... WHERE`: the upsert is
 * `ON DUPLICATE KEY UPDATE` with every column kept when the stored status is SUCCESS.
 */
import type * as Mysql from "mysql2/promise";
import { errorCode, loadDriver, type SqlRunner, type SqlValue, type Upsert } from "./dialect";
import { PooledDialect, type PoolDriver } from "./pooled";
import type { ServerTarget } from "./settings";

/**
 * `INSERT ... ON DUPLICATE KEY UPDATE`: assignments are made left to right and see the columns
 * assigned before them, so `status`, which the others' SUCCESS test reads, is assigned last.
 */
export function onDuplicateKeyUpsert(u: Upsert): { sql: string; params: SqlValue[] } {
  const columns = Object.keys(u.values);
  const keep = new Set(u.keepIfNull ?? []);
  const update = [...u.update.filter((c) => c !== "status"), ...u.update.filter((c) => c === "status")];
  const set = update.map((c) => {
    const value = keep.has(c) ? `COALESCE(VALUES(${c}), ${c})` : `VALUES(${c})`;
    return `${c} = ${u.unlessSuccess ? `IF(status = 'SUCCESS', ${c}, ${value})` : value}`;
  });
  const sql = `INSERT INTO ${u.table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")}) ON DUPLICATE KEY UPDATE ${set.join(", ")}`;
  return { sql, params: columns.map((c) => u.values[c] ?? null) };
}

/** Statements on a pool or one connection. */
function runner(on: Pick<Mysql.Pool, "query">): SqlRunner {
  return {
    async run(sql, params) {
      await on.query(sql, [...params]);
    },
    async row<R extends object>(sql: string, params: readonly SqlValue[]): Promise<R | null> {
      const [rows] = await on.query<Mysql.RowDataPacket[]>(sql, [...params]);
      return (rows[0] as R | undefined) ?? null;
    },
  };
}

/** MySQL or MariaDB, for the django-db backend. */
export class MysqlDialect extends PooledDialect {
  readonly lockForUpdate = " FOR UPDATE";

  constructor(private readonly target: ServerTarget) {
    super();
  }

  protected openPool(): PoolDriver {
    const { createPool } = loadDriver<typeof Mysql>("mysql2", "MySQL/MariaDB", "mysql2/promise");
    const t = this.target;
    // A HOST that is a path is the server's unix socket, as Django's MySQL backend reads it.
    const where = t.host.startsWith("/") ? { socketPath: t.host } : { host: t.host, port: t.port };
    const pool = createPool({ ...where, user: t.user, password: t.password, database: t.database, connectionLimit: 4, timezone: "Z", charset: "utf8mb4" });
    return {
      runner: runner(pool),
      connect: async () => {
        const connection = await pool.getConnection();
        return {
          runner: runner(connection),
          begin: () => connection.beginTransaction(),
          commit: () => connection.commit(),
          rollback: () => connection.rollback(),
          release: () => connection.release(),
        };
      },
      end: () => pool.end(),
    };
  }

  protected upsertStatement(upsert: Upsert): { sql: string; params: SqlValue[] } {
    return onDuplicateKeyUpsert(upsert);
  }

  dateOf(value: unknown): Date | null {
    if (value instanceof Date) return value;
    return typeof value === "string" ? new Date(`${value.replace(" ", "T")}Z`) : null;
  }

  isMissingTable(err: unknown): boolean {
    return errorCode(err) === "ER_NO_SUCH_TABLE";
  }
}
