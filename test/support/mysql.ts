/**
 * The private test MariaDB (test/services/global-setup.js, scripts/private-mariadb.sh): databases
 * of a test's own (never dropped by another test; names from `unique()`).
 */
import { createConnection } from "mysql2/promise";

/** The test server's URL for database `db` (default: none). */
export function testMysqlUrl(db = ""): string {
  const base = process.env.CELERIAC_TEST_MYSQL_URL;
  if (!base) throw new Error("CELERIAC_TEST_MYSQL_URL is not set: run through jest's integration or interop project (test/services/global-setup.js)");
  const u = new URL(base);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Creates database `name` (lower case letters, digits, _; utf8mb4) on the test server; returns its URL. */
export async function createTestMysqlDatabase(name: string): Promise<string> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const connection = await createConnection(testMysqlUrl());
  try {
    await connection.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await connection.end();
  }
  return testMysqlUrl(name);
}
