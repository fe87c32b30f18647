/**
 * The database of the django-db result backend, given as Django gives it: a URL as
 * dj-database-url reads it (`postgres://user:password@host:5432/db`,
 * `mysql://user:password@host:3306/db`, `sqlite:///relative/path`, `sqlite:////absolute/path`) or
 * the fields of a `DATABASES` entry (`ENGINE`, `NAME`, `USER`, `PASSWORD`, `HOST`, `PORT`,
 * `OPTIONS`).
 */

/** `djangoDatabase`: a database URL, or Django's `DATABASES["default"]` fields. */
export type DjangoDatabaseSettings =
  | { url: string }
  | {
      /**
       * `django.db.backends.postgresql` (the default), `django.db.backends.sqlite3` or
       * `django.db.backends.mysql` (MySQL and MariaDB); their GIS variants too.
       */
      ENGINE?: string;
      /** The database name; for SQLite, the file's path. */
      NAME?: string;
      USER?: string;
      PASSWORD?: string;
      HOST?: string;
      PORT?: string | number;
      /** Django's OPTIONS; read: `timeout` (SQLite's busy timeout in seconds, Django's default 5). */
      OPTIONS?: { timeout?: number };
    };

/** A server database (PostgreSQL, MySQL/MariaDB): where to connect. */
export interface ServerTarget {
  kind: "postgresql" | "mysql";
  host: string;
  port: number;
  user?: string;
  password?: string;
  database?: string;
  /** The target as a URL (with its password: mask it before showing it). */
  url: string;
}

/** An SQLite database file. */
export interface SqliteTarget {
  kind: "sqlite";
  /** The file's path (relative paths from the working directory, as Django opens them). */
  path: string;
  /** How long a statement waits for another connection's lock (ms; Django's and Python's default: 5 s). */
  busyTimeoutMs: number;
  /** The target as a URL (`sqlite:///path`), for messages. */
  url: string;
}

/** Where the django-db backend's tables live. */
export type DatabaseTarget = ServerTarget | SqliteTarget;

type Kind = DatabaseTarget["kind"];

/** Django's ENGINE values, by database. */
const ENGINES: Record<string, Kind> = {
  "django.db.backends.postgresql": "postgresql",
  "django.db.backends.postgresql_psycopg2": "postgresql",
  "django.contrib.gis.db.backends.postgis": "postgresql",
  "django.db.backends.sqlite3": "sqlite",
  "django.contrib.gis.db.backends.spatialite": "sqlite",
  "django.db.backends.mysql": "mysql",
  "django.contrib.gis.db.backends.mysql": "mysql",
  "mysql.connector.django": "mysql",
};

/** dj-database-url's URL schemes, by database. */
const SCHEMES: Record<string, Kind> = {
  postgres: "postgresql",
  postgresql: "postgresql",
  pgsql: "postgresql",
  postgis: "postgresql",
  sqlite: "sqlite",
  spatialite: "sqlite",
  mysql: "mysql",
  mysql2: "mysql",
  mysqlgis: "mysql",
  "mysql-connector": "mysql",
  mariadb: "mysql",
};

const DEFAULT_PORTS: Record<ServerTarget["kind"], number> = { postgresql: 5432, mysql: 3306 };
const URL_SCHEMES: Record<ServerTarget["kind"], string> = { postgresql: "postgresql", mysql: "mysql" };
/** Django's (Python sqlite3's) busy timeout. */
const SQLITE_TIMEOUT_MS = 5000;

function unsupported(what: string): Error {
  return new Error(`the django-db result backend supports PostgreSQL, MySQL/MariaDB and SQLite (got ${what})`);
}

function sqliteTarget(path: string, timeoutSeconds: number | undefined): SqliteTarget {
  if (timeoutSeconds !== undefined && !(typeof timeoutSeconds === "number" && timeoutSeconds >= 0)) {
    throw new Error(`djangoDatabase.OPTIONS.timeout is not a number of seconds: ${String(timeoutSeconds)}`);
  }
  const busyTimeoutMs = timeoutSeconds === undefined ? SQLITE_TIMEOUT_MS : Math.round(timeoutSeconds * 1000);
  return { kind: "sqlite", path, busyTimeoutMs, url: `sqlite:///${path}` };
}

/** The target of a URL (dj-database-url's reading: the path after the host's slash is the name or the file). */
function targetOfUrl(url: string): DatabaseTarget {
  if (url === "sqlite://:memory:") return { ...sqliteTarget(":memory:", undefined), url };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error("djangoDatabase.url is not a URL (postgres://user:password@host:5432/name, mysql://..., sqlite:////absolute/path)");
  }
  const scheme = u.protocol.slice(0, -1).toLowerCase();
  const kind = SCHEMES[scheme];
  if (!kind) throw unsupported(`a ${u.protocol}// URL`);
  const name = decodeURIComponent(u.pathname.slice(1));
  if (kind === "sqlite") return { ...sqliteTarget(name || ":memory:", undefined), url };
  return {
    kind,
    host: decodeURIComponent(u.hostname).replace(/^\[|\]$/g, "") || "localhost",
    port: u.port ? Number(u.port) : DEFAULT_PORTS[kind],
    user: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: name || undefined,
    url,
  };
}

/** The connection target of `settings`; an unsupported database is an error naming it. */
export function databaseTarget(settings: DjangoDatabaseSettings | null): DatabaseTarget {
  if (!settings) throw new Error("the django-db result backend needs djangoDatabase (a URL or Django's DATABASES fields: ENGINE, NAME, USER, PASSWORD, HOST, PORT)");
  if ("url" in settings) return targetOfUrl(settings.url);
  const engine = settings.ENGINE || "django.db.backends.postgresql";
  const kind = ENGINES[engine];
  if (!kind) throw unsupported(`ENGINE ${engine}`);
  if (kind === "sqlite") {
    if (!settings.NAME) throw new Error("djangoDatabase.NAME must be the SQLite database file's path");
    return sqliteTarget(settings.NAME, settings.OPTIONS?.timeout);
  }
  const host = settings.HOST || "localhost";
  const port = settings.PORT ? Number(settings.PORT) : DEFAULT_PORTS[kind];
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`djangoDatabase.PORT is not a port: ${String(settings.PORT)}`);
  const auth = settings.USER ? `${encodeURIComponent(settings.USER)}${settings.PASSWORD ? `:${encodeURIComponent(settings.PASSWORD)}` : ""}@` : "";
  return {
    kind,
    host,
    port,
    user: settings.USER || undefined,
    password: settings.PASSWORD || undefined,
    database: settings.NAME || undefined,
    url: `${URL_SCHEMES[kind]}://${auth}${host.includes(":") ? `[${host}]` : host}:${port}/${encodeURIComponent(settings.NAME ?? "")}`,
  };
}
