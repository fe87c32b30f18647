/**
 * What Celery declares on RabbitMQ (docs/protocol.md §6.1, §10.1, §11.1), and declaring it with a passive
 * fallback: when an entity already exists with other properties/arguments RabbitMQ answers
 * PRECONDITION_FAILED (406) and closes the channel; we then open a new channel, check that the
 * entity exists (passive declare) and use it as it is, with a warning, instead of failing.
 *
 * Integer queue arguments are sent as signed 32-bit (`I`, rabbitmqctl "signedint"), as py-amqp does.
 */
import type { Channel } from "amqplib";
import { EVENT_EXCHANGE } from "../../protocol/exchanges";
import type { QueueDeclaration } from "../types";
import { typedInteger } from "./header-types";
import type { ResolvedAmqpTransportOptions } from "./options";

export type ExchangeType = "direct" | "topic" | "fanout" | "headers";

export interface ExchangeSpec {
  name: string;
  type: ExchangeType;
  durable: boolean;
  autoDelete: boolean;
}

export interface QueueSpec {
  name: string;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  /** Plain values; integers are tagged signed 32-bit when declared. */
  arguments: { [key: string]: number | string | boolean };
}

export interface BindingSpec {
  queue: string;
  exchange: string;
  routingKey: string;
}

/** A task queue with its exchange and binding (kombu Queue(name, Exchange(name, "direct"), name)). */
export interface QueueTopology {
  exchange: ExchangeSpec | null;
  queue: QueueSpec;
  binding: BindingSpec | null;
}

/** The topology of a task queue as Celery declares it. */
export function taskQueueTopology(decl: QueueDeclaration, options: Pick<ResolvedAmqpTransportOptions, "queueMaxPriority" | "defaultQueueType">): QueueTopology {
  const exchangeName = decl.exchange ?? decl.name;
  const routingKey = decl.routingKey ?? decl.name;
  const durable = decl.durable ?? true;
  const autoDelete = decl.autoDelete ?? false;
  const exclusive = decl.exclusive ?? false;
  // task_queue_max_priority / task_default_queue_type apply to (durable, shared) task queues,
  // not to reply/event-like queues (auto-delete, exclusive or transient).
  const taskQueue = durable && !autoDelete && !exclusive;
  const args: QueueSpec["arguments"] = {};
  const maxPriority = decl.maxPriority ?? (taskQueue ? options.queueMaxPriority : null);
  if (maxPriority !== null && maxPriority !== undefined) args["x-max-priority"] = maxPriority;
  if (decl.messageTtl !== undefined) args["x-message-ttl"] = decl.messageTtl;
  if (decl.expires !== undefined) args["x-expires"] = decl.expires;
  if (taskQueue && options.defaultQueueType === "quorum") {
    // RabbitMQ refuses x-max-priority on a quorum queue (a channel error mid-declare): say why first
    if (args["x-max-priority"] !== undefined) {
      throw new Error(`quorum queues do not support priorities: queue '${decl.name}' has x-max-priority ${args["x-max-priority"]} (task_queue_max_priority) and task_default_queue_type "quorum"`);
    }
    args["x-queue-type"] = "quorum";
  }
  const queue: QueueSpec = { name: decl.name, durable, exclusive, autoDelete, arguments: args };
  if (exchangeName === "") return { exchange: null, queue, binding: null };
  return {
    exchange: { name: exchangeName, type: decl.exchangeType ?? "direct", durable: decl.exchangeDurable ?? true, autoDelete: decl.exchangeAutoDelete ?? false },
    queue,
    binding: { queue: decl.name, exchange: exchangeName, routingKey },
  };
}

/**
 * Broadcast exchanges by name: `celeryev` topic durable (events), `reply.<x>.pidbox` direct
 * non-durable, `<x>.pidbox` fanout non-durable (remote control); anything else topic non-durable
 * (a topic exchange serves both exact routing keys and `#` patterns).
 */
export function broadcastExchangeSpec(name: string): ExchangeSpec {
  if (name === EVENT_EXCHANGE) return { name, type: "topic", durable: true, autoDelete: false };
  if (/^reply\..*\.pidbox$/.test(name)) return { name, type: "direct", durable: false, autoDelete: false };
  if (name.endsWith(".pidbox")) return { name, type: "fanout", durable: false, autoDelete: false };
  return { name, type: "topic", durable: false, autoDelete: false };
}

/**
 * The private queue of one subscription: not durable, auto-delete, with Celery's TTLs —
 * event receivers `celeryev.<id>` (x-message-ttl 5000, x-expires 60000), pidbox queues
 * `<id>.<exchange>` (x-message-ttl 300000, x-expires 10000); others x-expires 60000.
 */
export function subscriptionQueueSpec(exchange: string, id: string): QueueSpec {
  if (exchange === EVENT_EXCHANGE) {
    return { name: `${EVENT_EXCHANGE}.${id}`, durable: false, exclusive: false, autoDelete: true, arguments: { "x-message-ttl": 5000, "x-expires": 60000 } };
  }
  if (exchange.endsWith(".pidbox")) {
    return { name: `${id}.${exchange}`, durable: false, exclusive: false, autoDelete: true, arguments: { "x-message-ttl": 300000, "x-expires": 10000 } };
  }
  return { name: `${exchange}.${id}`, durable: false, exclusive: false, autoDelete: true, arguments: { "x-expires": 60000 } };
}

/** Queue arguments as amqplib takes them: integers tagged signed 32-bit. */
export function queueArgumentsTable(args: QueueSpec["arguments"]): { [key: string]: unknown } {
  const out: { [key: string]: unknown } = {};
  for (const [k, v] of Object.entries(args)) out[k] = typeof v === "number" && Number.isInteger(v) ? typedInteger(v) : v;
  return out;
}

/** Opens a fresh channel on the current connection. */
export type ChannelOpener = () => Promise<Channel>;

/** The AMQP reply code of an amqplib error (406 PRECONDITION_FAILED, 404 NOT_FOUND, ...). */
export function replyCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "number" ? code : undefined;
}

/** Run `fn` on a channel of its own, closed afterwards (a failed operation closes it anyway). */
export async function withChannel<T>(open: ChannelOpener, fn: (ch: Channel) => Promise<T>): Promise<T> {
  const ch = await open();
  ch.on("error", () => {
    /* a server-side channel close: the operation's promise rejects with the reason */
  });
  try {
    return await fn(ch);
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** exchange.declare, or a passive check + warning when it exists with other properties. */
export async function declareExchange(open: ChannelOpener, spec: ExchangeSpec, warn: (m: string) => void): Promise<void> {
  if (spec.name === "") return; // the default exchange always exists
  try {
    await withChannel(open, (ch) => ch.assertExchange(spec.name, spec.type, { durable: spec.durable, autoDelete: spec.autoDelete }).then(() => undefined));
  } catch (err) {
    if (replyCode(err) !== 406) throw err;
    await withChannel(open, (ch) => ch.checkExchange(spec.name).then(() => undefined));
    warn(`exchange '${spec.name}' already exists with other properties than ${describeExchange(spec)}; using it as it is (${(err as Error).message})`);
  }
}

/** queue.declare, or a passive check + warning when it exists with other arguments. */
export async function declareQueue(open: ChannelOpener, spec: QueueSpec, warn: (m: string) => void): Promise<void> {
  try {
    await withChannel(open, (ch) =>
      ch
        .assertQueue(spec.name, {
          durable: spec.durable,
          exclusive: spec.exclusive,
          autoDelete: spec.autoDelete,
          arguments: queueArgumentsTable(spec.arguments),
        })
        .then(() => undefined),
    );
  } catch (err) {
    if (replyCode(err) !== 406) throw err;
    await withChannel(open, (ch) => ch.checkQueue(spec.name).then(() => undefined));
    warn(`queue '${spec.name}' already exists with other arguments/properties than ${describeQueue(spec)}; using it as it is (${(err as Error).message})`);
  }
}

export async function bindQueue(open: ChannelOpener, b: BindingSpec): Promise<void> {
  await withChannel(open, (ch) => ch.bindQueue(b.queue, b.exchange, b.routingKey).then(() => undefined));
}

/** Declare a task queue's exchange, queue and binding, in Celery's order. */
export async function declareTopology(open: ChannelOpener, t: QueueTopology, warn: (m: string) => void): Promise<void> {
  if (t.exchange) await declareExchange(open, t.exchange, warn);
  await declareQueue(open, t.queue, warn);
  if (t.binding) await bindQueue(open, t.binding);
}

function describeExchange(s: ExchangeSpec): string {
  return `(${s.type}, durable=${s.durable}, auto_delete=${s.autoDelete})`;
}

function describeQueue(s: QueueSpec): string {
  return `(durable=${s.durable}, auto_delete=${s.autoDelete}, arguments=${JSON.stringify(s.arguments)})`;
}
