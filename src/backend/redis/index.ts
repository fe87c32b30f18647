/**
 * Celery's Redis result backend (docs/protocol.md §7.4, §7.6, §7.7):
 *   task meta  `celery-task-meta-<id>`     SETEX result_expires + PUBLISH on the key name
 *   group meta `celery-taskset-meta-<gid>` `{"result": [[gid, null], [member tuples]]}`
 *   chord join `celery-taskset-meta-<gid>.s/.j/.t`
 * Waiting uses SUBSCRIBE on the key name over one shared subscriber connection (no polling).
 */
import type Redis from "ioredis";
import type { RedisOptions } from "ioredis";
import type { ConnectionOptions } from "node:tls";
import type { ResultBackend } from "../types";
import type { GroupMeta, ResultMeta } from "../../protocol/result-meta";
import { waitOnce } from "../waiter";
import type { Waiter } from "../waiter";
import { READY_STATES, decodeGroupMeta, decodeResultMeta, decodeStoredValue, encodeResultMeta, encodeStoredValue } from "../../protocol/result-meta";
import type { AuthCodec } from "../../protocol/serializers";
import type { WireValue } from "../../protocol/message";
import { pyJsonDumps } from "../../protocol/serializers/json";
import { defineBackendScripts, STORE_BATCH, type ScriptedBackendRedis } from "./scripts";
import { TickBatch } from "../../transport/tick-batch";
import { connectRedisClient, followRedisClient, newRedisClient } from "../../connectivity/redis";
import { isSentinelUrl, sentinelRedisOptions, type SentinelTransportOptions } from "../../connectivity/sentinel";
import { ConnectionStateEmitter, type ConnectionStateListener } from "../../connectivity/state";

export interface RedisBackendOptions {
  /** Seconds a stored value lives (Celery result_expires, 86400). null or 0 = no TTL. */
  resultExpires?: number | null;
  /**
   * Celery 5.3+ `result_backend_transport_options.global_keyprefix`: prepended to every key and
   * channel; "_" is appended unless it already ends in ":", "_", "-" or ".".
   */
  keyPrefix?: string;
  /** Extra ioredis options (their `tls` wins over `tls` below). */
  redisOptions?: RedisOptions;
  /**
   * node:tls options of a TLS link (createBackend builds them from redis_backend_use_ssl and the
   * URL's ssl_* parameters), called when a connection is made.
   */
  tls?: () => ConnectionOptions;
  /** result_serializer "auth": every stored value is signed with it, and verified when read (the app's `setupSecurity()`). */
  auth?: AuthCodec | null;
  /** A sentinel:// URL's options (result_backend_transport_options: masterName, sentinelKwargs). */
  sentinel?: SentinelTransportOptions;
}

/** One GET waiting for its turn's pipeline. */
interface Read {
  key: string;
  resolve: (text: string | null) => void;
  reject: (err: unknown) => void;
}

/** Rejection of waitForReady when the timeout passes. */
export class ResultTimeoutError extends Error {
  constructor(taskId: string, timeoutMs: number) {
    super(`The operation timed out waiting for the result of task ${taskId} (${timeoutMs} ms)`);
    this.name = "TimeoutError";
  }
}

/** Celery's `_add_global_keyprefix` rule. */
export function normalizeKeyPrefix(prefix: string | undefined | null): string {
  if (!prefix) return "";
  return ":_-.".includes(prefix[prefix.length - 1]) ? prefix : prefix + "_";
}


interface Channel {
  waiters: Set<Waiter>;
  /** Followers (`follow`): every state published on the channel. */
  listeners: Set<(meta: ResultMeta) => void>;
  /** Resolves once SUBSCRIBE was acknowledged. */
  subscribed: Promise<unknown>;
  /** A ready state that arrived while nobody waited yet (watched channels). */
  ready?: ResultMeta;
  /** Drops a watched channel nobody came to wait on. */
  expiry?: NodeJS.Timeout;
}

/** A SUBSCRIBE waiting to be sent, and its caller to tell when it is acknowledged. */
interface PendingSubscribe {
  channel: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** Channels per (UN)SUBSCRIBE command: a batch of thousands of tasks is a few commands, none huge. */
const MAX_CHANNELS_PER_COMMAND = 1000;
/** How long channels given up wait to be unsubscribed together. */
const UNSUBSCRIBE_DELAY_MS = 100;

/** Result of onChordPartReturn. */
export interface ChordPartResult {
  /** This call completed the chord (and deleted its .j/.t/.s keys). */
  complete: boolean;
  /** The .j members in group_index order (JSON texts `[1, id, state, result]`) when complete. */
  members: string[];
}

export class RedisBackend implements ResultBackend {
  readonly name = "redis";
  readonly keyPrefix: string;
  /** TTL in whole seconds; 0 = none. */
  readonly expires: number;
  private readonly url: string;
  /** ioredis options of every connection: TLS, then the caller's redisOptions. */
  private readonly clientOptions: () => RedisOptions;
  /** ioredis options reaching the master through the sentinels (sentinel:// URL), else null. */
  private readonly sentinel: RedisOptions | null;
  private _client: ScriptedBackendRedis | null = null;
  private sub: Redis | null = null;
  /** SUBSCRIBEs waiting for the end of the tick, with their callers (see subscribeChannel). */
  private subscribing: PendingSubscribe[] = [];
  /** Channels to UNSUBSCRIBE when the timer fires (see unsubscribeChannel). */
  private readonly unsubscribing = new Set<string>();
  private unsubscribeTimer: NodeJS.Timeout | null = null;
  private readonly channels = new Map<string, Channel>();
  private closed = false;
  private readonly connectionState = new ConnectionStateEmitter();
  private readonly auth: AuthCodec | null;
  private readonly stores = new TickBatch<{ key: string; value: string }>((metas) => this.storeMany(metas), STORE_BATCH, false, true);
  /**
   * The GETs of one turn (a pipeline), one after a lone one at once: GET is not auto-pipelined
   * (ioredis builds a pipeline per turn for it and writes it on `setImmediate`).
   */
  private readonly reads = new TickBatch<Read>((items) => this.readAll(items), 1000, false, true);

  constructor(url: string, options: RedisBackendOptions = {}) {
    this.url = url;
    this.keyPrefix = normalizeKeyPrefix(options.keyPrefix);
    const e = options.resultExpires === undefined ? 86400 : options.resultExpires;
    this.expires = e === null ? 0 : Math.max(0, Math.trunc(e));
    const tls = options.tls;
    this.clientOptions = () => ({ ...(tls ? { tls: tls() } : {}), ...options.redisOptions });
    this.sentinel = isSentinelUrl(url) ? sentinelRedisOptions(url, options.sentinel ?? {}, "result_backend_transport_options") : null;
    this.auth = options.auth ?? null;
  }

  /** A value as this backend stores it (JSON text, or signed with result_serializer "auth"): chord members. */
  encodeValue(value: unknown): string {
    return encodeStoredValue(value, this.auth);
  }

  /** A stored value read back (verified with result_serializer "auth"). */
  decodeValue(text: string): WireValue {
    return decodeStoredValue(text, this.auth);
  }

  private get client(): ScriptedBackendRedis {
    if (!this._client) {
      if (this.closed) throw new Error("RedisBackend is closed");
      // Stores and GETs are batched per turn of the event loop already (stores, reads): sent at
      // once, not deferred to ioredis's auto-pipeline (setImmediate), on the path of every round trip.
      const client = newRedisClient(this.url, this.sentinel, { lazyConnect: true, enableAutoPipelining: true, autoPipeliningIgnoredCommands: ["celeriacStore", "get"], ...this.clientOptions() });
      this._client = defineBackendScripts(client);
      this._client.on("error", () => {
        /* reconnects by itself; command errors reach their callers */
      });
      followRedisClient(this._client, this.url, this.connectionState, () => this.closed);
    }
    return this._client;
  }

  /** Follow the connection state (lost / failed reconnects / connected again). */
  onConnectionState(listener: ConnectionStateListener): () => void {
    return this.connectionState.on(listener);
  }

  /** `celery-task-meta-<id>` with the key prefix. */
  taskKey(taskId: string): string {
    return `${this.keyPrefix}celery-task-meta-${taskId}`;
  }

  /** `celery-taskset-meta-<gid><suffix>` with the key prefix. */
  groupKey(groupId: string, suffix = ""): string {
    return `${this.keyPrefix}celery-taskset-meta-${groupId}${suffix}`;
  }

  /** Connect and PING once; a failure is a ConnectionFailure and the next call starts afresh. */
  async connect(): Promise<void> {
    const c = this.client;
    try {
      await connectRedisClient(c, this.url);
    } catch (err) {
      if (this._client === c) this._client = null;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.stores.flush();
    this.reads.flush();
    this.closed = true;
    for (const ch of this.channels.values()) {
      for (const w of ch.waiters) w.reject(new Error("RedisBackend closed while waiting for a result"));
    }
    this.channels.clear();
    const sub = this.sub;
    this.sub = null;
    for (const p of this.subscribing) p.reject(new Error("RedisBackend closed"));
    this.subscribing = [];
    this.unsubscribing.clear();
    if (this.unsubscribeTimer) clearTimeout(this.unsubscribeTimer);
    this.unsubscribeTimer = null;
    const client = this._client;
    this._client = null;
    for (const conn of [sub, client]) {
      if (!conn) continue;
      if (conn.status === "wait") conn.disconnect();
      else await conn.quit().catch(() => conn.disconnect());
    }
  }

  /**
   * Atomic GET-check (never overwrite SUCCESS) + SETEX + PUBLISH, in one script call with the
   * other stores of this turn of the event loop (in the order they were made).
   */
  store(taskId: string, meta: ResultMeta): Promise<void> {
    let value: string;
    try {
      value = encodeResultMeta(meta, this.auth);
    } catch (err) {
      return Promise.reject(err); // an unencodable meta rejects, as every store failure does
    }
    return this.stores.add({ key: this.taskKey(taskId), value });
  }

  private storeMany(metas: Array<{ key: string; value: string }>): Promise<void> {
    // One array grown by push (not metas.map, whose result's elements kind varies with the batch's
    // size): V8 deoptimized this function on it once per worker.
    const args: Array<string | number> = [];
    for (const m of metas) args.push(m.key);
    args.push(this.expires);
    for (const m of metas) args.push(m.value);
    // not an async function: one promise per batch less (with async_hooks on, every promise costs)
    return this.client.celeriacStore(metas.length, ...args).then(noReply);
  }

  /** GET `key` (with the other reads of this turn); null when absent. */
  private read(key: string): Promise<string | null> {
    return new Promise((resolve, reject) => void this.reads.add({ key, resolve, reject }));
  }

  /** GET each item's key (one pipeline for several); each item's own reply settles it. Never rejects. */
  private async readAll(items: Read[]): Promise<void> {
    try {
      if (items.length === 1) {
        items[0].resolve(await this.client.get(items[0].key));
        return;
      }
      const pipeline = this.client.pipeline();
      for (const { key } of items) pipeline.get(key);
      const results = (await pipeline.exec()) ?? [];
      items.forEach((item, i) => {
        const [err, text] = results[i] ?? [new Error("no reply"), null];
        if (err) item.reject(err);
        else item.resolve(typeof text === "string" ? text : null);
      });
    } catch (err) {
      for (const item of items) item.reject(err);
    }
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    const text = await this.read(this.taskKey(taskId));
    return text === null ? null : decodeResultMeta(text, this.auth);
  }

  async forget(taskId: string): Promise<void> {
    await this.client.del(this.taskKey(taskId));
  }

  // ------------------------------------------------------------------ waiting

  private subscriber(): Redis {
    if (!this.sub) {
      if (this.closed) throw new Error("RedisBackend is closed");
      const sub = newRedisClient(this.url, this.sentinel, { ...this.clientOptions(), enableAutoPipelining: false });
      sub.on("error", () => {
        /* reconnects and re-subscribes by itself */
      });
      sub.on("message", (channel: string, text: string) => this.onMessage(channel, text));
      // After a reconnect, anything published meanwhile was missed: read the keys again.
      let first = true;
      sub.on("ready", () => {
        if (first) {
          first = false;
          return;
        }
        for (const channel of this.channels.keys()) void this.check(channel);
      });
      this.sub = sub;
    }
    return this.sub;
  }

  /**
   * SUBSCRIBE `channel`; resolves once acknowledged. The SUBSCRIBEs asked for in one tick go out
   * as one command (one for a whole batch of tasks), once the subscriber connection is ready (a
   * SUBSCRIBE queued before ioredis's ready check fails with "Connection in subscriber mode" and
   * the subscription would be lost). A pending UNSUBSCRIBE of the channel is dropped: it stays
   * subscribed.
   */
  private subscribeChannel(channel: string): Promise<unknown> {
    const sub = this.subscriber();
    this.unsubscribing.delete(channel);
    return new Promise((resolve, reject) => {
      this.subscribing.push({ channel, resolve, reject });
      if (this.subscribing.length === 1) this.whenSubscriberReady(sub, () => this.flushSubscribes(sub), true);
    });
  }

  /**
   * UNSUBSCRIBE `channel`, lazily: the channels given up within UNSUBSCRIBE_DELAY_MS go out as
   * one command, so a client waiting on one result after another does not pay a command per
   * result. Messages of a channel nobody waits on are ignored meanwhile.
   */
  private unsubscribeChannel(channel: string): void {
    const sub = this.sub;
    if (!sub) return;
    this.unsubscribing.add(channel);
    // on the next tick at the soonest, after any SUBSCRIBE asked for before
    if (this.unsubscribing.size === MAX_CHANNELS_PER_COMMAND) this.whenSubscriberReady(sub, () => this.flushUnsubscribes(sub), true);
    else if (!this.unsubscribeTimer) {
      this.unsubscribeTimer = setTimeout(() => this.whenSubscriberReady(sub, () => this.flushUnsubscribes(sub), false), UNSUBSCRIBE_DELAY_MS);
      this.unsubscribeTimer.unref();
    }
  }

  /** Run `flush` on the next tick when the subscriber is ready, else once it is (one listener: one flush waits at a time). */
  private whenSubscriberReady(sub: Redis, flush: () => void, nextTick: boolean): void {
    if (sub.status !== "ready") sub.once("ready", flush);
    else if (nextTick) process.nextTick(flush);
    else flush();
  }

  private flushSubscribes(sub: Redis): void {
    const pending = this.subscribing;
    this.subscribing = [];
    if (this.sub !== sub) return; // closed meanwhile: close() rejected them
    for (let i = 0; i < pending.length; i += MAX_CHANNELS_PER_COMMAND) {
      const run = pending.slice(i, i + MAX_CHANNELS_PER_COMMAND);
      const acked = sub.subscribe(...run.map((p) => p.channel));
      for (const p of run) acked.then(p.resolve, p.reject);
    }
  }

  private flushUnsubscribes(sub: Redis): void {
    if (this.unsubscribeTimer) clearTimeout(this.unsubscribeTimer);
    this.unsubscribeTimer = null;
    const channels = [...this.unsubscribing];
    this.unsubscribing.clear();
    if (this.sub !== sub || channels.length === 0) return;
    // commands run in order on the connection: a later SUBSCRIBE of one of them wins
    for (let i = 0; i < channels.length; i += MAX_CHANNELS_PER_COMMAND) {
      sub.unsubscribe(...channels.slice(i, i + MAX_CHANNELS_PER_COMMAND)).catch(() => undefined);
    }
  }

  private onMessage(channel: string, text: string): void {
    const ch = this.channels.get(channel);
    if (!ch) return;
    let meta: ResultMeta;
    try {
      meta = decodeResultMeta(text, this.auth);
    } catch {
      return;
    }
    for (const listener of [...ch.listeners]) listener(meta);
    if (READY_STATES.has(meta.status)) this.settle(channel, meta);
  }

  private settle(channel: string, meta: ResultMeta): void {
    const ch = this.channels.get(channel);
    if (!ch) return;
    if (ch.waiters.size === 0) ch.ready = meta;
    for (const w of [...ch.waiters]) w.resolve(meta);
  }

  /**
   * Subscribe to a task's channel as it is sent (Celery's `on_task_call`), so that a later
   * `waitForReady` needs no SUBSCRIBE round trip. Dropped after `ttlMs` if nobody waits on it.
   */
  watch(taskId: string, ttlMs = 60000): void {
    const channel = this.taskKey(taskId);
    if (this.channels.has(channel) || this.closed) return;
    const ch: Channel = { waiters: new Set(), listeners: new Set(), subscribed: this.subscribeChannel(channel) };
    ch.subscribed.catch(() => undefined);
    ch.expiry = setTimeout(() => {
      if (this.channels.get(channel) === ch && ch.waiters.size === 0 && ch.listeners.size === 0) {
        this.channels.delete(channel);
        this.unsubscribeChannel(channel);
      }
    }, ttlMs);
    ch.expiry.unref();
    this.channels.set(channel, ch);
  }

  /** GET the key of a channel and wake its waiters when it is ready. */
  private async check(channel: string): Promise<void> {
    try {
      const text = await this.read(channel);
      if (text === null) return;
      const meta = decodeResultMeta(text, this.auth);
      for (const listener of [...(this.channels.get(channel)?.listeners ?? [])]) listener(meta);
      if (READY_STATES.has(meta.status)) this.settle(channel, meta);
    } catch (err) {
      const ch = this.channels.get(channel);
      if (ch) for (const w of [...ch.waiters]) w.reject(err as Error);
    }
  }

  private removeWaiter(channel: string, waiter: Waiter): void {
    const ch = this.channels.get(channel);
    if (!ch) return;
    ch.waiters.delete(waiter);
    this.dropIfUnused(channel, ch);
  }

  private dropIfUnused(channel: string, ch: Channel): void {
    if (ch.waiters.size === 0 && ch.listeners.size === 0 && this.channels.get(channel) === ch) {
      this.channels.delete(channel);
      this.unsubscribeChannel(channel);
    }
  }

  /** The channel of a key, subscribed (created when nobody listens to it yet); its expiry cleared. */
  private openChannel(channel: string): Channel {
    let ch = this.channels.get(channel);
    if (!ch) {
      ch = { waiters: new Set(), listeners: new Set(), subscribed: this.subscribeChannel(channel) };
      this.channels.set(channel, ch);
    }
    if (ch.expiry) clearTimeout(ch.expiry);
    return ch;
  }

  /**
   * Every state published for the task (see ResultBackend.follow): SUBSCRIBE, then GET the stored
   * one, given unless a published state arrived first.
   */
  follow(taskId: string, listener: (meta: ResultMeta) => void, onError: (err: Error) => void): () => void {
    const channel = this.taskKey(taskId);
    const ch = this.openChannel(channel);
    let heard = false;
    let stopped = false;
    const each = (meta: ResultMeta): void => {
      heard = true;
      listener(meta);
    };
    ch.listeners.add(each);
    ch.subscribed.then(
      async () => {
        if (stopped) return;
        try {
          const text = await this.read(channel);
          if (text !== null && !heard && !stopped) each(decodeResultMeta(text));
        } catch (err) {
          if (!stopped) onError(err as Error);
        }
      },
      (err: Error) => {
        if (!stopped) onError(err);
      },
    );
    return () => {
      if (stopped) return;
      stopped = true;
      ch.listeners.delete(each);
      this.dropIfUnused(channel, ch);
    };
  }

  /**
   * Resolve with the meta once the task is ready (SUCCESS/FAILURE/REVOKED): SUBSCRIBE to the key
   * name first, then GET to close the race. Rejects with an error named "TimeoutError" after
   * `timeoutMs` (null = wait forever).
   */
  waitForReady(taskId: string, timeoutMs: number | null): Promise<ResultMeta> {
    const channel = this.taskKey(taskId);
    return waitOnce(timeoutMs, () => new ResultTimeoutError(taskId, timeoutMs ?? 0), (w) => this.removeWaiter(channel, w), (waiter) => {
      const ch = this.openChannel(channel);
      ch.waiters.add(waiter);
      if (ch.ready) return waiter.resolve(ch.ready);
      ch.subscribed.then(
        async () => {
          if (waiter.done()) return;
          try {
            const text = await this.read(channel);
            if (text === null || waiter.done()) return;
            const meta = decodeResultMeta(text, this.auth);
            if (READY_STATES.has(meta.status)) waiter.resolve(meta);
          } catch (err) {
            waiter.reject(err as Error);
          }
        },
        (err: Error) => waiter.reject(err),
      );
    });
  }

  // ------------------------------------------------------------------ groups

  /** `GroupResult.save()`: SETEX + PUBLISH `{"result": [[gid, null], [member tuples]]}`. */
  async saveGroup(groupId: string, meta: GroupMeta): Promise<void> {
    const key = this.groupKey(groupId);
    const value = encodeResultMeta({ result: meta.result }, this.auth);
    const multi = this.client.multi();
    if (this.expires > 0) multi.setex(key, this.expires, value);
    else multi.set(key, value);
    multi.publish(key, value);
    const res = await multi.exec();
    for (const [err] of res ?? []) if (err) throw err;
  }

  async restoreGroup(groupId: string): Promise<GroupMeta | null> {
    const text = await this.read(this.groupKey(groupId));
    if (text === null) return null;
    return decodeGroupMeta(text, this.auth);
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.client.del(this.groupKey(groupId));
  }

  // ------------------------------------------------------------------ chords (native join)

  /** Celery `set_chord_size`: SETEX + PUBLISH `celery-taskset-meta-<gid>.s` = size. */
  async setChordSize(groupId: string, size: number): Promise<void> {
    const key = this.groupKey(groupId, ".s");
    const multi = this.client.multi();
    if (this.expires > 0) multi.setex(key, this.expires, String(size));
    else multi.set(key, String(size));
    multi.publish(key, String(size));
    const res = await multi.exec();
    for (const [err] of res ?? []) if (err) throw err;
  }

  /**
   * One finished header task (Celery on_chord_part_return, ordered zset mode), atomically.
   * `member` is the JSON text `[1, "<task id>", "<state>", <encoded result>]`
   * (see chordMember), signed with result_serializer "auth" (`encodeValue`). Returns whether this call completed the chord, with every member.
   */
  async onChordPartReturn(groupId: string, groupIndex: number | null, member: string): Promise<ChordPartResult> {
    const res = await this.client.celeriacChordPart(
      this.groupKey(groupId, ".j"),
      this.groupKey(groupId, ".t"),
      this.groupKey(groupId, ".s"),
      groupIndex === null || groupIndex === undefined ? "+inf" : String(groupIndex),
      member,
      this.expires,
    );
    if (Number(res[0]) !== 1) return { complete: false, members: [] };
    return { complete: true, members: res.slice(1).map(String) };
  }
}

/** The `.j` member Celery writes: json.dumps([1, task_id, state, encoded_result]). */
export function chordMember(taskId: string, state: string, encodedResult: unknown): string {
  return pyJsonDumps([1, taskId, state, encodedResult]);
}

function noReply(): void {
  /* a store's callers only wait for Redis's answer */
}
