/**
 * Consuming task queues (docs/protocol.md §6.4): one channel per consumer, basic.qos(prefetch_count, global)
 * then basic.consume(no_ack=false) per queue.
 *
 * * prefetch: ConsumeOptions.prefetch, else the first ConsumeOptions.capacity(), else the
 *   transport's prefetchCount. The window is the channel's like Celery's on RabbitMQ (global
 *   basic.qos), the consumer's when a consumed queue is a quorum queue (see WindowScope).
 *   `setPrefetch(n)` sends basic.qos again (Celery raises it by one per ETA task held, and lowers
 *   it when the task runs).
 * * "auto" scope (the default): while the channel has ONE basic.consume and the window was never
 *   changed, the window is set as that consumer's (basic.qos global=false): the same bound, and
 *   RabbitMQ counts it in the queue instead of asking the channel's limiter for every message
 *   (~17% less broker CPU, +8% drain rate, bench/NOTES-amqp.md). A per-consumer limit cannot be
 *   changed for a live consumer, so the first setPrefetch or addQueue makes the window the
 *   channel's for good: basic.qos(0, global=false) (no limit of their own for consumers made
 *   later; the live one keeps its limit), then basic.qos(n, global=true) (RabbitMQ counts every
 *   unacked message of the channel against it, the old consumer's included; a global=false qos
 *   after it would lift it again), then each queue is consumed again and its old consumer cancelled.
 * * RabbitMQ pushes up to the window; a message is handed to `onDelivery` only while
 *   `hasCapacity()` is true — others wait in a local buffer until `poke()`, so the caller's window
 *   is never exceeded even if it is smaller than the broker's.
 * * ack = basic.ack, batched per turn of the event loop (channel-acks.ts: `multiple=true` for the
 *   oldest run of acked deliveries); reject(requeue) = basic.reject (kombu's Message.reject/requeue);
 *   release = basic.nack(requeue=true): AMQP has no "front of the queue", RabbitMQ puts the
 *   message back at (about) its original position with redelivered=true.
 * * Connection or channel loss: RabbitMQ requeues every unacked message; buffered ones are
 *   forgotten, settling a delivery of the lost channel fails with StaleDeliveryError (the message
 *   comes again, redelivered=true). On reconnect (or after a channel error, 1 s later) the channel,
 *   qos and consumers are set up again.
 * * ConsumeOptions.noAck: basic.consume(no_ack=true), no basic.qos; ack/reject resolve at once.
 * * cancel(): basic.cancel per queue; buffered, never handed over messages are nacked back
 *   (requeue); handed-over deliveries stay settleable until the transport is closed.
 */
import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import type { RawMessage } from "../../protocol/message";
import type { Consumer, ConsumeOptions, Delivery } from "../types";
import type { AmqpConnection, ConnectionListener } from "./connection";
import { ChannelAcks } from "./channel-acks";
import { rawMessageFrom } from "./message";

/**
 * Where the prefetch window is counted: the channel's (basic.qos global=true, Celery on
 * RabbitMQ), each consumer's (global=false: quorum queues), or "auto": the single consumer's while
 * that is the same bound and was never changed, the channel's from the first change on.
 */
export type WindowScope = "channel" | "consumer" | "auto";

/** Settling a delivery whose channel is gone: RabbitMQ redelivers the message. */
export class StaleDeliveryError extends Error {
  constructor(what: string, tag: string) {
    super(`cannot ${what} delivery ${tag}: its channel was closed (connection lost); RabbitMQ will redeliver the message`);
    this.name = "StaleDeliveryError";
  }
}

interface Pending {
  ch: Channel;
  acks: ChannelAcks;
  queue: string;
  msg: ConsumeMessage;
}

/** What settling a delivery that needs nothing more (no_ack, settled twice) returns. */
const SETTLED: Promise<void> = Promise.resolve();

export class AmqpDelivery implements Delivery {
  readonly message: RawMessage;
  readonly queue: string;
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;
  private settled = false;

  constructor(
    private readonly owner: AmqpConsumer,
    private readonly ch: Channel,
    private readonly acks: ChannelAcks,
    private readonly msg: ConsumeMessage,
    queue: string,
    private readonly noAck = false,
  ) {
    this.message = rawMessageFrom(msg);
    this.queue = queue;
    this.exchange = msg.fields.exchange;
    this.routingKey = msg.fields.routingKey;
    this.redelivered = msg.fields.redelivered;
  }

  /** The channel's delivery tag, as a string. */
  get deliveryTag(): string {
    return String(this.msg.fields.deliveryTag);
  }

  private settle(what: "ack" | "reject" | "release", requeue: boolean): Promise<void> {
    if (this.settled || this.noAck) return SETTLED; // no_ack: already settled by the broker
    if (!this.owner.isLive(this.ch)) return Promise.reject(new StaleDeliveryError(what, this.deliveryTag));
    this.settled = true;
    try {
      if (what === "ack") this.acks.ack(this.msg);
      else if (what === "reject") this.acks.reject(this.msg, requeue);
      else this.acks.release(this.msg);
    } catch {
      return Promise.reject(new StaleDeliveryError(what, this.deliveryTag));
    }
    return SETTLED;
  }

  ack(): Promise<void> {
    return this.settle("ack", false);
  }

  reject(requeue: boolean): Promise<void> {
    return this.settle("reject", requeue);
  }

  /** basic.nack(requeue=true): back to the queue (no front-of-queue on AMQP), redelivered=true. */
  release(): Promise<void> {
    return this.settle("release", true);
  }
}

export class AmqpConsumer implements Consumer, ConnectionListener {
  private channel: Channel | null = null;
  /** Channels whose deliveries may still be settled (the current one, kept after cancel), with their acks. */
  private readonly liveChannels = new Map<Channel, ChannelAcks>();
  private opening: Promise<void> | null = null;
  private readonly queues: string[];
  private readonly tags = new Map<string, string>();
  private pending: Pending[] = [];
  private cancelled = false;
  private prefetch: number;
  private reopenTimer: NodeJS.Timeout | null = null;
  /** "auto" scope: the window is the single consumer's on the current channel (not changed yet). */
  private consumerWindow = false;
  /** The switch to the channel's window under way (see the header). */
  private widening: Promise<void> | null = null;

  constructor(
    private readonly conn: AmqpConnection,
    private readonly options: ConsumeOptions,
    prefetch: number,
    private readonly scope: () => WindowScope,
    private readonly warn: (m: string) => void,
    private readonly onClosed: (c: AmqpConsumer) => void,
  ) {
    this.queues = [...new Set(options.queues)];
    this.prefetch = Math.max(0, Math.floor(prefetch));
  }

  /** The basic.qos prefetch_count in force. */
  get prefetchCount(): number {
    return this.prefetch;
  }

  isLive(ch: Channel): boolean {
    return this.liveChannels.has(ch);
  }

  async start(): Promise<void> {
    this.conn.addListener(this);
    try {
      await this.open(await this.conn.get());
    } catch (err) {
      this.conn.removeListener(this);
      this.onClosed(this);
      throw err;
    }
  }

  // ---------------------------------------------------------------- connection events

  async onConnected(model: ChannelModel): Promise<void> {
    if (this.cancelled) return;
    await this.open(model);
  }

  onLost(): void {
    this.dropChannel(this.channel);
  }

  private dropChannel(ch: Channel | null): void {
    if (!ch) return;
    this.liveChannels.delete(ch);
    if (this.channel !== ch) return;
    this.channel = null;
    this.tags.clear();
    this.pending = this.pending.filter((p) => p.ch !== ch);
  }

  private open(model: ChannelModel): Promise<void> {
    if (this.channel || this.cancelled) return Promise.resolve();
    if (!this.opening) {
      const p = this.doOpen(model).finally(() => {
        if (this.opening === p) this.opening = null;
      });
      this.opening = p;
    }
    return this.opening;
  }

  private async doOpen(model: ChannelModel): Promise<void> {
    const ch = await model.createChannel();
    ch.on("error", (err: Error) => this.warn(`consumer channel error: ${err.message}`));
    ch.on("close", () => this.onChannelClose(ch));
    if (!this.options.noAck) {
      this.consumerWindow = this.scope() === "auto" && this.queues.length === 1 && this.prefetch > 0;
      await ch.prefetch(this.prefetch, this.isGlobal());
    }
    this.channel = ch;
    this.liveChannels.set(ch, new ChannelAcks(ch));
    for (const q of this.queues) {
      if (this.tags.has(q)) continue; // consumed by addQueue meanwhile
      if (this.consumerWindow && this.tags.size > 0) await this.widen(ch); // a queue added meanwhile
      await this.consumeQueue(ch, q);
    }
  }

  /** The global flag of the next basic.qos on the current channel. */
  private isGlobal(): boolean {
    const scope = this.scope();
    return scope === "channel" || (scope === "auto" && !this.consumerWindow);
  }

  /** Makes the window the channel's (see the header); later calls wait for the same switch. */
  private widen(ch: Channel): Promise<void> {
    if (!this.consumerWindow) return this.widening ?? Promise.resolve();
    this.consumerWindow = false;
    const p = (async () => {
      // In this order: a basic.qos global=false also lifts the channel's limit (RabbitMQ keeps one),
      // and the live consumer keeps its own limit meanwhile, so the bound holds throughout.
      await ch.prefetch(0, false);
      await ch.prefetch(this.prefetch, true);
      for (const [queue, old] of [...this.tags]) {
        if (this.cancelled || this.channel !== ch) return;
        await this.consumeQueue(ch, queue);
        await ch.cancel(old);
      }
    })().finally(() => {
      if (this.widening === p) this.widening = null;
    });
    this.widening = p;
    return p;
  }

  private async consumeQueue(ch: Channel, queue: string): Promise<void> {
    const ok = await ch.consume(queue, (msg) => this.onMessage(ch, queue, msg), { noAck: this.options.noAck === true });
    this.tags.set(queue, ok.consumerTag);
  }

  private onChannelClose(ch: Channel): void {
    const wasCurrent = this.channel === ch;
    this.dropChannel(ch);
    if (!wasCurrent || this.cancelled || this.conn.isClosed) return;
    // A channel error on a live connection (queue deleted, precondition, ...): try again later.
    // After a connection loss the connection's reconnect re-opens us instead.
    if (this.reopenTimer) return;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = null;
      const model = this.conn.current;
      if (!model || this.channel || this.cancelled) return;
      this.open(model).catch((err) => {
        this.warn(`re-opening the consumer channel failed: ${(err as Error).message}`);
        const ch2 = this.channel;
        if (!ch2) this.onChannelClose(ch); // schedule again
      });
    }, 1000);
    this.reopenTimer.unref?.();
  }

  private onMessage(ch: Channel, queue: string, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // basic.cancel from the broker (queue deleted): consume again when the channel re-opens
      this.tags.delete(queue);
      this.warn(`the broker cancelled consuming queue '${queue}' (deleted?)`);
      return;
    }
    const acks = this.liveChannels.get(ch);
    if (!acks) return;
    if (!this.options.noAck) acks.delivered(msg.fields.deliveryTag);
    if (ch !== this.channel) return;
    if (this.pending.length === 0 && !this.cancelled && this.options.hasCapacity()) {
      this.handOver(ch, acks, queue, msg); // the common case: room in the caller's window
      return;
    }
    this.pending.push({ ch, acks, queue, msg });
    this.drain();
  }

  private drain(): void {
    while (this.pending.length > 0 && !this.cancelled && this.options.hasCapacity()) {
      const p = this.pending.shift() as Pending;
      if (this.liveChannels.has(p.ch)) this.handOver(p.ch, p.acks, p.queue, p.msg);
    }
  }

  private handOver(ch: Channel, acks: ChannelAcks, queue: string, msg: ConsumeMessage): void {
    let delivery: AmqpDelivery;
    try {
      delivery = new AmqpDelivery(this, ch, acks, msg, queue, this.options.noAck === true);
    } catch (err) {
      // unreadable properties: drop it like a bad envelope, tell the caller
      try {
        if (!this.options.noAck) acks.reject(msg, false);
      } catch {
        /* channel gone */
      }
      this.options.onTransportError?.(err as Error, msg.content);
      return;
    }
    this.options.onDelivery(delivery);
  }

  // ---------------------------------------------------------------- Consumer

  poke(): void {
    this.drain();
  }

  /** basic.qos again with a new prefetch_count (Celery: +1 per ETA task held, −1 when it runs). */
  setPrefetch(count: number): void {
    const n = Math.max(0, Math.floor(count));
    if (n === this.prefetch) return;
    this.prefetch = n;
    const ch = this.channel;
    if (!ch) return;
    const sent = this.consumerWindow ? this.widen(ch) : ch.prefetch(n, this.isGlobal());
    sent.catch((err) => this.warn(`basic.qos(${n}) failed: ${(err as Error).message}`));
  }

  addQueue(queue: string): void {
    if (this.queues.includes(queue)) return;
    this.queues.push(queue);
    const ch = this.channel;
    if (ch && !this.cancelled) {
      this.widen(ch)
        .then(() => (this.channel === ch && !this.cancelled && this.queues.includes(queue) && !this.tags.has(queue) ? this.consumeQueue(ch, queue) : undefined))
        .catch((err) => this.warn(`basic.consume('${queue}') failed: ${(err as Error).message}`));
    }
  }

  removeQueue(queue: string): void {
    const i = this.queues.indexOf(queue);
    if (i < 0) return;
    this.queues.splice(i, 1);
    const tag = this.tags.get(queue);
    this.tags.delete(queue);
    const ch = this.channel;
    if (ch && tag) ch.cancel(tag).catch(() => undefined);
  }

  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.conn.removeListener(this);
    if (this.opening) await this.opening.catch(() => undefined);
    if (this.widening) await this.widening.catch(() => undefined);
    const ch = this.channel;
    if (ch) {
      for (const tag of this.tags.values()) await ch.cancel(tag).catch(() => undefined);
      this.tags.clear();
      for (const p of this.options.noAck ? [] : this.pending) {
        try {
          p.acks.release(p.msg);
        } catch {
          /* channel gone: redelivered anyway */
        }
      }
    }
    this.pending = [];
    this.onClosed(this);
  }

  /** Close the channel (transport close): unsettled deliveries go back to the queue. */
  async close(): Promise<void> {
    await this.cancel();
    const ch = this.channel;
    this.channel = null;
    for (const [c, acks] of this.liveChannels) {
      acks.close();
      await c.close().catch(() => undefined);
    }
    this.liveChannels.clear();
    void ch;
  }
}
