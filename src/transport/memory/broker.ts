/**
 * The in-memory broker behind `memory://` (kombu's memory transport: one state per process, shared
 * by every connection, as kombu's `Transport.global_state`): queues, exchange bindings with
 * kombu's virtual routing (direct, topic, fanout), and fanout subscribers.
 */
import type { RawMessage } from "../../protocol/message";
import type { QueueDeclaration } from "../types";
import { routeThroughBindings, topicKeyToPattern, topicMatch } from "../redis/keys";
import type { Binding } from "../redis/keys";

/** A message waiting in a queue, with where it was published. */
export interface QueuedMessage {
  message: RawMessage;
  exchange: string;
  routingKey: string;
  redelivered: boolean;
}

/** Told when a queue it reads gets a message. */
export interface QueueListener {
  poke(): void;
}

/** A fanout subscriber (an exclusive queue with its consumer, in AMQP terms). */
export interface Subscriber {
  exchange: string;
  /** The binding key: `#` and `*` as in AMQP topic bindings. */
  pattern: string;
  onMessage(message: RawMessage, routingKey: string): void;
}

type ExchangeType = "direct" | "topic" | "fanout";

/** What a broker would copy: a consumer never shares the publisher's header or property objects. */
function copyOf(message: RawMessage): RawMessage {
  return { ...message, headers: { ...message.headers }, properties: { ...message.properties } };
}

/** Every queue, exchange and subscriber of `memory://` in this process. */
export class MemoryBroker {
  private readonly queues = new Map<string, QueuedMessage[]>();
  private readonly listeners = new Map<string, Set<QueueListener>>();
  private readonly exchangeTypes = new Map<string, ExchangeType>();
  private readonly bindings = new Map<string, Binding[]>();
  private readonly subscribers = new Set<Subscriber>();

  /** kombu queue_declare + queue_bind (the exchange and routing key default to the queue's name). */
  declare(queue: QueueDeclaration): void {
    this.messagesOf(queue.name);
    const exchange = queue.exchange ?? queue.name;
    if (exchange === "") return; // the default exchange routes by queue name
    const routingKey = queue.routingKey ?? queue.name;
    const type = queue.exchangeType ?? "direct";
    this.exchangeTypes.set(exchange, type);
    const list = this.bindings.get(exchange) ?? [];
    if (!list.some((b) => b.queue === queue.name && b.routingKey === routingKey)) {
      list.push({ routingKey, pattern: type === "topic" ? topicKeyToPattern(routingKey) : "", queue: queue.name });
    }
    this.bindings.set(exchange, list);
  }

  /** True when `exchange` was declared fanout. */
  isFanout(exchange: string): boolean {
    return this.exchangeTypes.get(exchange) === "fanout";
  }

  /** kombu `_lookup`: "" routes to the queue named by the routing key; a named exchange through its bindings. */
  route(exchange: string, routingKey: string): string[] {
    if (!exchange) return routingKey ? [routingKey] : [];
    const type = this.exchangeTypes.get(exchange);
    return routeThroughBindings(this.bindings.get(exchange) ?? [], routingKey, type === "fanout" ? undefined : type);
  }

  /** Append (or, given back, put first) a message to a queue and wake its consumers. */
  put(queue: string, entry: QueuedMessage, first = false): void {
    const messages = this.messagesOf(queue);
    const copy = { ...entry, message: copyOf(entry.message) };
    if (first) messages.unshift(copy);
    else messages.push(copy);
    for (const l of this.listeners.get(queue) ?? []) l.poke();
  }

  /** The next message of a queue, or undefined. */
  take(queue: string): QueuedMessage | undefined {
    return this.queues.get(queue)?.shift();
  }

  /** True when the queue holds a message. */
  hasMessages(queue: string): boolean {
    return (this.queues.get(queue)?.length ?? 0) > 0;
  }

  /** kombu `_put_fanout`: every queue bound to the exchange, and every subscriber whose pattern matches. */
  fanout(exchange: string, routingKey: string, message: RawMessage): void {
    const bound = this.isFanout(exchange) ? (this.bindings.get(exchange) ?? []).map((b) => b.queue) : this.route(exchange, routingKey);
    for (const queue of new Set(bound)) this.put(queue, { message, exchange, routingKey, redelivered: false });
    for (const s of this.subscribers) {
      if (s.exchange === exchange && (s.pattern === "" || s.pattern === "#" || topicMatch(topicKeyToPattern(s.pattern), routingKey))) {
        const copy = copyOf(message);
        setImmediate(() => s.onMessage(copy, routingKey));
      }
    }
  }

  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => void this.subscribers.delete(subscriber);
  }

  /** Follow a queue's arrivals; returns the removal. */
  listen(queue: string, listener: QueueListener): () => void {
    let set = this.listeners.get(queue);
    if (!set) this.listeners.set(queue, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  /** Remove every message of the queues; how many were removed. */
  purge(queues: readonly string[]): number {
    let n = 0;
    for (const q of queues) {
      const messages = this.queues.get(q);
      if (!messages) continue;
      n += messages.length;
      messages.length = 0;
    }
    return n;
  }

  private messagesOf(queue: string): QueuedMessage[] {
    let messages = this.queues.get(queue);
    if (!messages) this.queues.set(queue, (messages = []));
    return messages;
  }
}

/** The process's one `memory://` broker (kombu: `Transport.global_state`). */
export const memoryBroker = new MemoryBroker();
