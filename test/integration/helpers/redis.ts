/**
 * Helpers of the Redis transport/backend integration tests (redis-*.test.ts): the private test
 * redis (CELERIAC_TEST_REDIS_URL, dbs 2–5 are ours), raw clients, golden vectors, waiting.
 */
import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import type { RawMessage } from "../../../src/protocol/message";
import { loadVector as loadSharedVector } from "../../vectors";
import type { Consumer, ConsumeOptions, Delivery, Transport } from "../../../src/transport/types";

export const SEP = "\x06\x16";

/** Base URL of the test redis-server started by test/services/global-setup.js. */
export function redisBase(): string {
  return (process.env.CELERIAC_TEST_REDIS_URL ?? "redis://127.0.0.1:16379").replace(/\/+$/, "");
}

/** URL of one database of the test redis. */
export function redisUrl(db: number): string {
  return `${redisBase()}/${db}`;
}

/** A raw client on a db (disconnect it after use). */
export function rawClient(db: number): Redis {
  return new Redis(redisUrl(db));
}

/** FLUSHDB one of our databases (2–5 only). */
export async function flushDb(db: number): Promise<void> {
  if (db < 2 || db > 5) throw new Error(`redis tests own dbs 2–5 only (got ${db})`);
  const c = rawClient(db);
  try {
    await c.flushdb();
  } finally {
    c.disconnect();
  }
}

/** A unique name for one test (queue, exchange, task id prefix). */
export function unique(prefix = "q"): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A golden vector from test/fixtures/vectors, through the project's one loader (test/vectors.ts). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadVector(name: string): any {
  return loadSharedVector(name);
}

/** Wait until `check` is true, or throw after `ms`. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 10000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
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

/** Python with celery 5.2.6 / kombu 5.2.4 / redis-py. */
export const PYTHON = process.env.CELERIAC_TEST_PYTHON ?? "/usr/bin/python3";
