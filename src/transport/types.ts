import type { RawMessage } from "../protocol/message";
import type { ConnectionStateListener } from "../connectivity/state";

/** Where a message goes: an exchange and a routing key (Celery: "" + queue name for direct). */
export interface PublishTarget {
  exchange: string;
  routingKey: string;
  /** Message priority 0..255 (Redis maps it onto kombu's priority buckets). */
  priority?: number;
}

/** One message of `Transport.publishMany`. */
export interface PublishItem {
  message: RawMessage;
  target: PublishTarget;
}

/** One message handed to a consumer. Settle it exactly once. */
export interface Delivery {
  message: RawMessage;
  /** Logical queue it came from (priority suffix stripped). */
  queue: string;
  exchange: string;
  routingKey: string;
  redelivered: boolean;
  /** Transport delivery tag (Redis: properties.delivery_tag; AMQP: channel integer as string). */
  deliveryTag: string;
  ack(): Promise<void>;
  /** requeue=false drops the message (Celery: reject without requeue == ack on Redis). */
  reject(requeue: boolean): Promise<void>;
  /**
   * Optional: give back a message that was never processed (warm shutdown, held ETA tasks), so it
   * is served next. Redis: RPUSH to the front of its queue with redelivered flags (kombu
   * restore_unacked); without it, use reject(true).
   */
  release?(): Promise<void>;
}

/** Options of a consumer. */
export interface ConsumeOptions {
  /** Queue names to consume from, fairly. */
  queues: string[];
  /**
   * Called before each fetch; the consumer only fetches while it returns true (prefetch window).
   * The transport calls `poke()` of the returned Consumer handle when capacity may have freed.
   */
  hasCapacity(): boolean;
  /**
   * Optional: how many more deliveries may be handed over right now (the prefetch window left).
   * When given, a transport may fetch that many messages in one broker round trip (Redis: one
   * Lua call); without it the Redis transport fetches one message per round trip.
   */
  capacity?(): number;
  /**
   * Optional: the broker-side prefetch window to request (AMQP basic.qos prefetch_count). Without
   * it the AMQP transport uses the first `capacity()` value, else its `prefetchCount` option.
   * Redis ignores it.
   */
  prefetch?: number;
  onDelivery(delivery: Delivery): void;
  /**
   * Optional: consume without acknowledgements (AMQP `basic.consume(no_ack=true)`, as kombu's
   * reply/event consumers). A transport that honours it makes `ack()`/`reject()` of these
   * deliveries resolve at once without touching the broker; one that cannot (Redis) ignores it,
   * so callers passing `noAck` still call `ack()` on every delivery.
   */
  noAck?: boolean;
  /** A message the transport itself could not read (bad envelope): logged by the caller. */
  onTransportError?(error: Error, raw: string | Buffer | null): void;
}

/** A running consumer. */
export interface Consumer {
  /** Wake the fetch loop after capacity freed. */
  poke(): void;
  /** Stop fetching. Messages already delivered stay unsettled until acked/rejected. */
  cancel(): Promise<void>;
  /** Add / remove queues at run time. */
  addQueue(queue: string): void;
  removeQueue(queue: string): void;
  /**
   * Optional (AMQP): send basic.qos again with a new prefetch_count. Celery raises the window by
   * one for every ETA/countdown task it holds unacked and lowers it when the task runs, so held
   * messages do not block the window. Redis has no broker-side window (not implemented).
   */
  setPrefetch?(count: number): void;
}

/** Declaration of a task queue as Celery's kombu.Queue (direct exchange of the same name by default). */
export interface QueueDeclaration {
  name: string;
  exchange?: string;
  exchangeType?: "direct" | "topic" | "fanout";
  routingKey?: string;
  maxPriority?: number;
  // The members below are kombu.Queue options for AMQP; the Redis transport ignores them.
  // `exchange: ""` is the default exchange: declare the queue only, never bind it.
  /** Survives a broker restart (default true, as kombu.Queue). */
  durable?: boolean;
  /** Deleted by the broker once its last consumer is gone (default false). */
  autoDelete?: boolean;
  /** Only this connection may use it; deleted when the connection closes (default false). */
  exclusive?: boolean;
  /** `x-expires`: milliseconds without use after which the broker deletes the queue (signed 32-bit int). */
  expires?: number;
  /** `x-message-ttl`: milliseconds a message may wait in the queue (signed 32-bit int). */
  messageTtl?: number;
  /** The exchange survives a broker restart (default true, as kombu.Exchange). */
  exchangeDurable?: boolean;
  /** The exchange is deleted once its last binding is gone (default false). */
  exchangeAutoDelete?: boolean;
}

/** Options of `Transport.connect`. */
export interface ConnectOptions {
  /**
   * false: one connect attempt, no retry by the transport (the caller retries, as the worker does
   * with broker_connection_retry_on_startup). Default true: the AMQP transport retries per
   * broker_connection_retry / broker_connection_max_retries; Redis always makes one attempt.
   */
  retry?: boolean;
}

/** A message broker: Redis, AMQP, or the in-process `memory://`. */
export interface Transport {
  readonly name: "redis" | "amqp" | "memory";
  /**
   * Connect. A failure is a ConnectionFailure (src/connectivity/errors.ts) naming the URL with
   * its password masked and the reason (refused, unknown host, wrong password, TLS).
   */
  connect(options?: ConnectOptions): Promise<void>;
  /** The URL of the broker in use, when a list of them was given (`amqp://h1;amqp://h2`); not masked. */
  readonly currentUrl?: string;
  /**
   * Follow the connection of a running transport: lost, failed reconnect attempts (when their
   * reason changes) and connected again. Returns the removal of the listener.
   */
  onConnectionState?(listener: ConnectionStateListener): () => void;
  close(): Promise<void>;
  declareQueue(queue: QueueDeclaration): Promise<void>;
  /** Resolves once the broker has accepted the message. */
  publish(message: RawMessage, target: PublishTarget): Promise<void>;
  /**
   * Optional: publish several messages in one round trip (Redis: one pipeline); resolves once the
   * broker accepted every one, rejects when any was refused (the others may have been accepted).
   * Without it, callers publish each message concurrently.
   */
  publishMany?(messages: readonly PublishItem[]): Promise<void>;
  consume(options: ConsumeOptions): Promise<Consumer>;
  /** Fanout: publish on an exchange to every subscriber (Redis PUBLISH, AMQP fanout/topic). */
  broadcast(exchange: string, routingKey: string, message: RawMessage): Promise<void>;
  /** Subscribe to a fanout exchange; `pattern` is the binding key (`#`/`*` allowed). */
  subscribe(exchange: string, pattern: string, onMessage: (message: RawMessage, routingKey: string) => void): Promise<() => Promise<void>>;
  /** Remove every message from the queues; returns how many were removed. */
  purge(queues: string[]): Promise<number>;
  /** Messages waiting in a queue (a worker's `celery_queue_length` metric); 0 for a queue that does not exist. */
  queueLength?(queue: string): Promise<number>;
  /** Put back messages that were delivered but never settled (visibility timeout) – Redis only. */
  restoreUnacked?(): Promise<number>;
}
