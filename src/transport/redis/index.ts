/**
 * kombu-compatible Redis transport (docs/protocol.md §5): lists per queue and priority bucket, bindings in
 * `_kombu.binding.<exchange>` sets, ack emulation in `unacked`/`unacked_index`, fanout over
 * PUB/SUB. See README-style notes in the file headers of envelope.ts, scripts.ts, consumer.ts.
 */
import { randomUUID } from "node:crypto";
import type Redis from "ioredis";
import type { RedisOptions } from "ioredis";
import type { ConnectionOptions } from "node:tls";
import type { RawMessage } from "../../protocol/message";
import type { ConsumeOptions, Consumer, PublishItem, PublishTarget, QueueDeclaration, Transport } from "../types";
import { RedisConsumer, type ConsumerHost } from "./consumer";
import { BadEnvelopeError, decodeEnvelope, encodeEnvelope, restorableFromUnacked } from "./envelope";
import {
  bindingKey,
  bindingMember,
  bucketKeys,
  fanoutChannel,
  fanoutSubscribePattern,
  parseBindingMember,
  queueForPriority,
  routeThroughBindings,
  routingKeyFromChannel,
  topicKeyToPattern,
  type Binding,
} from "./keys";
import { resolveOptions, type RedisTransportOptions, type ResolvedRedisTransportOptions } from "./options";
import { connectRedisClient, followRedisClient, newRedisClient } from "../../connectivity/redis";
import { isSentinelUrl, sentinelRedisOptions } from "../../connectivity/sentinel";
import { ConnectionStateEmitter, type ConnectionStateListener } from "../../connectivity/state";
import { ACK_BATCH, TRACK_BATCH, UNPIPELINED_COMMANDS, defineTransportScripts, type ScriptedRedis } from "./scripts";
import { TickBatch } from "../tick-batch";
import { restoreDeadHeld, restoreHeld, sendTracks, type HeldEntry } from "./held";

export type { RedisTransportOptions } from "./options";
export { RedisDelivery, RedisConsumer } from "./consumer";
export { BadEnvelopeError, encodeEnvelope, decodeEnvelope } from "./envelope";

/** One single publish's LPUSH, waiting for its turn's pipeline. */
interface Push {
  key: string;
  text: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Publishing to a named exchange whose bindings route the routing key nowhere. */
export class UndeliverableError extends Error {
  constructor(exchange: string, routingKey: string) {
    super(`Message could not be delivered: no queue bound to exchange '${exchange}' with routing key '${routingKey}'`);
    this.name = "UndeliverableError";
  }
}

type ExchangeType = "direct" | "topic" | "fanout";

type FanoutCallback = (message: RawMessage, routingKey: string) => void;

export class RedisTransport implements Transport, ConsumerHost {
  readonly name = "redis" as const;
  readonly options: ResolvedRedisTransportOptions;
  private readonly url: string;
  private readonly tls: (() => ConnectionOptions) | null;
  /** ioredis options reaching the master through the sentinels (sentinel:// URL), else null. */
  private readonly sentinel: RedisOptions | null;
  private _cmd: ScriptedRedis | null = null;
  private sub: Redis | null = null;
  private subReady: Promise<void> | null = null;
  private readonly patterns = new Map<string, Set<FanoutCallback>>();
  private readonly exchangeTypes = new Map<string, ExchangeType>();
  private readonly consumers = new Set<RedisConsumer>();
  private readonly blockingConnections = new Set<Redis>();
  private closed = false;
  private epoch = 0;
  private readonly connectionState = new ConnectionStateEmitter();
  /** The connection flushAcks sends the acks on, while it runs (else the command connection). */
  private ackVia: ScriptedRedis | null = null;
  /**
   * Acks of one turn of the event loop: one script call (ZREM + HDEL of every tag), sent at the
   * end of the turn (after the results stored in it: a write can cost a context switch, and the
   * result is what a client waits for) or before the next FETCH or BLMOVE.
   */
  private readonly acks = new TickBatch<string>(
    async (tags) => {
      await (this.ackVia ?? this.cmd).celeriacAck(this.key(this.options.unackedKey), this.key(this.options.unackedIndexKey), ...tags);
    },
    ACK_BATCH,
    true,
  );

  /**
   * Tracks of the messages wakes popped into held lists, gathered like the acks (and sent before
   * them, on the same connection): one script call per turn.
   */
  private readonly tracks = new TickBatch<HeldEntry>((items) => sendTracks(this, this.ackVia ?? this.cmd, items), TRACK_BATCH, true);

  /**
   * The LPUSHes of single publishes: those of one turn go out in one pipeline, and one that follows
   * a lone one is written at once (a client sending one task at a time waits for no other event).
   * LPUSH is not auto-pipelined: ioredis builds a pipeline per turn for it and writes it on
   * `setImmediate`.
   */
  private readonly pushes = new TickBatch<Push>((items) => this.pushAll(items), 1000, false, true);

  /**
   * `tls`: node:tls options of a TLS link (createTransport builds them from broker_use_ssl and the
   * URL's ssl_* parameters), called when a connection is made; `redisOptions.tls` wins over it.
   */
  constructor(url: string, options?: RedisTransportOptions, tls?: () => ConnectionOptions) {
    this.url = url;
    this.options = resolveOptions(url, options);
    this.tls = tls ?? null;
    this.sentinel = isSentinelUrl(url) ? sentinelRedisOptions(url, options ?? {}, "broker_transport_options") : null;
  }

  /** A new connection to the broker (its master, through the sentinels, for sentinel://): TLS, then `options`, then the caller's redisOptions. */
  private newClient(options: RedisOptions, last: RedisOptions = {}): Redis {
    return newRedisClient(this.url, this.sentinel, { ...(this.tls ? { tls: this.tls() } : {}), ...options, ...this.options.redisOptions, ...last });
  }

  // ------------------------------------------------------------------ connections

  /**
   * The command connection (auto-pipelined), except FETCH, ACK and LPUSH: their calls are batched
   * already (an ACK per turn of the event loop, sent before each FETCH; the publishes' LPUSHes per
   * turn), and ioredis defers an auto-pipelined call to `setImmediate`, a wait on the path of every
   * round trip.
   */
  get cmd(): ScriptedRedis {
    if (!this._cmd) {
      if (this.closed) throw new Error("RedisTransport is closed");
      this._cmd = defineTransportScripts(
        this.newClient({ lazyConnect: true, enableAutoPipelining: true, autoPipeliningIgnoredCommands: [...UNPIPELINED_COMMANDS] }),
      );
      this._cmd.on("error", () => {
        /* reconnects by itself; command errors reach their callers */
      });
      this._cmd.on("close", () => this.epoch++);
      // The command connection stands for the transport's: lost/reconnected are told from it.
      followRedisClient(this._cmd, this.url, this.connectionState, () => this.closed);
    }
    return this._cmd;
  }

  /** How many times the command connection closed (ConsumerHost: a fetch that spans a close may have been cut). */
  get connectionEpoch(): number {
    return this.epoch;
  }

  /** True while the command connection is up. */
  get connected(): boolean {
    return this._cmd?.status === "ready";
  }

  /** Follow the connection state (lost / failed reconnects / connected again). */
  onConnectionState(listener: ConnectionStateListener): () => void {
    return this.connectionState.on(listener);
  }

  /** A connection for blocking commands (BLMOVE, BRPOP), with the transport's scripts (a FETCH follows a BLMOVE). */
  newBlockingConnection(): ScriptedRedis {
    const conn = defineTransportScripts(this.newClient({ maxRetriesPerRequest: null }, { enableAutoPipelining: false }));
    conn.on("error", () => {
      /* the consume loop reports failed commands */
    });
    conn.on("end", () => this.blockingConnections.delete(conn));
    this.blockingConnections.add(conn);
    return conn;
  }

  key(name: string): string {
    return this.options.globalKeyprefix + name;
  }

  /** Ack a delivered message: ZREM unacked_index + HDEL unacked, with the other acks of this turn of the event loop. */
  ack(deliveryTag: string): Promise<void> {
    return this.acks.add(deliveryTag);
  }

  /** Record a message a wake popped into a held list in `unacked`, with the other tracks of this turn (ConsumerHost). */
  track(entry: HeldEntry): Promise<void> {
    return this.tracks.add(entry);
  }

  /** Send the tracks and acks gathered in this turn of the event loop now, on `via` if given (in the same write as a BLMOVE). */
  flushAcks(via?: ScriptedRedis): void {
    this.ackVia = via ?? null;
    try {
      this.tracks.flush();
      this.acks.flush();
    } finally {
      this.ackVia = null;
    }
  }

  /**
   * Connect the command connection and PING, once (Redis has no connect retry of its own: the
   * worker retries). A failure is a ConnectionFailure with the reason, and the next call starts
   * on a fresh connection.
   */
  async connect(): Promise<void> {
    const cmd = this.cmd;
    try {
      await connectRedisClient(cmd, this.url);
    } catch (err) {
      if (this._cmd === cmd) this._cmd = null;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.consumers].map((c) => c.cancel()));
    this.tracks.flush(); // before the acks: an ack after its track waits for it
    this.acks.flush();
    this.pushes.flush();
    this.closed = true;
    for (const c of this.blockingConnections) c.disconnect();
    this.blockingConnections.clear();
    const sub = this.sub;
    this.sub = null;
    this.subReady = null;
    this.patterns.clear();
    if (sub) await sub.quit().catch(() => sub.disconnect());
    const cmd = this._cmd;
    this._cmd = null;
    if (cmd) {
      if (cmd.status === "wait") cmd.disconnect();
      else await cmd.quit().catch(() => cmd.disconnect());
    }
  }

  // ------------------------------------------------------------------ topology

  /**
   * kombu queue_declare + queue_bind: SADD `_kombu.binding.<exchange>` member
   * `<routing_key>␆␖<pattern>␆␖<queue>` (exchange and routing key default to the queue name;
   * pattern is the regex kombu derives for topic exchanges, empty otherwise).
   */
  async declareQueue(queue: QueueDeclaration): Promise<void> {
    const exchange = queue.exchange ?? queue.name;
    const routingKey = queue.routingKey ?? queue.name;
    const type: ExchangeType = queue.exchangeType ?? "direct";
    if (exchange === "") return; // the anonymous exchange routes by queue name, no binding
    this.exchangeTypes.set(exchange, type);
    const pattern = type === "topic" ? topicKeyToPattern(routingKey) : "";
    await this.cmd.sadd(this.key(bindingKey(exchange)), bindingMember(routingKey, pattern, queue.name, this.options.sep));
  }

  /** The binding table of an exchange. */
  async bindings(exchange: string): Promise<Binding[]> {
    const members = await this.cmd.smembers(this.key(bindingKey(exchange)));
    const out: Binding[] = [];
    for (const m of members) {
      const b = parseBindingMember(m, this.options.sep);
      if (b) out.push(b);
    }
    return out;
  }

  /** kombu `_lookup`: "" → [routing key]; a named exchange → the bound queues it matches. */
  async lookup(exchange: string, routingKey: string): Promise<string[]> {
    if (!exchange) return routingKey ? [routingKey] : [];
    const type = this.exchangeTypes.get(exchange);
    return routeThroughBindings(await this.bindings(exchange), routingKey, type === "fanout" ? undefined : type);
  }

  // ------------------------------------------------------------------ publishing

  /**
   * LPUSH the envelope to the queue's priority bucket (with the other single publishes of the turn,
   * see `pushes`; each resolves or rejects with its own LPUSH). A named exchange is resolved through its
   * binding set (kombu drops an unroutable message with a warning; we reject with
   * UndeliverableError so the caller knows). An exchange declared fanout here is broadcast.
   */
  async publish(message: RawMessage, target: PublishTarget): Promise<void> {
    const { exchange, routingKey } = target;
    if (exchange && this.exchangeTypes.get(exchange) === "fanout") return this.broadcast(exchange, routingKey, message);
    const queues = await this.lookup(exchange, routingKey);
    if (queues.length === 0) throw new UndeliverableError(exchange, routingKey);
    const env = encodeEnvelope(message, exchange, routingKey, target.priority);
    const { prioritySteps, sep } = this.options;
    if (queues.length === 1) {
      const key = this.key(queueForPriority(queues[0], env.priority, prioritySteps, sep));
      return new Promise<void>((resolve, reject) => void this.pushes.add({ key, text: env.text, resolve, reject }));
    }
    const multi = this.cmd.multi();
    for (const q of queues) multi.lpush(this.key(queueForPriority(q, env.priority, prioritySteps, sep)), env.text);
    await multi.exec();
  }

  /** LPUSH each item (one pipeline for several); each item's own outcome settles it. Never rejects. */
  private async pushAll(items: Push[]): Promise<void> {
    try {
      if (items.length === 1) {
        await this.cmd.lpush(items[0].key, items[0].text);
        items[0].resolve();
        return;
      }
      const pipeline = this.cmd.pipeline();
      for (const { key, text } of items) pipeline.lpush(key, text);
      const results = (await pipeline.exec()) ?? [];
      items.forEach((item, i) => {
        const err = results[i]?.[0];
        if (err) item.reject(err);
        else item.resolve();
      });
    } catch (err) {
      for (const item of items) item.reject(err);
    }
  }

  /**
   * `publish` for several messages in one pipeline (one round trip), LPUSHed in order. Every
   * route is checked first: an unroutable message rejects with nothing sent. Unlike `publish`, a
   * message bound to several queues is not pushed to them atomically (no MULTI).
   */
  async publishMany(messages: readonly PublishItem[]): Promise<void> {
    const lookups = new Map<string, Promise<string[]>>();
    const routes = await Promise.all(
      messages.map(async ({ target: { exchange, routingKey } }) => {
        if (exchange && this.exchangeTypes.get(exchange) === "fanout") return null;
        const key = `${exchange}\u0000${routingKey}`;
        let queues = lookups.get(key);
        if (!queues) lookups.set(key, (queues = this.lookup(exchange, routingKey)));
        return queues;
      }),
    );
    messages.forEach(({ target }, i) => {
      if (routes[i]?.length === 0) throw new UndeliverableError(target.exchange, target.routingKey);
    });
    const { prioritySteps, sep } = this.options;
    const pipeline = this.cmd.pipeline();
    const broadcasts: Promise<void>[] = [];
    messages.forEach(({ message, target }, i) => {
      const queues = routes[i];
      if (!queues) return void broadcasts.push(this.broadcast(target.exchange, target.routingKey, message));
      const env = encodeEnvelope(message, target.exchange, target.routingKey, target.priority);
      for (const q of queues) pipeline.lpush(this.key(queueForPriority(q, env.priority, prioritySteps, sep)), env.text);
    });
    if (pipeline.length > 0) {
      for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
    }
    await Promise.all(broadcasts);
  }

  // ------------------------------------------------------------------ consuming

  /**
   * Start consuming. Adds `ConsumeOptions.capacity()` support: when given, one round trip fetches
   * up to min(capacity(), fetchBatchSize) messages; else one message per round trip.
   */
  async consume(options: ConsumeOptions): Promise<Consumer> {
    await this.connect();
    const consumer = new RedisConsumer(this, options);
    this.consumers.add(consumer);
    consumer.start();
    return consumer;
  }

  consumerClosed(consumer: RedisConsumer): void {
    this.consumers.delete(consumer);
  }

  /**
   * kombu restore_visible: under the `unacked_mutex` lock (SET NX PX), every unacked entry older
   * than visibilityTimeout is put back with RPUSH (front of the queue) to the queues its stored
   * exchange/routing key resolve to (priority bucket kept, as current kombu does), with
   * headers.redelivered and properties.delivery_info.redelivered set. Entries that cannot be read
   * or routed are moved to the bad-envelope list. Then, with the mutex released, the held lists of
   * consumers past their deadline are put back the same way (held.ts). Returns how many were
   * restored (0 when another process holds the mutex).
   */
  async restoreVisible(onError?: (err: Error, raw: string | null) => void): Promise<number> {
    const o = this.options;
    const report = onError ?? ((e: Error, raw: string | null) => o.onError(e, raw));
    const cmd = this.cmd;
    const mutex = this.key(o.unackedMutexKey);
    const token = randomUUID().replace(/-/g, "");
    const locked = await cmd.set(mutex, token, "PX", Math.round(o.unackedMutexExpire * 1000), "NX");
    if (locked !== "OK") return 0;
    let restored = 0;
    try {
      const ceil = (Date.now() / 1000 - o.visibilityTimeout).toFixed(7);
      const limit = o.unackedRestoreLimit;
      const page = limit === null ? 200 : Math.min(200, limit);
      let handled = 0;
      const skipped = new Set<string>();
      for (;;) {
        const tags = await cmd.zrevrangebyscore(this.key(o.unackedIndexKey), ceil, 0, "LIMIT", skipped.size, page);
        const fresh = tags.filter((t) => !skipped.has(t));
        if (fresh.length === 0) break;
        for (const tag of fresh) {
          const r = await this.restoreTag(tag, ceil, report);
          if (r === 1) restored++;
          if (r === -1) skipped.add(tag);
          handled++;
          if (limit !== null && handled >= limit) return restored;
        }
        if (tags.length < page) break;
      }
    } finally {
      await cmd.celeriacUnlock(mutex, token).catch(() => undefined);
    }
    // outside the mutex: each move is guarded by its own LREM
    return restored + (await restoreDeadHeld(this, report));
  }

  /**
   * Restore the unacked entries recorded under exactly `score` (one fetch's) but for the `held`
   * tags: what a fetch whose answer was lost with its connection took (ConsumerHost).
   */
  async restoreFetched(score: string, held: ReadonlySet<string>, onError: (err: Error, raw: string | null) => void): Promise<number> {
    const tags = await this.cmd.zrangebyscore(this.key(this.options.unackedIndexKey), score, score);
    let restored = 0;
    for (const tag of tags) {
      if (!held.has(tag) && (await this.restoreTag(tag, score, onError)) === 1) restored++;
    }
    return restored;
  }

  /** Put back what the held list `list` holds but for what `keep` claims (ConsumerHost; see held.ts). */
  restoreHeld(list: string, keep: (raw: string) => boolean, onError: (err: Error, raw: string | null) => void): Promise<number> {
    return restoreHeld(this, list, keep, false, onError);
  }

  /** 1 restored, 0 gone, -1 skipped (changed meanwhile). */
  private async restoreTag(tag: string, ceil: string, report: (err: Error, raw: string | null) => void): Promise<number> {
    const o = this.options;
    const unacked = this.key(o.unackedKey);
    const index = this.key(o.unackedIndexKey);
    const value = await this.cmd.hget(unacked, tag);
    if (value === null) {
      await this.cmd.zrem(index, tag);
      return 0;
    }
    let dests: string[];
    let text: string;
    try {
      const entry = restorableFromUnacked(value);
      const queues = await this.lookup(entry.exchange, entry.routingKey);
      if (queues.length === 0) throw new BadEnvelopeError(`unacked message ${tag} routes nowhere (exchange '${entry.exchange}', routing key '${entry.routingKey}')`, value);
      dests = queues.map((q) => this.key(queueForPriority(q, entry.priority, o.prioritySteps, o.sep)));
      text = entry.text;
    } catch (err) {
      // kombu would fail here on every run; keep the value and move on
      await this.cmd.celeriacBad(unacked, index, this.key(o.badEnvelopeKey), tag, value);
      report(new BadEnvelopeError(`${(err as Error).message}; moved to list ${o.badEnvelopeKey}`, value), value);
      return 0;
    }
    return Number(await this.cmd.celeriacRestore(2 + dests.length, unacked, index, ...dests, tag, value, text, ceil));
  }

  /** Transport.restoreUnacked: restore_visible now. */
  restoreUnacked(): Promise<number> {
    return this.restoreVisible();
  }

  // ------------------------------------------------------------------ fanout

  /** PUBLISH the envelope on `<fanout prefix><exchange>[/<routing key>]`. */
  async broadcast(exchange: string, routingKey: string, message: RawMessage): Promise<void> {
    const env = encodeEnvelope(message, exchange, routingKey);
    const channel = fanoutChannel(this.options.fanoutPrefix, exchange, routingKey, this.options.fanoutPatterns);
    await this.cmd.publish(this.key(channel), env.text);
  }

  private subscriber(): Promise<Redis> {
    if (!this.sub) {
      if (this.closed) return Promise.reject(new Error("RedisTransport is closed"));
      const sub = this.newClient({ lazyConnect: true }, { enableAutoPipelining: false });
      sub.on("error", () => {
        /* reconnects and re-subscribes by itself */
      });
      sub.on("pmessage", (pattern: string, channel: string, data: string) => this.onFanout(pattern, channel, data));
      this.sub = sub;
      this.subReady = sub.connect();
    }
    const sub = this.sub;
    return this.subReady!.then(() => sub);
  }

  private onFanout(pattern: string, channel: string, data: string): void {
    const callbacks = this.patterns.get(pattern);
    if (!callbacks || callbacks.size === 0) return;
    let decoded;
    try {
      decoded = decodeEnvelope(data);
    } catch (err) {
      this.options.onError(new Error(`cannot read message on channel ${channel}: ${(err as Error).message}`), data);
      return;
    }
    const unprefixed = channel.startsWith(this.options.globalKeyprefix) ? channel.slice(this.options.globalKeyprefix.length) : channel;
    const routingKey = decoded.routingKey || routingKeyFromChannel(unprefixed);
    for (const cb of [...callbacks]) {
      try {
        cb(decoded.message, routingKey);
      } catch (err) {
        this.options.onError(new Error(`fanout subscriber threw on channel ${channel}: ${(err as Error).message}`), null);
      }
    }
  }

  /**
   * PSUBSCRIBE `<fanout prefix><exchange>[/<pattern with # → *>]` on the shared subscriber
   * connection. Returns the unsubscribe function.
   */
  async subscribe(exchange: string, pattern: string, onMessage: FanoutCallback): Promise<() => Promise<void>> {
    const channelPattern = this.key(fanoutSubscribePattern(this.options.fanoutPrefix, exchange, pattern, this.options.fanoutPatterns));
    const sub = await this.subscriber();
    let set = this.patterns.get(channelPattern);
    const first = !set;
    if (!set) {
      set = new Set();
      this.patterns.set(channelPattern, set);
    }
    const cb: FanoutCallback = (m, rk) => onMessage(m, rk);
    set.add(cb);
    if (first) await sub.psubscribe(channelPattern);
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      const s = this.patterns.get(channelPattern);
      if (!s) return;
      s.delete(cb);
      if (s.size === 0) {
        this.patterns.delete(channelPattern);
        if (this.sub === sub) await sub.punsubscribe(channelPattern).catch(() => undefined);
      }
    };
  }

  // ------------------------------------------------------------------ purge

  /** kombu `_purge`: LLEN + DEL of every bucket of every queue; returns the number removed. */
  async purge(queues: string[]): Promise<number> {
    if (queues.length === 0) return 0;
    const multi = this.cmd.multi();
    for (const q of queues) {
      for (const k of bucketKeys(q, this.options.prioritySteps, this.options.sep)) multi.llen(this.key(k)).del(this.key(k));
    }
    const res = (await multi.exec()) ?? [];
    let total = 0;
    for (let i = 0; i < res.length; i += 2) {
      const [err, n] = res[i];
      if (err) throw err;
      total += Number(n);
    }
    return total;
  }

  /** Messages waiting in a queue (all priority buckets). */
  queueLength(queue: string): Promise<number> {
    return this.size(queue);
  }

  /** Messages waiting in a queue (all buckets). */
  async size(queue: string): Promise<number> {
    const multi = this.cmd.multi();
    for (const k of bucketKeys(queue, this.options.prioritySteps, this.options.sep)) multi.llen(this.key(k));
    const res = (await multi.exec()) ?? [];
    return res.reduce((sum, [err, n]) => sum + (err ? 0 : Number(n)), 0);
  }
}
