/**
 * The worker's remote-control mailbox (kombu pidbox Node, docs/protocol.md §10): joins the fanout exchange
 * `celery.pidbox` — Redis: SADD `_kombu.binding.celery.pidbox` for `<nodename>.celery.pidbox` and
 * PSUBSCRIBE `/{db}.celery.pidbox`; AMQP: queue `<nodename>.celery.pidbox` (not durable,
 * auto-delete, x-message-ttl 300000, x-expires 10000) bound to the non-durable fanout exchange,
 * consumed no_ack — handles the requests meant for this node (`destination`, or `pattern` +
 * `matcher` glob/pcre) and answers on `reply_to` with headers `ticket` + `clock` and body
 * `{<nodename>: value}`.
 */
import { consumeAll } from "../../transport/consume-all";
import { pyStr, pyStrRepr } from "../../protocol/repr";
import { decodeMessageBody } from "../../protocol/decode";
import { encodeBody } from "../../protocol/encode";
import type { RawMessage, WireValue } from "../../protocol/message";
import type { Consumer, Transport } from "../../transport/types";
import type { Logger } from "../../logging";
import { ControlError, HANDLERS, type ControlState } from "./commands";
import { PIDBOX_EXCHANGE, REPLY_EXCHANGE } from "../../protocol/exchanges";
import { fnmatchToRegExp } from "../../protocol/fnmatch";

/** fnmatch-style glob → anchored RegExp (kombu's pidbox `glob` matcher). */
export const globToRegExp = fnmatchToRegExp;

/** kombu `match(hostname, pattern, matcher)`: glob = fnmatch, pcre = re.match (anchored at the start). */
export function matchNode(hostname: string, pattern: string, matcher: string): boolean {
  if (matcher === "glob") return globToRegExp(pattern).test(hostname);
  if (matcher === "pcre") {
    try {
      const m = new RegExp(pattern).exec(hostname);
      return m !== null && m.index === 0;
    } catch {
      return false;
    }
  }
  throw new ControlError("KeyError", matcher);
}

/** Whether a request body is for `hostname` (kombu Node.handle_message). */
export function isForNode(hostname: string, body: Record<string, WireValue>): boolean {
  const destination = body.destination;
  if (destination !== null && destination !== undefined && destination !== "" && !(Array.isArray(destination) && destination.length === 0)) {
    if (Array.isArray(destination)) return destination.includes(hostname);
    return typeof destination === "string" && destination.includes(hostname);
  }
  const { pattern, matcher } = body;
  if (typeof pattern === "string" && pattern && typeof matcher === "string" && matcher) return matchNode(hostname, pattern, matcher);
  return true;
}

/** Python repr of an error, as kombu puts in `{"error": repr(exc)}`. */
export function errorRepr(err: unknown): string {
  if (err instanceof ControlError) return `${err.pyName}(${pyStrRepr(err.message)})`;
  if (err instanceof Error) return `${err.name === "Error" ? "Exception" : err.name}(${pyStrRepr(err.message)})`;
  return `Exception(${pyStrRepr(String(err))})`;
}

export interface PidboxOptions {
  accept?: readonly string[];
  logger: Logger;
}

/** The worker side of the mailbox. */
export class WorkerPidbox {
  private unsubscribe: (() => Promise<void>) | null = null;
  private consumer: Consumer | null = null;
  readonly queueName: string;

  constructor(private readonly state: ControlState, private readonly options: PidboxOptions) {
    this.queueName = `${state.worker.hostname}.${PIDBOX_EXCHANGE}`;
  }

  private get transport(): Transport {
    return this.state.transport;
  }

  async start(): Promise<void> {
    if (this.transport.name === "redis") {
      // kombu queue_bind on a fanout exchange: binding member "␆␖␆␖<queue>" + PSUBSCRIBE.
      await this.transport.declareQueue({ name: this.queueName, exchange: PIDBOX_EXCHANGE, exchangeType: "fanout", routingKey: "" });
      this.unsubscribe = await this.transport.subscribe(PIDBOX_EXCHANGE, "", (m) => void this.onMessage(m));
      return;
    }
    // kombu Node: Queue(<node>.celery.pidbox, Exchange(celery.pidbox, fanout, durable=False),
    // durable=False, auto_delete=True, x-message-ttl 300000, x-expires 10000); the AMQP transport
    // records it and declares it again after a reconnect.
    await this.transport.declareQueue({
      name: this.queueName,
      exchange: PIDBOX_EXCHANGE,
      exchangeType: "fanout",
      exchangeDurable: false,
      routingKey: "",
      durable: false,
      autoDelete: true,
      messageTtl: 300000,
      expires: 10000,
    });
    this.consumer = await consumeAll(
      this.transport,
      this.queueName,
      (d) => void this.onMessage(d.message),
      (err) => this.options.logger.error(`Unreadable control message: ${err.message}`),
    );
  }

  async stop(): Promise<void> {
    const u = this.unsubscribe;
    this.unsubscribe = null;
    if (u) await u().catch(() => undefined);
    const c = this.consumer;
    this.consumer = null;
    if (c) await c.cancel().catch(() => undefined);
  }

  /** Handle one request message (public for tests). */
  async onMessage(message: RawMessage): Promise<void> {
    const { logger } = this.options;
    const clock = this.state.clock;
    clock.forward();
    let body: WireValue;
    try {
      body = decodeMessageBody(message, this.options.accept ?? ["json", "msgpack", "yaml"]);
    } catch (err) {
      logger.error(`Cannot decode control message: ${(err as Error).message}`);
      return;
    }
    if (!body || typeof body !== "object" || Array.isArray(body) || Buffer.isBuffer(body) || body instanceof Date) return;
    const req = body as Record<string, WireValue>;
    clock.adjust(message.headers.clock ?? 0);
    let mine: boolean;
    try {
      mine = isForNode(this.state.worker.hostname, req);
    } catch (err) {
      logger.error(`Control command error: ${errorRepr(err)}`);
      return;
    }
    if (!mine) return;
    const expires = message.headers.expires;
    if (typeof expires === "number" && expires > 0 && Date.now() / 1000 > expires) {
      logger.debug?.(`Ignoring expired control command ${pyStr(req.method)}`);
      return;
    }
    const method = pyStr(req.method ?? "");
    const args = (req.arguments && typeof req.arguments === "object" && !Array.isArray(req.arguments) ? req.arguments : {}) as Record<string, WireValue>;
    let reply: unknown;
    const handler = Object.prototype.hasOwnProperty.call(HANDLERS, method) ? HANDLERS[method] : undefined;
    try {
      if (!handler) throw new ControlError("KeyError", method);
      reply = await handler(this.state, args);
    } catch (err) {
      if (!handler) logger.error(`No such control command: '${method}'`);
      else logger.error(`pidbox command error: ${errorRepr(err)}`);
      reply = { error: errorRepr(err) };
    }
    const replyTo = req.reply_to as Record<string, WireValue> | null | undefined;
    if (!replyTo || typeof replyTo !== "object" || method === "shutdown") return;
    await this.reply({ [this.state.worker.hostname]: reply }, pyStr(replyTo.exchange ?? REPLY_EXCHANGE), pyStr(replyTo.routing_key ?? ""), req.ticket ?? null);
  }

  private async reply(data: unknown, exchange: string, routingKey: string, ticket: WireValue): Promise<void> {
    const enc = encodeBody(data, "json");
    const message: RawMessage = {
      body: enc.body,
      contentType: enc.contentType,
      contentEncoding: enc.contentEncoding,
      headers: { ticket, clock: this.state.clock.forward() },
      properties: { delivery_mode: 1 },
    };
    try {
      await this.transport.publish(message, { exchange, routingKey });
    } catch (err) {
      this.options.logger.error(`Could not send control reply to ${exchange}/${routingKey}: ${(err as Error).message}`);
    }
  }
}
