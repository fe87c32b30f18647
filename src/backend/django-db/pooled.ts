/**
 * A server database's dialect (PostgreSQL, MySQL/MariaDB) over its driver's connection pool:
 * statements on the pool, a transaction on one pooled connection, the pool made on first use
 * (when the driver package is loaded) and ended by close. postgres.ts and mysql.ts give the
 * driver's calls, their upsert statement, dates and error codes.
 */
import type { SqlDialect, SqlRunner, SqlValue, Upsert } from "./dialect";

/** One connection taken from the pool for a transaction. */
export interface PooledConnection {
  /** Statements on this connection. */
  runner: SqlRunner;
  begin(): Promise<unknown>;
  commit(): Promise<unknown>;
  rollback(): Promise<unknown>;
  /** Gives the connection back to the pool. */
  release(): void;
}

/** A driver's pool, as the pooled dialect uses it. */
export interface PoolDriver {
  /** Statements on any connection of the pool. */
  runner: SqlRunner;
  /** One connection of the pool. */
  connect(): Promise<PooledConnection>;
  /** Closes every connection. */
  end(): Promise<unknown>;
}

/** The part of a dialect every pooled server database shares. */
export abstract class PooledDialect implements SqlDialect {
  abstract readonly lockForUpdate: string;
  private driver: PoolDriver | null = null;

  /** Loads the driver package and makes the pool (on first use). */
  protected abstract openPool(): PoolDriver;
  /** The upsert as one statement of this database, with its parameters in `?` order. */
  protected abstract upsertStatement(upsert: Upsert): { sql: string; params: SqlValue[] };
  abstract dateOf(value: unknown): Date | null;
  abstract isMissingTable(err: unknown): boolean;

  private pool(): PoolDriver {
    this.driver ??= this.openPool();
    return this.driver;
  }

  run(sql: string, params: readonly SqlValue[]): Promise<void> {
    return this.pool().runner.run(sql, params);
  }

  row<R extends object>(sql: string, params: readonly SqlValue[]): Promise<R | null> {
    return this.pool().runner.row<R>(sql, params);
  }

  upsert(upsert: Upsert): Promise<void> {
    const { sql, params } = this.upsertStatement(upsert);
    return this.run(sql, params);
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const connection = await this.pool().connect();
    try {
      await connection.begin();
      const out = await fn(connection.runner);
      await connection.commit();
      return out;
    } catch (err) {
      await connection.rollback().catch(() => undefined);
      throw err;
    } finally {
      connection.release();
    }
  }

  async close(): Promise<void> {
    const driver = this.driver;
    this.driver = null;
    await driver?.end();
  }
}
