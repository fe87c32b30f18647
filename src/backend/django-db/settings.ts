/**
 * The database of the django-db result backend, given as Django gives it: a URL
 * (`postgres://user:password@host:5432/db`, dj-database-url's form) or the fields of a
 * `DATABASES` entry (`ENGINE`, `NAME`, `USER`, `PASSWORD`, `HOST`, `PORT`).
 */

/** `djangoDatabase`: a database URL, or Django's `DATABASES["default"]` fields. */
export type DjangoDatabaseSettings =
  | { url: string }
  | {
      /** `django.db.backends.postgresql` (PostgreSQL is the one supported so far). */
      ENGINE?: string;
      NAME?: string;
      USER?: string;
      PASSWORD?: string;
      HOST?: string;
      PORT?: string | number;
    };

/** Where to connect: the `pg` client's fields and a URL for messages (its password masked by the caller). */
export interface DatabaseTarget {
  host: string;
  port: number;
  user?: string;
  password?: string;
  database?: string;
  /** The target as a URL (with its password: mask it before showing it). */
  url: string;
}

const POSTGRES_ENGINES = new Set(["django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2", "django.contrib.gis.db.backends.postgis"]);

/** Why an engine or URL scheme is not supported yet (SQLite and MySQL/MariaDB are issue 18's next steps). */
function unsupported(what: string): Error {
  return new Error(`the django-db result backend supports PostgreSQL only (got ${what}); SQLite and MySQL/MariaDB are not supported yet`);
}

/** The connection target of `settings`; an unsupported database is an error naming it. */
export function databaseTarget(settings: DjangoDatabaseSettings | null): DatabaseTarget {
  if (!settings) throw new Error("the django-db result backend needs djangoDatabase (a URL or Django's DATABASES fields: ENGINE, NAME, USER, PASSWORD, HOST, PORT)");
  if ("url" in settings) {
    let u: URL;
    try {
      u = new URL(settings.url);
    } catch {
      throw new Error("djangoDatabase.url is not a URL (postgres://user:password@host:5432/name)");
    }
    if (!/^(postgres|postgresql|pgsql|postgis):$/.test(u.protocol)) throw unsupported(`a ${u.protocol}// URL`);
    return {
      host: decodeURIComponent(u.hostname) || "localhost",
      port: u.port ? Number(u.port) : 5432,
      user: u.username ? decodeURIComponent(u.username) : undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      database: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined,
      url: settings.url,
    };
  }
  const engine = settings.ENGINE ?? "django.db.backends.postgresql";
  if (!POSTGRES_ENGINES.has(engine)) throw unsupported(`ENGINE ${engine}`);
  const host = settings.HOST || "localhost";
  const port = settings.PORT ? Number(settings.PORT) : 5432;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`djangoDatabase.PORT is not a port: ${String(settings.PORT)}`);
  const auth = settings.USER ? `${encodeURIComponent(settings.USER)}${settings.PASSWORD ? `:${encodeURIComponent(settings.PASSWORD)}` : ""}@` : "";
  return {
    host,
    port,
    user: settings.USER || undefined,
    password: settings.PASSWORD || undefined,
    database: settings.NAME || undefined,
    url: `postgresql://${auth}${host.includes(":") ? `[${host}]` : host}:${port}/${encodeURIComponent(settings.NAME ?? "")}`,
  };
}
