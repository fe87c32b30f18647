/**
 * compressjs (bzip2), @napi-rs/lzma (lzma/xz), fzstd (reading zstd where Node's zlib has none) and
 * astronomy-engine (solar schedules) are optional peer dependencies, not installed with celeriac,
 * as are the django-db backend's database drivers (pg, better-sqlite3, mysql2).
 * Without one, using its feature fails with an error naming the package to install; everything
 * else works. Absence is simulated in a child `node` process on the built dist/: a require hook
 * resolves the hidden packages from an empty folder, so Node throws its own MODULE_NOT_FOUND.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";

const ROOT = resolve(__dirname, "../..");
const DIST = resolve(ROOT, "dist");
const run = promisify(execFile);

const OPTIONAL = ["compressjs", "@napi-rs/lzma", "fzstd", "astronomy-engine"];

// The body `[[2, 2], {}, {}]` as Python's bz2.compress, lzma.compress and kombu's zstd write it.
const BZ2 = "QlpoOTFBWSZTWUBUPAcAAASagEAEEAAACgAKIAAxDADTR6I80sj4BVeLuSKcKEggKh4DgA==";
const XZ = "/Td6WFoAAATm1rRGAgAhARYAAAB0L+WjAQAPW1syLCAyXSwge30sIHt9XQBQpyvG+Ki66AABKBDlC2xgH7bzfQEAAAAABFla";
const ZSTD = "KLUv/SAQgQAAW1syLCAyXSwge30sIHt9XQ==";

/**
 * Runs each of `uses` (name → expression, awaited, with `celeriac` the full entry, `compression`
 * its codecs and `djangoDb` the django-db backend in scope) in one child where `hidden` packages
 * (and zlib's zstd) are not installed.
 * Gives each use's outcome: `ok: <value>` or `<error name>: <message>`.
 */
async function outcomesWithout(hidden: string[], uses: Record<string, string>): Promise<Record<string, string>> {
  if (!existsSync(resolve(DIST, "index.js"))) throw new Error("dist/index.js is missing: run npm run build first");
  const script = `
const Module = require("module");
const hidden = new Set(${JSON.stringify(hidden)});
const resolveFilename = Module._resolveFilename;
const nowhere = { id: "/nowhere/x.js", filename: "/nowhere/x.js", paths: ["/nowhere/node_modules"] };
Module._resolveFilename = function (request, parent, ...rest) {
  return resolveFilename.call(this, request, hidden.has(request) ? nowhere : parent, ...rest);
};
const zlib = require("zlib");
delete zlib.zstdDecompressSync;
delete zlib.zstdCompressSync;
const celeriac = require(${JSON.stringify(DIST)});
const compression = require(${JSON.stringify(resolve(DIST, "protocol/compression"))});
const djangoDb = require(${JSON.stringify(resolve(DIST, "backend/django-db"))});
(async () => {
  const out = {};
  for (const [name, use] of Object.entries(${JSON.stringify(uses)})) {
    try {
      out[name] = "ok: " + String(await eval(use));
    } catch (err) {
      out[name] = err.name + ": " + err.message;
    }
  }
  process.stdout.write(JSON.stringify(out));
})();`;
  const { stdout } = await run(process.execPath, ["-e", script], { cwd: ROOT });
  return JSON.parse(stdout) as Record<string, string>;
}

test("each optional package, missing, fails its feature with an error naming the package to install", async () => {
  const out = await outcomesWithout(OPTIONAL, {
    bzip2Send: `compression.compress(Buffer.from("[]"), "bzip2").body.length`,
    bzip2Read: `compression.decompress(Buffer.from("${BZ2}", "base64"), "application/x-bz2").toString()`,
    lzmaSend: `compression.compress(Buffer.from("[]"), "lzma").body.length`,
    lzmaRead: `compression.decompress(Buffer.from("${XZ}", "base64"), "application/x-lzma").toString()`,
    zstdRead: `compression.decompress(Buffer.from("${ZSTD}", "base64"), "application/zstd").toString()`,
    solar: `celeriac.solar("sunrise", 48.85, 2.35).event`,
  });
  const hint = (pkg: string, feature: string) => `install ${pkg} to use ${feature} (npm install ${pkg}): it is an optional dependency of celeriac`;
  expect(out).toEqual({
    bzip2Send: `MissingOptionalPackageError: ${hint("compressjs", "bzip2 compression")}`,
    // what a worker logs when it rejects such a message (CompressionError is a decode error)
    bzip2Read: `CompressionError: Cannot decompress application/x-bz2 body: ${hint("compressjs", "bzip2 compression")}`,
    lzmaSend: `MissingOptionalPackageError: ${hint("@napi-rs/lzma", "lzma (xz) compression")}`,
    lzmaRead: `CompressionError: Cannot decompress application/x-lzma body: ${hint("@napi-rs/lzma", "lzma (xz) compression")}`,
    zstdRead: `CompressionError: Cannot decompress application/zstd body: ${hint("fzstd", `zstd compression on Node ${process.versions.node} (Node >= 22.15 reads it without fzstd)`)}`,
    // as Celery's solar() without ephem: where the schedule is made
    solar: `MissingOptionalPackageError: ${hint("astronomy-engine", "solar schedules")}`,
  });
});

test("each database driver of django-db, missing, fails connect with the package to install, not as a connection failure", async () => {
  const backend = (database: string): string => `new djangoDb.DjangoDbBackend(${database}, { serializer: "json", accept: ["json"] }).connect()`;
  const out = await outcomesWithout(["pg", "better-sqlite3", "mysql2/promise"], {
    postgresql: backend(`{ url: "postgres://u:secret@127.0.0.1:1/db" }`),
    sqlite: backend(`{ ENGINE: "django.db.backends.sqlite3", NAME: "/nowhere/db.sqlite3" }`),
    mysql: backend(`{ url: "mysql://u:secret@127.0.0.1:1/db" }`),
  });
  expect(out).toEqual({
    postgresql: "MissingDriverError: the django-db result backend on PostgreSQL needs the pg package: npm install pg",
    sqlite: "MissingDriverError: the django-db result backend on SQLite needs the better-sqlite3 package: npm install better-sqlite3",
    mysql: "MissingDriverError: the django-db result backend on MySQL/MariaDB needs the mysql2 package: npm install mysql2",
  });
});

test("without the optional packages, the rest works: the entry loads, gzip and brotli compress, crontab schedules", async () => {
  const out = await outcomesWithout(OPTIONAL, {
    gzip: `compression.decompress(compression.compress(Buffer.from("[1]"), "gzip").body, "application/x-gzip").toString()`,
    brotli: `compression.decompress(compression.compress(Buffer.from("[1]"), "brotli").body, "application/x-brotli").toString()`,
    crontab: `celeriac.crontab({ minute: "*/5" }).constructor.name`,
    app: `new celeriac.Celery("opt", { broker: "memory://" }).main`,
  });
  expect(out).toEqual({ gzip: "ok: [1]", brotli: "ok: [1]", crontab: "ok: Crontab", app: "ok: opt" });
});

test("installed, the same uses work (the hook hides nothing)", async () => {
  const out = await outcomesWithout([], {
    bzip2Read: `compression.decompress(Buffer.from("${BZ2}", "base64"), "application/x-bz2").toString()`,
    lzmaRead: `compression.decompress(Buffer.from("${XZ}", "base64"), "application/x-lzma").toString()`,
    zstdRead: `compression.decompress(Buffer.from("${ZSTD}", "base64"), "application/zstd").toString()`,
    solar: `celeriac.solar("sunrise", 48.85, 2.35).event`,
  });
  expect(out).toEqual({ bzip2Read: "ok: [[2, 2], {}, {}]", lzmaRead: "ok: [[2, 2], {}, {}]", zstdRead: "ok: [[2, 2], {}, {}]", solar: "ok: sunrise" });
});
