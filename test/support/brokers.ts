/**
 * The two brokers of the broker-parametrised suites: `describe.each(BROKERS)("... on $name", (broker) => ...)`,
 * with `const lease = await broker.open(tag, redisDb)` in beforeAll and `await lease.close()` in afterAll.
 * A case that only one broker has stays in the shared suite behind `broker.transport === ...`, with a comment.
 */
import { amqpUrl, createVhost, deleteVhost } from "./amqp";
import { testRedisUrl } from "./redis";

/** A broker URL of one suite's own, and how to give it back. */
export interface BrokerLease {
  url: string;
  /** RabbitMQ: the vhost of `url` (for rabbitmqctl -p); Redis: undefined. */
  vhost?: string;
  close(): Promise<void>;
}

export interface TestBroker {
  name: "Redis" | "RabbitMQ";
  /** What celeriac reports as its broker transport (inspect stats). */
  transport: "redis" | "amqp";
  /** Redis: database `redisDb` of the private test Redis (kept; names in it are unique). RabbitMQ: a fresh vhost named after `tag`, deleted by close(). */
  open(tag: string, redisDb: number): Promise<BrokerLease>;
}

export const BROKERS: TestBroker[] = [
  { name: "Redis", transport: "redis", open: async (_tag, db) => ({ url: testRedisUrl(db), close: async () => undefined }) },
  {
    name: "RabbitMQ",
    transport: "amqp",
    open: async (tag) => {
      const vhost = await createVhost(tag);
      return { url: amqpUrl(vhost), vhost, close: () => deleteVhost(vhost) };
    },
  },
];
