/**
 * `memory://` (kombu's memory transport): a broker inside this process, so a worker and a client
 * run together with nothing else running (tests, examples, demos). Every `MemoryTransport` of the
 * process shares one broker (`broker.ts`). Queues are FIFO (no priorities, as kombu's); a message
 * rejected with requeue or given back is served next, marked redelivered; messages delivered and
 * never settled go back to their queue when the transport that received them closes (kombu's
 * memory channel drops them; a real broker requeues them, which is what celeriac's worker expects).
 * ETA and countdown tasks are held by the worker, as with every transport.
 */
import type { RawMessage } from "../../protocol/message";
import type { ConsumeOptions, Consumer, Delivery, PublishItem, PublishTarget, QueueDeclaration, Transport } from "../types";
import { memoryBroker } from "./broker";
import type { MemoryBroker, QueuedMessage } from "./broker";

/** True for the URLs of this transport: `memory://` (anything after it is ignored, as kombu does). */
export function isMemoryUrl(url: string): boolean {
  return /^memory:\/\//.test(url);
}

/** A consumer of the in-memory broker: hands messages to `onDelivery` while the window has room. */
class MemoryConsumer implements Consumer {
  private readonly queues: string[] = [];
  private readonly stopListening = new Map<string, () => void>();
  private next = 0;
  private scheduled = false;
  private active = true;

  constructor(
    private readonly transport: MemoryTransport,
    private readonly broker: MemoryBroker,
    private readonly options: ConsumeOptions,
  ) {
    for (const q of options.queues) this.addQueue(q);
  }

  poke(): void {
    if (this.scheduled || !this.active) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Deliver while there is room and a message, taking the queues in turn. */
  private pump(): void {
    for (;;) {
      if (!this.active) return;
      const room = this.options.noAck ? Infinity : this.options.capacity ? this.options.capacity() : this.options.hasCapacity() ? 1 : 0;
      if (room <= 0 || !this.options.hasCapacity()) return;
      let delivered = 0;
      while (delivered < room && this.active) {
        const queue = this.nextQueueWithMessages();
        if (queue === null) return;
        const entry = this.broker.take(queue);
        if (!entry) continue;
        delivered++;
        this.options.onDelivery(this.transport.deliver(queue, entry, this.options.noAck === true));
      }
    }
  }

  private nextQueueWithMessages(): string | null {
    for (let i = 0; i < this.queues.length; i++) {
      const q = this.queues[(this.next + i) % this.queues.length];
      if (this.broker.hasMessages(q)) {
        this.next = (this.next + i + 1) % this.queues.length;
        return q;
      }
    }
    return null;
  }

  async cancel(): Promise<void> {
    this.active = false;
    for (const stop of this.stopListening.values()) stop();
    this.stopListening.clear();
    this.transport.forget(this);
  }

  addQueue(queue: string): void {
    if (this.queues.includes(queue)) return;
    this.queues.push(queue);
    this.stopListening.set(queue, this.broker.listen(queue, this));
    this.poke();
  }

  removeQueue(queue: string): void {
    const i = this.queues.indexOf(queue);
    if (i >= 0) this.queues.splice(i, 1);
    this.stopListening.get(queue)?.();
    this.stopListening.delete(queue);
  }
}

/** A connection to the process's in-memory broker. */
export class MemoryTransport implements Transport {
  readonly name = "memory";
  private readonly consumers = new Set<MemoryConsumer>();
  private readonly unsubscribes = new Set<() => void>();
  /** Delivered, not yet settled: given back when this transport closes. */
  private readonly unacked = new Map<string, { queue: string; entry: QueuedMessage }>();
  private tags = 0;
  private closed = false;

  constructor(private readonly broker: MemoryBroker = memoryBroker) {}

  async connect(): Promise<void> {
    this.closed = false;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of [...this.consumers]) await c.cancel();
    for (const u of this.unsubscribes) u();
    this.unsubscribes.clear();
    const back = [...this.unacked.values()].reverse();
    this.unacked.clear();
    for (const { queue, entry } of back) this.broker.put(queue, { ...entry, redelivered: true }, true);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("memory:// transport is closed");
  }

  async declareQueue(queue: QueueDeclaration): Promise<void> {
    this.assertOpen();
    this.broker.declare(queue);
  }

  async publish(message: RawMessage, target: PublishTarget): Promise<void> {
    this.assertOpen();
    const { exchange, routingKey } = target;
    if (exchange && this.broker.isFanout(exchange)) return this.broadcast(exchange, routingKey, message);
    const queues = this.broker.route(exchange, routingKey);
    if (queues.length === 0) throw new Error(`Message could not be delivered: no queue bound to exchange '${exchange}' with routing key '${routingKey}'`);
    for (const q of queues) this.broker.put(q, { message, exchange, routingKey, redelivered: false });
  }

  async publishMany(messages: readonly PublishItem[]): Promise<void> {
    for (const { message, target } of messages) await this.publish(message, target);
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    const consumer = new MemoryConsumer(this, this.broker, options);
    this.consumers.add(consumer);
    return consumer;
  }

  /** A message taken from `queue`, as a Delivery settled through this transport. */
  deliver(queue: string, entry: QueuedMessage, noAck: boolean): Delivery {
    const tag = String(++this.tags);
    if (!noAck) this.unacked.set(tag, { queue, entry });
    const settle = (requeue: boolean): Promise<void> => {
      if (noAck || !this.unacked.delete(tag)) return Promise.resolve();
      if (requeue) this.broker.put(queue, { ...entry, redelivered: true }, true);
      return Promise.resolve();
    };
    return {
      message: entry.message,
      queue,
      exchange: entry.exchange,
      routingKey: entry.routingKey,
      redelivered: entry.redelivered,
      deliveryTag: tag,
      ack: () => settle(false),
      reject: (requeue) => settle(requeue),
      release: () => settle(true),
    };
  }

  /** A cancelled consumer leaves this transport. */
  forget(consumer: MemoryConsumer): void {
    this.consumers.delete(consumer);
  }

  async broadcast(exchange: string, routingKey: string, message: RawMessage): Promise<void> {
    this.assertOpen();
    this.broker.fanout(exchange, routingKey, message);
  }

  async subscribe(exchange: string, pattern: string, onMessage: (message: RawMessage, routingKey: string) => void): Promise<() => Promise<void>> {
    this.assertOpen();
    const remove = this.broker.subscribe({ exchange, pattern, onMessage });
    this.unsubscribes.add(remove);
    return async () => {
      remove();
      this.unsubscribes.delete(remove);
    };
  }

  async purge(queues: string[]): Promise<number> {
    this.assertOpen();
    return this.broker.purge(queues);
  }
}
