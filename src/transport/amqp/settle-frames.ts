/**
 * The settlement frames of a consumer channel (basic.ack, basic.reject, basic.nack), written
 * straight to amqplib's socket when they are sent (docs/protocol.md §6.4).
 *
 * amqplib queues every frame of a channel in a stream of its own that its mux empties into the
 * socket on a later `setImmediate`: an ack sent at the end of a turn of the event loop left only
 * at the end of the NEXT turn, after that turn's deliveries were all handled — while RabbitMQ,
 * whose prefetch window the ack frees, waited for it. Written directly, the ack leaves when it is
 * sent. Every settlement of the channel goes this way (a reject must never be overtaken by a
 * later `multiple=true` ack); the channel's other frames (qos, consume, cancel, close) keep
 * amqplib's queue, where no settlement depends on their order.
 *
 * Uses amqplib 0.10's channel internals (`ch`: the channel number; `connection.sendBytes`), checked
 * at run time: without them `directFrames` returns null and settlements go through amqplib. The
 * channel's `close` event turns direct writes off (a frame on a closed channel would close the
 * whole connection); settling then goes through amqplib, which throws as it always did.
 */
import type { Channel } from "amqplib";

/** basic.ack / basic.reject / basic.nack (class 60). */
const BASIC = 60;
const ACK = 80;
const REJECT = 90;
const NACK = 120;
const FRAME_METHOD = 1;
const FRAME_END = 0xce;

/** One settlement method frame: delivery tag (uint64) and one octet of flags. */
function settleFrame(channel: number, method: number, tag: number, flags: number): Buffer {
  const b = Buffer.allocUnsafe(21);
  b[0] = FRAME_METHOD;
  b.writeUInt16BE(channel, 1);
  b.writeUInt32BE(13, 3); // class + method + tag + flags
  b.writeUInt16BE(BASIC, 7);
  b.writeUInt16BE(method, 9);
  b.writeBigUInt64BE(BigInt(tag), 11);
  b[19] = flags;
  b[20] = FRAME_END;
  return b;
}

/** The amqplib 0.10 internals used here. */
interface ChannelInternals {
  ch: number;
  connection: { sendBytes(bytes: Buffer): void; stream?: { writable?: boolean } };
}

function internalsOf(ch: Channel): ChannelInternals | null {
  const c = ch as unknown as Partial<ChannelInternals>;
  return typeof c.ch === "number" && typeof c.connection?.sendBytes === "function" ? (c as ChannelInternals) : null;
}

/** Settlement frames of one channel written directly to the socket. */
export interface DirectFrames {
  /** False once the channel closed (or the socket cannot take writes): use amqplib's methods. */
  readonly usable: boolean;
  ack(tag: number, multiple: boolean): void;
  reject(tag: number, requeue: boolean): void;
  /** basic.nack of one delivery. */
  nack(tag: number, requeue: boolean): void;
}

class Frames implements DirectFrames {
  private open = true;

  constructor(private readonly c: ChannelInternals, ch: Channel) {
    ch.once("close", () => (this.open = false));
  }

  get usable(): boolean {
    return this.open && this.c.connection.stream?.writable !== false;
  }

  ack(tag: number, multiple: boolean): void {
    this.c.connection.sendBytes(settleFrame(this.c.ch, ACK, tag, multiple ? 1 : 0));
  }

  reject(tag: number, requeue: boolean): void {
    this.c.connection.sendBytes(settleFrame(this.c.ch, REJECT, tag, requeue ? 1 : 0));
  }

  nack(tag: number, requeue: boolean): void {
    this.c.connection.sendBytes(settleFrame(this.c.ch, NACK, tag, requeue ? 2 : 0)); // bit 0 multiple, bit 1 requeue
  }
}

/** Direct settlement frames for `ch`, or null when amqplib's internals are not as expected. */
export function directFrames(ch: Channel): DirectFrames | null {
  const c = internalsOf(ch);
  return c ? new Frames(c, ch) : null;
}
