/**
 * broadcast/subscribe on AMQP (docs/protocol.md §10.1, §11.1): a fanout/topic exchange and, per subscriber, a
 * private auto-delete queue bound with the pattern, consumed with no_ack (as Celery's pidbox and
 * event consumers). Re-declared and re-consumed after a reconnect (messages sent while the
 * connection was down are lost, as in Celery: the queue was auto-deleted).
 */
import { randomUUID } from "node:crypto";
import type { Channel, ChannelModel } from "amqplib";
import type { RawMessage } from "../../protocol/message";
import type { AmqpConnection, ConnectionListener } from "./connection";
import { rawMessageFrom } from "./message";
import { bindQueue, broadcastExchangeSpec, declareExchange, declareQueue, subscriptionQueueSpec, type QueueSpec } from "./topology";

export class AmqpSubscription implements ConnectionListener {
  private channel: Channel | null = null;
  private stopped = false;
  readonly queue: QueueSpec;

  constructor(
    private readonly conn: AmqpConnection,
    private readonly exchange: string,
    private readonly pattern: string,
    private readonly onMessage: (message: RawMessage, routingKey: string) => void,
    private readonly warn: (m: string) => void,
    private readonly onError: (err: Error) => void,
  ) {
    this.queue = subscriptionQueueSpec(exchange, randomUUID());
  }

  async start(): Promise<void> {
    this.conn.addListener(this);
    try {
      await this.open(await this.conn.get());
    } catch (err) {
      this.conn.removeListener(this);
      throw err;
    }
  }

  async onConnected(model: ChannelModel): Promise<void> {
    if (!this.stopped) await this.open(model);
  }

  onLost(): void {
    this.channel = null;
  }

  private async open(_model: ChannelModel): Promise<void> {
    const opener = () => this.conn.openChannel();
    await declareExchange(opener, broadcastExchangeSpec(this.exchange), this.warn);
    await declareQueue(opener, this.queue, this.warn);
    await bindQueue(opener, { queue: this.queue.name, exchange: this.exchange, routingKey: this.pattern });
    const ch = await this.conn.openChannel();
    ch.on("error", (err: Error) => this.warn(`subscription channel error: ${err.message}`));
    ch.on("close", () => {
      if (this.channel === ch) this.channel = null;
    });
    await ch.consume(
      this.queue.name,
      (msg) => {
        if (!msg) return;
        let raw: RawMessage;
        try {
          raw = rawMessageFrom(msg);
        } catch (err) {
          this.onError(err as Error);
          return;
        }
        this.onMessage(raw, msg.fields.routingKey);
      },
      { noAck: true },
    );
    this.channel = ch;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.conn.removeListener(this);
    const ch = this.channel;
    this.channel = null;
    if (ch) {
      await ch.deleteQueue(this.queue.name).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  }
}
