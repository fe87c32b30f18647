/**
 * One reconnecting AMQP connection (amqplib ChannelModel) shared by the publisher, the topology
 * and every consumer/subscription of an AmqpTransport.
 *
 * * `get()` resolves with the live connection, connecting first when there is none: attempts
 *   are retried with a linear backoff (retryIntervalStart + n × step, capped at retryIntervalMax)
 *   up to connectionMaxRetries (broker_connection_retry=false: one attempt).
 * * An unexpected close (broker stop, network loss, heartbeat timeout) tells every listener
 *   `onLost()`, then reconnects in the background; on the new connection listeners run
 *   `onConnected()` in registration order (the topology first: it re-declares every queue and
 *   exchange; then consumers re-open their channels, set basic.qos and basic.consume again)
 *   BEFORE `get()` resolves, so a waiting publish goes out only after the topology exists.
 * * `publish()` uses one ConfirmChannel per connection and resolves when RabbitMQ confirmed the
 *   message (basic.ack). During an outage it waits for the reconnect, at most publishTimeout
 *   seconds, then fails with PublishTimeoutError; a publish whose connection died before the
 *   confirm is sent again on the next connection (at-least-once: a duplicate is possible, a loss
 *   is not). A nack or a channel error (e.g. 404 unknown exchange) fails the publish at once.
 * * With a URL list (`amqp://h1;amqp://h2`, connectivity/failover.ts) each failed attempt moves to
 *   the next URL of broker_failover_strategy, and the retry interval is waited after a round over
 *   all of them (kombu); `get(false)` is one round. A lost connection is tried again on its URL
 *   first, as kombu does, then on the others.
 */
import { installTableDecoder } from "./table-decoder";
installTableDecoder(); // before amqplib loads its protocol definitions (reads py-amqp's `L` tag)
// The import below stays after that call: TypeScript's CommonJS output keeps statement order.
import * as amqp from "amqplib";
import type { Channel, ChannelModel, ConfirmChannel, Options } from "amqplib";
import type { ResolvedAmqpTransportOptions } from "./options";
import { redactAmqpUrl, type AmqpUrl } from "./url";
import { ConnectionFailure, connectionFailure } from "../../connectivity/errors";
import { ConnectionStateEmitter } from "../../connectivity/state";
import type { FailoverCycle } from "../../connectivity/failover";

/** One broker of a failover list: the URL as read, and as written (for logs, masked there). */
export interface AmqpTarget {
  url: AmqpUrl;
  raw: string;
}

/** Told about connection changes (consumers, subscriptions, the topology registry). */
export interface ConnectionListener {
  /** A (re)connection is up: re-create channels/declarations. */
  onConnected(model: ChannelModel, reconnect: boolean): Promise<void>;
  /** The connection was lost: channels are gone, unacked deliveries will be redelivered. */
  onLost(): void;
}

/** The broker could not be reached within the retry policy. */
export class BrokerUnavailableError extends Error {
  readonly reason: unknown;
  constructor(message: string, reason?: unknown) {
    super(message);
    this.name = "BrokerUnavailableError";
    this.reason = reason;
  }
}

/** A publish could not be confirmed within publishTimeout (the broker was unreachable). */
export class PublishTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PublishTimeoutError";
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class AmqpConnection {
  private model: ChannelModel | null = null;
  private connecting: Promise<ChannelModel> | null = null;
  private closed = false;
  private everConnected = false;
  private readonly listeners: ConnectionListener[] = [];
  private pubChannel: Promise<Channel | ConfirmChannel> | null = null;
  /** Bumped on every new connection. */
  generation = 0;
  /** Lost / failed reconnects / connected again; when observed, they replace the onWarning lines. */
  readonly state = new ConnectionStateEmitter();

  constructor(
    private readonly targets: FailoverCycle<AmqpTarget>,
    private readonly options: ResolvedAmqpTransportOptions,
  ) {}

  /** The broker URL in use (or tried next). */
  private get url(): AmqpUrl {
    return this.targets.current.url;
  }

  /** The broker URL in use, as written (mask it before showing it). */
  get rawUrl(): string {
    return this.targets.current.raw;
  }

  /** The live connection, if any (no connect attempt). */
  get current(): ChannelModel | null {
    return this.model;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  addListener(l: ConnectionListener): void {
    if (!this.listeners.includes(l)) this.listeners.push(l);
  }

  removeListener(l: ConnectionListener): void {
    const i = this.listeners.indexOf(l);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  /**
   * The live connection; connects when there is none, with retries (connectionRetry /
   * connectionMaxRetries) unless `retry` is false: then one attempt, failing with a
   * ConnectionFailure (the caller retries).
   */
  get(retry = true): Promise<ChannelModel> {
    if (this.closed) return Promise.reject(new Error("AmqpTransport is closed"));
    if (this.model) return Promise.resolve(this.model);
    if (!this.connecting) {
      const p = this.connectLoop(retry);
      this.connecting = p;
      const clear = (): void => {
        if (this.connecting === p) this.connecting = null;
      };
      p.then(clear, clear);
    }
    return this.connecting;
  }

  /** `get()`, but fail with PublishTimeoutError after `deadline` (epoch ms). */
  async getBefore(deadline: number, what: string): Promise<ChannelModel> {
    if (this.model) return this.model;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PublishTimeoutError(`${what}: broker ${redactAmqpUrl(this.rawUrl)} unreachable for ${this.options.publishTimeout}s (publishTimeout); the message was NOT sent`)),
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      return await Promise.race([this.get(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Open a fresh channel on the live connection. */
  async openChannel(): Promise<Channel> {
    const model = await this.get();
    return model.createChannel();
  }

  private connectOptions(): Options.Connect {
    return {
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      port: this.url.port,
      username: this.url.username,
      password: this.url.password,
      vhost: this.url.vhost,
      heartbeat: this.url.heartbeat ?? this.options.heartbeat,
      ...(this.url.frameMax !== undefined ? { frameMax: this.url.frameMax } : {}),
    };
  }

  private async connectLoop(retry: boolean): Promise<ChannelModel> {
    const o = this.options;
    let failures = 0;
    for (;;) {
      if (this.closed) throw new Error("AmqpTransport is closed");
      let model: ChannelModel;
      try {
        model = await amqp.connect(this.connectOptions(), {
          timeout: Math.round(o.connectionTimeout * 1000),
          clientProperties: { product: "celeriac" },
          ...(this.url.protocol === "amqps" ? { ...o.ssl?.(), ...o.tls } : {}),
        });
      } catch (err) {
        failures++;
        if (err instanceof ConnectionFailure) throw err; // unreadable certificate files: retrying cannot help
        const failure = connectionFailure(this.rawUrl, err);
        const roundDone = this.targets.completesCycle(failures);
        this.targets.next();
        // Refused credentials are not retried on a first connect (as Celery/kombu).
        if (failure.fatal && !this.everConnected) throw failure;
        if (!retry) {
          if (roundDone) throw failure; // one attempt = one round over the URL list
          continue;
        }
        if (this.everConnected && this.state.observed) this.state.failed(this.rawUrl, err);
        const max = o.connectionMaxRetries;
        if (!o.connectionRetry || (max !== null && failures > max)) {
          throw new BrokerUnavailableError(
            `cannot connect to ${redactAmqpUrl(this.rawUrl)} after ${failures} attempt(s): ${(err as Error).message}`,
            err,
          );
        }
        if (!roundDone) continue; // the next URL of the list at once
        const rounds = failures / this.targets.items.length;
        const wait = Math.min(o.retryIntervalStart + (rounds - 1) * o.retryIntervalStep, o.retryIntervalMax);
        if ((rounds === 1 || rounds % 10 === 0) && !(this.everConnected && this.state.observed)) {
          o.onWarning(`cannot connect to ${redactAmqpUrl(failure.url)}: ${(err as Error).message}; trying again in ${wait}s (attempt ${failures})`);
        }
        await sleep(wait * 1000);
        continue;
      }
      if (this.closed) {
        await model.close().catch(() => undefined);
        throw new Error("AmqpTransport is closed");
      }
      model.on("error", () => {
        /* followed by "close", handled there */
      });
      model.on("close", (err?: Error) => this.onClose(model, err));
      model.on("blocked", (reason: string) => o.onWarning(`connection blocked by the broker: ${reason}`));
      const reconnect = this.everConnected;
      this.everConnected = true;
      this.model = model;
      this.generation++;
      this.pubChannel = null;
      if (reconnect && !this.state.observed) o.onWarning(`reconnected to ${redactAmqpUrl(this.rawUrl)}`);
      for (const l of [...this.listeners]) {
        try {
          await l.onConnected(model, reconnect);
        } catch (err) {
          o.onWarning(`restoring state after connecting failed: ${(err as Error).message}`);
        }
      }
      if (this.model !== model) continue; // lost again while restoring
      if (reconnect) this.state.connected(this.rawUrl);
      return model;
    }
  }

  private onClose(model: ChannelModel, err?: Error): void {
    if (this.model !== model) return;
    this.model = null;
    this.pubChannel = null;
    for (const l of [...this.listeners]) {
      try {
        l.onLost();
      } catch {
        /* listeners only drop state */
      }
    }
    if (this.closed) return;
    if (this.state.observed) this.state.lost(this.rawUrl, err ?? new Error("Connection closed by the broker"));
    else this.options.onWarning(`connection to ${redactAmqpUrl(this.rawUrl)} lost${err ? `: ${err.message}` : ""}; reconnecting`);
    if (this.listeners.length > 0 && this.options.connectionRetry) {
      this.get().catch((e) => this.options.onWarning(`giving up reconnecting: ${(e as Error).message}`));
    }
  }

  /** The publishing channel of the live connection (a ConfirmChannel when confirmPublish). */
  private publishChannel(model: ChannelModel): Promise<Channel | ConfirmChannel> {
    if (!this.pubChannel) {
      const p = (this.options.confirmPublish ? model.createConfirmChannel() : model.createChannel()).then((ch) => {
        const state = ch as Channel & { celeriacError?: Error };
        ch.on("error", (e: Error) => {
          state.celeriacError = e;
        });
        ch.on("close", () => {
          if (this.pubChannel === p) this.pubChannel = null;
        });
        return ch;
      });
      p.catch(() => {
        if (this.pubChannel === p) this.pubChannel = null;
      });
      this.pubChannel = p;
    }
    return this.pubChannel;
  }

  /**
   * basic.publish and, with confirms, wait for basic.ack. Retried on the next connection when the
   * connection is lost before the confirm; bounded by publishTimeout.
   */
  async publish(exchange: string, routingKey: string, body: Buffer, props: Options.Publish): Promise<void> {
    const what = `publish to exchange '${exchange}' routing key '${routingKey}'`;
    const deadline = Date.now() + this.options.publishTimeout * 1000;
    for (;;) {
      const model = await this.getBefore(deadline, what);
      let ch: Channel | ConfirmChannel;
      try {
        ch = await this.publishChannel(model);
      } catch (err) {
        if (this.model === model) throw err;
        continue; // connection died while opening the channel
      }
      try {
        await this.publishOn(ch, exchange, routingKey, body, props);
        return;
      } catch (err) {
        await new Promise((r) => setImmediate(r));
        if (this.closed) throw err;
        if (this.model === model) {
          // the connection is fine: a nack or a channel error (unknown exchange, ...)
          const chErr = (ch as Channel & { celeriacError?: Error }).celeriacError;
          throw new Error(`${what} failed: ${(chErr ?? (err as Error)).message}`);
        }
        if (Date.now() >= deadline) {
          throw new PublishTimeoutError(`${what}: connection lost before the broker confirmed the message and not restored within ${this.options.publishTimeout}s (publishTimeout)`);
        }
        // connection lost before the confirm: publish again on the next connection
      }
    }
  }

  private publishOn(ch: Channel | ConfirmChannel, exchange: string, routingKey: string, body: Buffer, props: Options.Publish): Promise<void> {
    if (!this.options.confirmPublish) {
      ch.publish(exchange, routingKey, body, props);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      try {
        (ch as ConfirmChannel).publish(exchange, routingKey, body, props, (err) => (err ? reject(err) : resolve()));
      } catch (err) {
        reject(err); // channel already closed
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const model = this.model;
    this.model = null;
    this.pubChannel = null;
    if (model) await model.close().catch(() => undefined);
    // a connect loop still running notices `closed` and closes what it opens
  }
}
