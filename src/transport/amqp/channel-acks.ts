/**
 * The acks of one consumer channel, sent together (docs/protocol.md §6.4).
 *
 * `ack()` only notes the delivery; once per turn of the event loop (setImmediate) `flush()` sends
 * them: one `basic.ack(multiple=true)` for the longest run of the OLDEST outstanding deliveries
 * that are all acked, then a plain `basic.ack` for each acked delivery above the first gap (one
 * still running, ETA-held, ...). `multiple=true` acks every unsettled tag up to the one named, so
 * it is sent only when every lower tag still outstanding on the channel is among the acked ones:
 * deliveries are tracked from the moment the channel delivers them, in tag order.
 *
 * Rejects and nacks are sent at once, one frame each, and the delivery leaves the outstanding
 * set: a later `multiple=true` never covers it (the broker already settled it, in frame order).
 *
 * Why: amqplib writes every frame to the socket on its own (one write system call per ack), the
 * largest cost of a drain. Until the flush an ack is in memory: a lost channel loses it, and
 * RabbitMQ delivers the message again (at least once).
 *
 * The frames are written straight to the socket (settle-frames.ts), so the flush's acks leave in
 * the turn of the flush, not at amqplib's next setImmediate a turn later; after `close()`, or
 * when that is not possible, amqplib's own methods send them.
 */
import type { Channel, Message } from "amqplib";
import { directFrames } from "./settle-frames";
import type { DirectFrames } from "./settle-frames";

export class ChannelAcks {
  /** Delivered on the channel and not settled at the broker yet, in tag order (insertion order). */
  private readonly outstanding = new Set<number>();
  /** Acked by the caller, frame not sent yet. */
  private readonly acked = new Map<number, Message>();
  private scheduled = false;
  private closed = false;
  private readonly flushNow = (): void => this.flush();
  private readonly frames: DirectFrames | null;

  constructor(private readonly ch: Channel) {
    this.frames = directFrames(ch);
  }

  /** The direct frame writer, unless closed or unusable (then amqplib's methods). */
  private direct(): DirectFrames | null {
    const f = this.frames;
    return f && !this.closed && f.usable ? f : null;
  }

  /** A delivery arrived on the channel (call for every one, in arrival order). */
  delivered(tag: number): void {
    this.outstanding.add(tag);
  }

  /** Ack `msg` with the next flush. */
  ack(msg: Message): void {
    if (this.closed) {
      this.ch.ack(msg); // after close(): nothing batches any more (throws when the channel is gone)
      return;
    }
    this.acked.set(msg.fields.deliveryTag, msg);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
  }

  /** basic.reject now (throws when the channel is gone). */
  reject(msg: Message, requeue: boolean): void {
    const f = this.direct();
    if (f) f.reject(msg.fields.deliveryTag, requeue);
    else this.ch.reject(msg, requeue);
    this.outstanding.delete(msg.fields.deliveryTag);
  }

  /** basic.nack(requeue=true) now (throws when the channel is gone). */
  release(msg: Message): void {
    const f = this.direct();
    if (f) f.nack(msg.fields.deliveryTag, true);
    else this.ch.nack(msg, false, true);
    this.outstanding.delete(msg.fields.deliveryTag);
  }

  /** Send the acks noted so far. A channel closed meanwhile drops them (redelivered). */
  flush(): void {
    this.scheduled = false;
    if (this.acked.size === 0) return;
    try {
      let upTo: Message | null = null;
      let run = 0;
      for (const tag of this.outstanding) {
        const msg = this.acked.get(tag);
        if (!msg) break;
        upTo = msg;
        run++;
        this.outstanding.delete(tag);
        this.acked.delete(tag);
      }
      if (upTo) this.send(upTo, run > 1);
      for (const [tag, msg] of this.acked) {
        this.outstanding.delete(tag);
        this.send(msg, false);
      }
    } catch {
      // the channel is gone: RabbitMQ requeued every unacked message
    } finally {
      this.acked.clear();
    }
  }

  private send(msg: Message, multiple: boolean): void {
    const f = this.direct();
    if (f) f.ack(msg.fields.deliveryTag, multiple);
    else this.ch.ack(msg, multiple);
  }

  /** Flush, then send every later ack at once (the channel is about to close). */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
