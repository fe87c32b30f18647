/**
 * RabbitMQ transport compatible with Celery/kombu's `amqp://` (py-amqp) transport (docs/protocol.md §6).
 * See README.md in this directory for the wire behaviour and the design (reconnects, publisher
 * confirms, passive-declare fallback, basic.qos).
 */
import type { ChannelModel } from "amqplib";
import type { RawMessage } from "../../protocol/message";
import type { ConnectOptions, ConsumeOptions, Consumer, PublishTarget, QueueDeclaration, Transport } from "../types";
import type { ConnectionStateListener } from "../../connectivity/state";
import { AmqpConnection, type ConnectionListener } from "./connection";
import { AmqpConsumer, type WindowScope } from "./consumer";
import { publishProperties } from "./message";
import { resolveAmqpOptions, type AmqpTransportOptions, type ResolvedAmqpTransportOptions } from "./options";
import { AmqpSubscription } from "./subscription";
import { broadcastExchangeSpec, declareExchange, declareTopology, replyCode, taskQueueTopology, withChannel, type QueueTopology } from "./topology";
import { parseAmqpUrl, type AmqpUrl } from "./url";
import { FailoverCycle, splitBrokerUrls } from "../../connectivity/failover";

export type { AmqpTransportOptions, ResolvedAmqpTransportOptions } from "./options";
export { AmqpConsumer, AmqpDelivery, StaleDeliveryError } from "./consumer";
export { AmqpConnection, BrokerUnavailableError, PublishTimeoutError } from "./connection";
export { parseAmqpUrl, isAmqpUrl, redactAmqpUrl, type AmqpUrl } from "./url";
export { encodeFieldTable, decodeFieldTable, encodeFieldValue, decodeFieldValue } from "./header-types";
export { publishProperties, rawMessageFrom } from "./message";
export { taskQueueTopology, broadcastExchangeSpec, subscriptionQueueSpec } from "./topology";

export class AmqpTransport implements Transport, ConnectionListener {
  readonly name = "amqp" as const;
  readonly options: ResolvedAmqpTransportOptions;
  readonly url: AmqpUrl;
  private readonly conn: AmqpConnection;
  /** Every task queue declared, re-declared on reconnect (in declaration order). */
  private readonly topology = new Map<string, QueueTopology>();
  /** Broadcast exchanges declared on the current connection. */
  private readonly broadcastExchanges = new Map<string, Promise<void>>();
  private readonly consumers = new Set<AmqpConsumer>();
  private readonly subscriptions = new Set<AmqpSubscription>();
  private closed = false;

  constructor(url: string, options?: AmqpTransportOptions) {
    this.options = resolveAmqpOptions(options);
    const targets = splitBrokerUrls(url).map((raw) => ({ url: parseAmqpUrl(raw, this.options.ssl !== null), raw }));
    this.url = targets[0].url;
    this.conn = new AmqpConnection(new FailoverCycle(targets, this.options.failoverStrategy), this.options);
    this.conn.addListener(this); // first listener: topology before consumers
  }

  private get warn(): (m: string) => void {
    return this.options.onWarning;
  }

  private readonly opener = (): ReturnType<AmqpConnection["openChannel"]> => this.conn.openChannel();

  // ---------------------------------------------------------------- connection

  /** The URL of the broker in use (or tried next) of a failover list; not masked. */
  get currentUrl(): string {
    return this.conn.rawUrl;
  }

  /** Connect (see ConnectOptions: `retry: false` makes one attempt). */
  async connect(options: ConnectOptions = {}): Promise<void> {
    await this.conn.get(options.retry ?? true);
  }

  /** Follow the connection state (lost / failed reconnects / connected again). */
  onConnectionState(listener: ConnectionStateListener): () => void {
    return this.conn.state.on(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.subscriptions]) await s.stop().catch(() => undefined);
    this.subscriptions.clear();
    for (const c of [...this.consumers]) await c.close().catch(() => undefined);
    this.consumers.clear();
    await this.conn.close();
  }

  /** ConnectionListener: re-declare the topology on a new connection. */
  async onConnected(_model: ChannelModel, reconnect: boolean): Promise<void> {
    this.broadcastExchanges.clear();
    if (!reconnect) return;
    for (const t of this.topology.values()) await declareTopology(this.opener, t, this.warn);
  }

  onLost(): void {
    this.broadcastExchanges.clear();
  }

  // ---------------------------------------------------------------- topology

  /**
   * Celery's declaration: exchange (direct, durable), queue (durable; x-max-priority when
   * maxPriority/queueMaxPriority is set; x-queue-type quorum when defaultQueueType is "quorum"),
   * binding with the routing key. An entity that exists with other arguments is used as it is
   * (passive declare) with a warning.
   */
  async declareQueue(queue: QueueDeclaration): Promise<void> {
    const t = taskQueueTopology(queue, this.options);
    this.topology.set(queue.name, t);
    await declareTopology(this.opener, t, this.warn);
  }

  /** True when a known queue is declared as a quorum queue. */
  private isQuorum(name: string): boolean {
    const t = this.topology.get(name);
    return t ? t.queue.arguments["x-queue-type"] === "quorum" : this.options.defaultQueueType === "quorum";
  }

  // ---------------------------------------------------------------- publishing

  /** basic.publish (mandatory=false) + publisher confirm; see connection.ts for outages. */
  async publish(message: RawMessage, target: PublishTarget): Promise<void> {
    if (this.closed) throw new Error("AmqpTransport is closed");
    await this.conn.publish(target.exchange, target.routingKey, message.body, publishProperties(message, target.priority));
  }

  // ---------------------------------------------------------------- consuming

  /**
   * basic.qos + basic.consume on a channel of its own. The returned consumer also has
   * `setPrefetch(count)` (basic.qos again).
   */
  async consume(options: ConsumeOptions): Promise<Consumer & { setPrefetch(count: number): void }> {
    if (this.closed) throw new Error("AmqpTransport is closed");
    const prefetch = options.prefetch ?? (options.capacity ? options.capacity() : this.options.prefetchCount);
    const queues = options.queues;
    const quorum = (): string | undefined => queues.find((q) => this.isQuorum(q));
    if (this.options.globalQos === true && quorum()) {
      throw new Error(`global QoS is not supported by quorum queues (queue '${quorum()}'): unset broker_transport_options globalQos`);
    }
    // Celery's worker_detect_quorum_queues: a consumed quorum queue turns global QoS off
    const scope = (): WindowScope => {
      if (this.options.globalQos !== null) return this.options.globalQos ? "channel" : "consumer";
      return this.options.detectQuorumQueues && quorum() !== undefined ? "consumer" : "auto";
    };
    const consumer = new AmqpConsumer(this.conn, options, prefetch, scope, this.warn, (c) => this.consumers.delete(c));
    this.consumers.add(consumer);
    await consumer.start();
    return consumer;
  }

  // ---------------------------------------------------------------- fanout

  private ensureBroadcastExchange(exchange: string): Promise<void> {
    let p = this.broadcastExchanges.get(exchange);
    if (!p) {
      p = declareExchange(this.opener, broadcastExchangeSpec(exchange), this.warn);
      this.broadcastExchanges.set(exchange, p);
      p.catch(() => this.broadcastExchanges.delete(exchange));
    }
    return p;
  }

  /** Publish on a broadcast exchange (declared first: `celeryev` topic durable, `*.pidbox` fanout). */
  async broadcast(exchange: string, routingKey: string, message: RawMessage): Promise<void> {
    if (this.closed) throw new Error("AmqpTransport is closed");
    await this.ensureBroadcastExchange(exchange);
    await this.conn.publish(exchange, routingKey, message.body, publishProperties(message));
  }

  async subscribe(exchange: string, pattern: string, onMessage: (message: RawMessage, routingKey: string) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error("AmqpTransport is closed");
    const sub = new AmqpSubscription(this.conn, exchange, pattern, onMessage, this.warn, (err) => this.warn(`unreadable broadcast message: ${err.message}`));
    this.subscriptions.add(sub);
    try {
      await sub.start();
    } catch (err) {
      this.subscriptions.delete(sub);
      throw err;
    }
    return async () => {
      this.subscriptions.delete(sub);
      await sub.stop();
    };
  }

  /** The message count of a passive queue.declare; a queue that does not exist counts 0. */
  async queueLength(queue: string): Promise<number> {
    try {
      return await withChannel(this.opener, (ch) => ch.checkQueue(queue).then((ok) => ok.messageCount));
    } catch (err) {
      if (replyCode(err) === 404) return 0;
      throw err;
    }
  }

  /** queue.purge per queue; a queue that does not exist counts 0. */
  async purge(queues: string[]): Promise<number> {
    let total = 0;
    for (const q of queues) {
      try {
        total += await withChannel(this.opener, (ch) => ch.purgeQueue(q).then((ok) => ok.messageCount));
      } catch (err) {
        if (replyCode(err) !== 404) throw err;
      }
    }
    return total;
  }
}
