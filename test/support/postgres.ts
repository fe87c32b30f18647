/**
 * The private test PostgreSQL (test/services/global-setup.js): its URL, and databases of a test's
 * own (never dropped by another test; names from `unique()`).
 */
import { Client } from "pg";

/** The test server's URL for database `db` (default: postgres). */
export function testPgUrl(db = "postgres"): string {
  const base = process.env.CELERIAC_TEST_PG_URL;
  if (!base) throw new Error("CELERIAC_TEST_PG_URL is not set: run through jest's integration or interop project (test/services/global-setup.js)");
  const u = new URL(base);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Creates database `name` (lower case letters, digits, _) on the test server; returns its URL. */
export async function createTestDatabase(name: string): Promise<string> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const client = new Client({ connectionString: testPgUrl() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return testPgUrl(name);
}
