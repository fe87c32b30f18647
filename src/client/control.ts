/**
 * Client side of remote control (Celery `app.control`, docs/protocol.md §10): broadcast a command on the
 * `celery.pidbox` fanout exchange and, when a reply is wanted, collect `{<nodename>: value}`
 * replies from the private queue `<oid>.reply.celery.pidbox` (bound to `reply.celery.pidbox`
 * with routing key <oid>) whose `ticket` header matches, for `timeout` seconds or until `limit`.
 */
import { consumeAll } from "../transport/consume-all";
import { randomUUID as uuid4 } from "node:crypto";
import type { AppContext } from "../app-context";
import type { LamportClock } from "../events/clock";
import { decodeMessageBody } from "../protocol/decode";
import { encodeBody } from "../protocol/encode";
import type { RawMessage, WireValue } from "../protocol/message";
import { pyFloat } from "../protocol/serializers/json";
import type { Consumer, Delivery } from "../transport/types";
import { PIDBOX_EXCHANGE, REPLY_EXCHANGE } from "../protocol/exchanges";

export interface BroadcastOptions {
  arguments?: Record<string, unknown>;
  /** Node names that should handle it (null: all). */
  destination?: string[] | null;
  pattern?: string | null;
  matcher?: "glob" | "pcre" | null;
  /** Wait for replies (default false). */
  reply?: boolean;
  /** Seconds to collect replies (default 1). */
  timeout?: number;
  /** Stop after this many replies (default: destination length when given). */
  limit?: number | null;
}

export type Replies = Array<Record<string, unknown>>;

/** `app.control`. */
export class Control {
  /** The app's Lamport clock: forwarded by every broadcast, adjusted by every reply. */
  readonly clock: LamportClock;
  private readonly oid = uuid4();

  constructor(private readonly app: Pick<AppContext, "connection" | "clock">) {
    this.clock = app.clock;
  }

  /** Send a command; with `reply`, resolves to the replies `[{node: value}, ...]`. */
  async broadcast(method: string, options: BroadcastOptions = {}): Promise<Replies> {
    const transport = await this.app.connection();
    const reply = options.reply === true;
    const timeout = options.timeout ?? 1;
    const ticket = uuid4();
    const body: Record<string, unknown> = {
      method,
      arguments: options.arguments ?? {},
      destination: options.destination ?? null,
      pattern: options.pattern ?? null,
      matcher: options.matcher ?? null,
    };
    const replies: Replies = [];
    // consumeAll acks each delivery; Redis records replies in `unacked` until that ack lands.
    const received: Delivery[] = [];
    let consumer: Consumer | null = null;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const limit = options.limit ?? (options.destination?.length ? options.destination.length : null);
    const replyQueue = `${this.oid}.${REPLY_EXCHANGE}`;
    if (reply) {
      body.ticket = ticket;
      body.reply_to = { exchange: REPLY_EXCHANGE, routing_key: this.oid };
      await transport.declareQueue({ name: replyQueue, exchange: REPLY_EXCHANGE, exchangeType: "direct", routingKey: this.oid, durable: false, autoDelete: true, expires: 10000, messageTtl: 300000, exchangeDurable: false });
      consumer = await consumeAll(transport, replyQueue, (d) => {
          received.push(d);
          if (d.message.headers.ticket !== ticket) return;
          this.clock.adjust(d.message.headers.clock ?? 0);
          try {
            const value = decodeMessageBody(d.message, ["json", "msgpack", "yaml"]);
            if (value && typeof value === "object" && !Array.isArray(value)) replies.push(value as Record<string, unknown>);
          } catch {
            return;
          }
          if (limit && replies.length >= limit) done();
      });
    }
    const enc = encodeBody(body, "json");
    const message: RawMessage = {
      body: enc.body,
      contentType: enc.contentType,
      contentEncoding: enc.contentEncoding,
      // A cast, on purpose: PyFloat is not a WireValue (msgpack and yaml bodies do not know it), but
      // headers are written by the json envelope (Redis) and the AMQP field-table encoder, which
      // both write it as a float, as kombu's `time() + timeout`.
      headers: { clock: this.clock.forward(), expires: reply ? (pyFloat(Date.now() / 1000 + timeout) as unknown as WireValue) : 0 },
      properties: { delivery_mode: 2 },
    };
    await transport.broadcast(PIDBOX_EXCHANGE, "", message);
    if (!consumer) return replies;
    const timer = setTimeout(done, timeout * 1000);
    await finished;
    clearTimeout(timer);
    await consumer.cancel().catch(() => undefined);
    // Wait for those acks (ack() returns the one in flight), so closing the app right after
    // (the CLI) does not leave replies behind in Redis' `unacked` hash.
    await Promise.all(received.map((d) => d.ack().catch(() => undefined)));
    return replies;
  }

  /** `app.control.inspect(...)`. */
  inspect(options: Omit<BroadcastOptions, "arguments" | "reply"> = {}): Inspect {
    return new Inspect(this, options);
  }

  ping(options: Omit<BroadcastOptions, "arguments" | "reply"> = {}): Promise<Replies> {
    return this.broadcast("ping", { ...options, reply: true });
  }

  revoke(taskId: string | string[], options: { terminate?: boolean; signal?: string } & Omit<BroadcastOptions, "arguments"> = {}): Promise<Replies> {
    const { terminate, signal, ...rest } = options;
    return this.broadcast("revoke", { ...rest, arguments: { task_id: taskId, terminate: terminate ?? false, signal: signal ?? "SIGTERM" } });
  }

  /**
   * Celery ≥ 5.3 `revoke_by_stamped_headers`: workers discard tasks whose stamps carry one of
   * these values (`{ stamp: value | [values] }`); with `terminate`, running ones are stopped.
   */
  revokeByStampedHeaders(headers: { [stamp: string]: WireValue }, options: { terminate?: boolean; signal?: string } & Omit<BroadcastOptions, "arguments"> = {}): Promise<Replies> {
    const { terminate, signal, ...rest } = options;
    return this.broadcast("revoke_by_stamped_headers", { ...rest, arguments: { headers, terminate: terminate ?? false, signal: signal ?? "SIGTERM" } });
  }

  rateLimit(taskName: string, rateLimit: string | number | null, options: Omit<BroadcastOptions, "arguments"> = {}): Promise<Replies> {
    return this.broadcast("rate_limit", { ...options, arguments: { task_name: taskName, rate_limit: rateLimit } });
  }

  timeLimit(taskName: string, soft: number | null, hard: number | null, options: Omit<BroadcastOptions, "arguments"> = {}): Promise<Replies> {
    return this.broadcast("time_limit", { ...options, arguments: { task_name: taskName, soft, hard } });
  }

  shutdown(options: Omit<BroadcastOptions, "arguments"> = {}): Promise<Replies> {
    return this.broadcast("shutdown", options);
  }

  addConsumer(queue: string, options: Omit<BroadcastOptions, "arguments"> = {}): Promise<Replies> {
    return this.broadcast("add_consumer", { ...options, arguments: { queue, exchange: null, exchange_type: "direct", routing_key: null } });
  }

  cancelConsumer(queue: string, options: Omit<BroadcastOptions, "arguments"> = {}): Promise<Replies> {
    return this.broadcast("cancel_consumer", { ...options, arguments: { queue } });
  }

  enableEvents(options: Omit<BroadcastOptions, "arguments"> = {}): Promise<Replies> {
    return this.broadcast("enable_events", options);
  }

  disableEvents(options: Omit<BroadcastOptions, "arguments"> = {}): Promise<Replies> {
    return this.broadcast("disable_events", options);
  }
}

/** Celery `Inspect`: merges the replies into `{node: value}` (null when nobody answered). */
export class Inspect {
  constructor(private readonly control: Control, private readonly options: Omit<BroadcastOptions, "arguments" | "reply">) {}

  async call(method: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown> | null> {
    const replies = await this.control.broadcast(method, { ...this.options, arguments: args, reply: true });
    if (!replies.length) return null;
    return Object.assign({}, ...replies) as Record<string, unknown>;
  }

  ping = () => this.call("ping");
  stats = () => this.call("stats");
  active = (safe: boolean | null = null) => this.call("active", { safe });
  reserved = () => this.call("reserved");
  scheduled = () => this.call("scheduled");
  revoked = () => this.call("revoked");
  registered = (...taskinfoitems: string[]) => this.call("registered", { taskinfoitems });
  activeQueues = () => this.call("active_queues");
  queryTask = (...ids: string[]) => this.call("query_task", { ids });
  conf = (withDefaults = false) => this.call("conf", { with_defaults: withDefaults });
  report = () => this.call("report");
  clock = () => this.call("clock");
}
