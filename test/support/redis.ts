/**
 * The private test Redis started by test/services/global-setup.js (CELERIAC_TEST_REDIS_URL), raw
 * clients, and the raw messages and recording consumer of the transport tests.
 */
import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import type { RawMessage } from "../../src/protocol/message";
import type { Consumer, ConsumeOptions, Delivery, Transport } from "../../src/transport/types";

export const SEP = "\x06\x16";

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

/** A raw ioredis client on a db (disconnect it after use). */
export function rawRedis(db: number): Redis {
  return new Redis(testRedisUrl(db));
}

/** A small task-like RawMessage (body bytes are opaque to the transport). */
export function rawMessage(id: string = randomUUID(), extraHeaders: { [k: string]: unknown } = {}, priority?: number): RawMessage {
  return {
    body: Buffer.from(`[[${JSON.stringify(id)}], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]`),
    contentType: "application/json",
    contentEncoding: "utf-8",
    headers: { lang: "py", task: "tasks.add", id, ...(extraHeaders as RawMessage["headers"]) },
    properties: { correlation_id: id, reply_to: "reply-oid", delivery_mode: 2, ...(priority === undefined ? {} : { priority }) },
  };
}

/** A consumer that records deliveries, with a fixed prefetch window. */
export interface Recorder {
  consumer: Consumer;
  deliveries: Delivery[];
  errors: { error: Error; raw: string | Buffer | null }[];
  /** Unsettled deliveries right now, and the most seen at once. */
  unsettled(): number;
  maxUnsettled(): number;
  settle(d: Delivery, how?: "ack" | "requeue" | "drop"): Promise<void>;
}

export async function record(
  transport: Transport,
  queues: string[],
  opts: { prefetch?: number; autoAck?: boolean; batch?: boolean } = {},
): Promise<Recorder> {
  const prefetch = opts.prefetch ?? 1000;
  const deliveries: Delivery[] = [];
  const errors: { error: Error; raw: string | Buffer | null }[] = [];
  let unsettled = 0;
  let max = 0;
  // eslint-disable-next-line prefer-const
  let consumer: Consumer;
  const settle = async (d: Delivery, how: "ack" | "requeue" | "drop" = "ack"): Promise<void> => {
    unsettled--;
    if (how === "ack") await d.ack();
    else await d.reject(how === "requeue");
    consumer?.poke();
  };
  const options: ConsumeOptions = {
    queues,
    hasCapacity: () => unsettled < prefetch,
    onDelivery: (d) => {
      unsettled++;
      max = Math.max(max, unsettled);
      deliveries.push(d);
      if (opts.autoAck) void settle(d);
    },
    onTransportError: (error, raw) => errors.push({ error, raw }),
  };
  if (opts.batch !== false) options.capacity = () => prefetch - unsettled;
  consumer = await transport.consume(options);
  return { consumer, deliveries, errors, unsettled: () => unsettled, maxUnsettled: () => max, settle };
}

/** Task ids of the messages Redis db `db` holds as unacked (kombu's `unacked` hash). */
export async function unackedTaskIds(db: number): Promise<string[]> {
  const redis = rawRedis(db);
  try {
    return Object.values(await redis.hgetall("unacked")).map((v) => (JSON.parse(v) as [{ headers: { id: string } }])[0].headers.id);
  } finally {
    redis.disconnect();
  }
}

/**
 * Lua: 1 when the envelope text ARGV[1] is in the list KEYS[1], its tag ARGV[2] in `unacked`
 * (KEYS[2]), or the text in a held list registered in KEYS[3] (the transport's `celeriac.held`).
 */
const WHERE_IS_IT = `
for _, m in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do if m == ARGV[1] then return 1 end end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 1 end
for _, l in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  for _, m in ipairs(redis.call('LRANGE', l, 0, -1)) do if m == ARGV[1] then return 1 end end
end
return 0
`;

/** True when a message is in its list, in `unacked`, or in a consumer's held list (one atomic look). */
export async function isKeptSomewhere(redis: Redis, list: string, text: string, tag: string): Promise<boolean> {
  return Number(await redis.eval(WHERE_IS_IT, 3, list, "unacked", "celeriac.held", text, tag)) === 1;
}
