import Redis from "ioredis";

/** The private test Redis started by test/services/global-setup.js, as a URL for database `db`. */
export function testRedisUrl(db: number): string {
  const base = process.env.CELERIAC_TEST_REDIS_URL;
  if (!base) {
    throw new Error(
      "CELERIAC_TEST_REDIS_URL is not set: run the tests through jest's integration/interop projects, " +
        "whose globalSetup (test/services/global-setup.js) starts the private test Redis",
    );
  }
  return `${base.replace(/\/+$/, "")}/${db}`;
}

/** FLUSHDB on the database of `url`. Only for databases no other test file uses at the same time. */
export async function flushDb(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}
