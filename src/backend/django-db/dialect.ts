/**
 * What the django-db backend needs of a database (postgres.ts, sqlite.ts, mysql.ts), so that
 * index.ts holds the backend's logic once: statements with `?` placeholders, a first row, the
 * upsert that never overwrites SUCCESS, a short transaction (the ChordCounter decrement), dates as
 * Django's backend for that database stores a DateTimeField (USE_TZ: UTC), "missing table"
 * detection, close; and how a dialect loads its driver, an optional package. No I/O here.
 */

/** A value bound to a `?` placeholder; a Date is stored as that database's Django backend stores it. */
export type SqlValue = string | number | boolean | null | Date;

/** Statements on one connection (or inside one transaction). */
export interface SqlRunner {
  /** Runs a statement (`?` placeholders), ignoring any rows. */
  run(sql: string, params: readonly SqlValue[]): Promise<void>;
  /** The first row a query returns, or null. */
  row<R extends object>(sql: string, params: readonly SqlValue[]): Promise<R | null>;
}

/** An INSERT, or the UPDATE of the row that has the same `key` (Django's get_or_create, then save). */
export interface Upsert {
  table: string;
  /** The unique column (task_id, group_id). */
  key: string;
  /** Every inserted column and its value, the key included. */
  values: Readonly<Record<string, SqlValue>>;
  /** The columns an existing row takes from `values`. */
  update: readonly string[];
  /** Columns of `update` whose null value keeps the stored one (date_started of a non-STARTED state). */
  keepIfNull?: readonly string[];
  /** An existing row whose status is SUCCESS is left as it is (a stored SUCCESS is never overwritten). */
  unlessSuccess?: boolean;
}

/** One database of the django-db backend. */
export interface SqlDialect extends SqlRunner {
  /** Appended to the ChordCounter's SELECT inside `transaction` (` FOR UPDATE`; SQLite locks the file instead). */
  readonly lockForUpdate: string;
  /** Inserts or updates one row, in one statement. */
  upsert(upsert: Upsert): Promise<void>;
  /** Runs `fn` in one transaction that holds its rows' write locks from its first statement; commits, or rolls back on an error. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** A stored date column's value as a Date (null for NULL). */
  dateOf(value: unknown): Date | null;
  /** True when `err` says a table does not exist (Django's migrations have not run). */
  isMissingTable(err: unknown): boolean;
  /** Closes the connections. */
  close(): Promise<void>;
}

/**
 * `INSERT ... ON CONFLICT (key) DO UPDATE ... [WHERE status <> 'SUCCESS']` (PostgreSQL and SQLite
 * 3.24+ read it alike), with its parameters in `?` order.
 */
export function onConflictUpsert(u: Upsert): { sql: string; params: SqlValue[] } {
  const columns = Object.keys(u.values);
  const keep = new Set(u.keepIfNull ?? []);
  const set = u.update.map((c) => (keep.has(c) ? `${c} = COALESCE(EXCLUDED.${c}, t.${c})` : `${c} = EXCLUDED.${c}`));
  const sql =
    `INSERT INTO ${u.table} AS t (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")}) ` +
    `ON CONFLICT (${u.key}) DO UPDATE SET ${set.join(", ")}${u.unlessSuccess ? " WHERE t.status <> 'SUCCESS'" : ""}`;
  return { sql, params: columns.map((c) => u.values[c] ?? null) };
}

/** The code of a driver's error (`42P01`, `SQLITE_ERROR`, `ER_NO_SUCH_TABLE`), if any. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A database's driver package is not installed (not a connection failure: retrying cannot help). */
export class MissingDriverError extends Error {
  constructor(database: string, packageName: string, cause: unknown) {
    super(`the django-db result backend on ${database} needs the ${packageName} package: npm install ${packageName}`, { cause });
    this.name = "MissingDriverError";
  }
}

/** Requires `entry` of `packageName`, the driver of `database` (an optional peer dependency), on first use. */
export function loadDriver<T>(packageName: string, database: string, entry = packageName): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer dependency, loaded when django-db is used on this database
    return require(entry) as T;
  } catch (err) {
    throw new MissingDriverError(database, packageName, err);
  }
}
