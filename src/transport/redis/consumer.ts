/**
 * The consume loop of the Redis transport.
 *
 * While `hasCapacity()` is true and messages are waiting, one FETCH script call pops up to
 * min(capacity(), fetchBatchSize) messages (bucket-major, round robin over the queues) and
 * records them in `unacked`/`unacked_index` atomically. Without capacity the loop sleeps until
 * `poke()`.
 *
 * When the queues are empty the loop waits: one BLMOVE per bucket key (queues × priority steps),
 * each on its own dedicated connection, created lazily and reused.
 * - **The wake pops.** The first key's BLMOVE (while there is room) moves the oldest message
 *   straight into the consumer's own held list (`<heldKey>.<consumer id>`, held.ts): its reply is
 *   the message, handed over at once, with no second round trip. A track call (sent with the
 *   turn's acks, before them) then records it in `unacked`/`unacked_index` as a FETCH does; one
 *   acked before that (the default, acks early) only leaves the held list. An LLEN behind the
 *   BLMOVE tells whether more wait on that key: then the loop FETCHes, else it waits again. So a
 *   message is always in its list, a held list or `unacked`: a SIGKILL at any instant loses
 *   nothing (kombu's BRPOP-then-HSET gap is gone). What a pop brings beyond the room left, or
 *   after cancel, goes back to the front of its list; what its connection's loss may have left in
 *   the held list goes back before the next pop; the held lists of consumers silent for the
 *   visibility timeout are put back by restore_visible.
 * - **The other keys rotate.** Their BLMOVE returns once the list is non-empty and puts the
 *   element it took back where it was (RIGHT to RIGHT: the order is unchanged), waking the loop,
 *   which FETCHes; one that times out is re-issued without waking it (queue changes wake it
 *   through `addQueue`/`removeQueue`).
 *
 * A FETCH that pops fewer messages than it asked for found the lists empty, so the loop waits
 * next instead of fetching again; freed capacity (`poke()`) does not wake a loop waiting for
 * messages. Side effects:
 * - idle consumers blocked on the first key are served one per message; those blocked on the
 *   others all wake, race on FETCH, and the losers block again;
 * - a consumer holds one extra connection per bucket key it waits on (4 per queue by default).
 *
 * Redis < 6.2 has no BLMOVE: the loop then falls back to kombu's
 * `BRPOP q1 q2 … q1␆␖3 … <pollTimeout>` on one dedicated connection and records the message right
 * after — the gap kombu also has, warned about once.
 */
import { randomUUID } from "node:crypto";
import type Redis from "ioredis";
import type { ConsumeOptions, Consumer, Delivery } from "../types";
import type { RawMessage } from "../../protocol/message";
import { BadEnvelopeError, decodeEnvelope, redeliveredEnvelope, unackedValue, unreadableReason } from "./envelope";
import { bucketKeys, queueForPriority } from "./keys";
import type { ResolvedRedisTransportOptions } from "./options";
import type { ScriptedRedis } from "./scripts";
import { HeldEntry, nowSeconds } from "./held";

/** What the consumer needs from its transport. */
export interface ConsumerHost {
  readonly options: ResolvedRedisTransportOptions;
  readonly cmd: ScriptedRedis;
  /** True while the command connection is up (errors while it is down are not reported). */
  readonly connected: boolean;
  /** Prefix a key with the global key prefix. */
  key(name: string): string;
  /** Ack a delivered message (with the others acked in the same turn of the event loop). */
  ack(deliveryTag: string): Promise<void>;
  /** Record a message a wake popped into a held list in `unacked` (with the turn's other tracks, before its acks). */
  track(entry: HeldEntry): Promise<void>;
  /** Put back what the held list `list` holds but for what `keep` claims; returns how many. */
  restoreHeld(list: string, keep: (raw: string) => boolean, onError: (err: Error, raw: string | null) => void): Promise<number>;
  /**
   * Send the tracks and acks gathered so far now (before a fetch, so the unacked index it inserts into is
   * small), on `via` if given (a blocking connection, in the same write as its BLMOVE).
   */
  flushAcks(via?: ScriptedRedis): void;
  /** A new connection for blocking commands, with the transport's scripts. */
  newBlockingConnection(): ScriptedRedis;
  /** Restore expired unacked messages now (restore_visible). */
  restoreVisible(onError?: (err: Error, raw: string | null) => void): Promise<number>;
  /** Counts the closes of the command connection: a call that spans one may have been run twice, or run unanswered. */
  readonly connectionEpoch: number;
  /** Restore the unacked entries a fetch recorded under `score` that the consumer does not hold (`held`). */
  restoreFetched(score: string, held: ReadonlySet<string>, onError: (err: Error, raw: string | null) => void): Promise<number>;
  /** Queues a stored exchange/routing key resolves to (kombu `_lookup`). */
  lookup(exchange: string, routingKey: string): Promise<string[]>;
  consumerClosed(consumer: RedisConsumer): void;
}

/** Hosts already warned that their server lacks BLMOVE (warn once per transport). */
const warnedNoBlmove = new WeakSet<ConsumerHost>();

/** A dedicated connection waiting (BLMOVE) on one bucket key. */
interface KeyWaiter {
  readonly conn: ScriptedRedis;
  /** The outstanding BLMOVE, or null when none is. */
  pending: Promise<void> | null;
  /** CLIENT ID of the connection (for CLIENT UNBLOCK), null until known again after a reconnect. */
  id: number | null;
  /** Its outstanding BLMOVE pops into the held list (the wake pops), rather than rotating. */
  popping: boolean;
}

/** The LLEN sent behind a pop: how many more wait on its key (`count` once answered; 1 if it failed). */
interface LeftBehind {
  count: number | null;
  answer: Promise<number> | null;
}

/** Runs `send` with the connection's socket corked: the commands it sends go out in one write. */
function inOneWrite(conn: Redis, send: () => void): void {
  const stream = conn.status === "ready" ? conn.stream : null;
  stream?.cork();
  try {
    send();
  } finally {
    stream?.uncork();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One delivered message; settle it exactly once (later calls are no-ops). */
export class RedisDelivery implements Delivery {
  private settled: Promise<void> | null = null;

  constructor(
    private readonly host: ConsumerHost,
    readonly message: RawMessage,
    readonly queue: string,
    readonly exchange: string,
    readonly routingKey: string,
    readonly redelivered: boolean,
    readonly deliveryTag: string,
    /** The envelope text as popped from the list. */
    readonly raw: string,
    /** Set when a wake popped it into a held list: settling waits for its track. */
    private readonly held: HeldEntry | null = null,
  ) {}

  /** True once acked, rejected or released. */
  get isSettled(): boolean {
    return this.settled !== null;
  }

  /** ZREM unacked_index + HDEL unacked. */
  ack(): Promise<void> {
    return (this.settled ??= this.held ? this.held.ack(() => this.host.ack(this.deliveryTag)) : this.host.ack(this.deliveryTag));
  }

  /** requeue=false: same as ack (kombu). requeue=true: back to the END of the queue (LPUSH) with redelivered flags. */
  reject(requeue: boolean): Promise<void> {
    if (!this.settled) this.settled = requeue ? this.requeue("L") : this.ack();
    return this.settled;
  }

  /**
   * Give an unprocessed message back to the FRONT of its queue (RPUSH, served next), as kombu
   * does for every held message at warm shutdown (restore_unacked).
   */
  release(): Promise<void> {
    if (!this.settled) this.settled = this.requeue("R");
    return this.settled;
  }

  private async requeue(side: "L" | "R"): Promise<void> {
    const h = this.host;
    await this.held?.done; // in `unacked` once its track has answered
    const queues = await h.lookup(this.exchange, this.routingKey);
    const text = redeliveredEnvelope(this.raw);
    const priority = this.message.properties.priority;
    const dests = queues.map((q) => h.key(queueForPriority(q, priority, h.options.prioritySteps, h.options.sep)));
    if (dests.length === 0) dests.push(h.key(h.options.badEnvelopeKey));
    await h.cmd.celeriacRequeue(2 + dests.length, h.key(h.options.unackedKey), h.key(h.options.unackedIndexKey), ...dests, this.deliveryTag, text, side);
  }
}

export class RedisConsumer implements Consumer {
  private queues: string[];
  private cancelled = false;
  private wake: (() => void) | null = null;
  /** True while the loop waits for messages on empty lists (freed capacity then changes nothing). */
  private waitingForMessages = false;
  private loop: Promise<void> = Promise.resolve();
  private restoreTimer: NodeJS.Timeout | null = null;
  private blocking: Redis | null = null;
  /** CLIENT ID of the blocking connection (for CLIENT UNBLOCK), refreshed on every (re)connect. */
  private blockingId: number | null = null;
  /** True while a BRPOP is outstanding (fallback path only). */
  private inBrpop = false;
  /** BLMOVE waiters by full bucket key (see waitForMessages). */
  private readonly waiters = new Map<string, KeyWaiter>();
  /** Set when a BLMOVE returned since the loop last looked: fetch again before blocking. */
  private signalled = false;
  /** The first BLMOVE failure not yet thrown to the loop. */
  private waitError: Error | null = null;
  /** The server has no BLMOVE (Redis < 6.2): wait with BRPOP as kombu. */
  private useBrpop = false;
  /** Keys of the fetch call, rebuilt when queues change. */
  private keyCache: { keys: string[]; byKey: Map<string, string> } | null = null;
  /** Fetches whose connection closed under them (see fetch), with the tags they delivered. */
  private orphanedFetches: Array<{ score: string; held: Set<string> }> = [];
  /** The waiter whose BLMOVE pops into the held list, while it is outstanding, or null. */
  private popper: KeyWaiter | null = null;
  /** The LLEN sent behind the pop that delivered: how many more wait on its key. */
  private popLeft: LeftBehind | null = null;
  /** Nothing waits: the last FETCH popped fewer than it asked for, or the last pop found nothing or left its key empty. */
  private foundEmpty = false;
  /** Sends a held entry's track (HeldEntry). */
  private readonly trackHeld = (entry: HeldEntry): Promise<void> => this.host.track(entry);
  /** This consumer's held list (see held.ts). */
  private readonly heldList: string;
  /** Entries popped and delivered whose track has not answered (a held-list restore keeps them); pruned as it runs. */
  private readonly untracked = new Set<HeldEntry>();
  /** A popping connection closed: what the held list holds and no delivery claims goes back before the next pop. */
  private heldCut = false;
  /** Popped messages going back to their list (cancel waits for them). */
  private readonly givingBack = new Set<Promise<void>>();

  constructor(
    private readonly host: ConsumerHost,
    private readonly opts: ConsumeOptions,
  ) {
    this.queues = [...new Set(opts.queues)];
    if (host.options.queueOrderStrategy === "sorted") this.queues.sort();
    this.heldList = host.key(`${host.options.heldKey}.${randomUUID()}`);
  }

  start(): void {
    const interval = this.host.options.unackedRestoreInterval * 1000;
    this.restoreTimer = setInterval(() => void this.restore(), interval);
    this.restoreTimer.unref?.();
    this.loop = this.run();
  }

  /**
   * Capacity freed. While the loop waits on empty lists (it had room when it began to wait, and
   * nothing is delivered meanwhile) this changes nothing: the BLMOVE waiters wake it for messages.
   */
  poke(): void {
    if (!this.waitingForMessages) this.wakeLoop();
  }

  /** End the loop's current wait (for capacity, messages or queues). */
  private wakeLoop(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async cancel(): Promise<void> {
    if (this.cancelled) return this.loop;
    this.cancelled = true;
    if (this.restoreTimer) clearInterval(this.restoreTimer);
    this.wakeLoop();
    // CLIENT UNBLOCK travels on another connection and can arrive before the BRPOP blocks: repeat it.
    let finished = false;
    const loopDone = this.loop.finally(() => (finished = true));
    while (!finished) {
      this.unblock();
      await Promise.race([loopDone, delay(20)]);
    }
    this.blocking?.disconnect();
    this.blocking = null;
    // a pop still blocking is ended first: what it brings goes back before its connection closes
    await this.endPop();
    await Promise.all(this.givingBack);
    if (this.heldCut) await this.restoreOwnHeld().catch((err: Error) => this.report(new Error(`redis consume error: ${err.message}`), null));
    await this.unregister().catch(() => undefined);
    this.closeWaiters();
    this.host.consumerClosed(this);
  }

  addQueue(queue: string): void {
    if (this.queues.includes(queue)) return;
    this.queues.push(queue);
    if (this.host.options.queueOrderStrategy === "sorted") this.queues.sort();
    this.keyCache = null;
    this.wakeLoop();
    this.unblock();
  }

  removeQueue(queue: string): void {
    this.queues = this.queues.filter((q) => q !== queue);
    this.keyCache = null;
    this.wakeLoop(); // the loop drops the waiters of the removed queue's keys
  }

  get activeQueues(): readonly string[] {
    return this.queues;
  }

  /**
   * End an outstanding BRPOP (fallback path) now with CLIENT UNBLOCK (it returns as a timeout, so
   * no message can be lost — unlike closing the connection). The BLMOVE waiters need no unblock:
   * the loop's wait ends by itself, and closing a BLMOVE connection loses nothing.
   */
  private unblock(): void {
    if (!this.inBrpop || this.blockingId === null) return;
    this.host.cmd.client("UNBLOCK", this.blockingId, "TIMEOUT").catch(() => undefined);
  }

  private report(err: Error, raw: string | Buffer | null): void {
    try {
      if (this.opts.onTransportError) this.opts.onTransportError(err, raw);
      else this.host.options.onError(err, raw);
    } catch {
      /* a failing error handler must not stop the loop */
    }
  }

  private async restore(): Promise<void> {
    if (this.cancelled) return;
    try {
      // alive: this consumer's held list is not put back before this deadline (its own visibility timeout from now)
      const deadline = Date.now() / 1000 + this.host.options.visibilityTimeout;
      await this.host.cmd.zadd(this.host.key(this.host.options.heldKey), deadline.toFixed(3), this.heldList);
      await this.host.restoreVisible((err, raw) => this.report(err, raw));
    } catch (err) {
      this.report(new Error(`restore of unacked messages failed: ${(err as Error).message}`), null);
    }
  }

  /** Fetch keys bucket-major in the current queue order, and key → logical queue. */
  private keys(): { keys: string[]; byKey: Map<string, string> } {
    if (this.keyCache) return this.keyCache;
    const o = this.host.options;
    const keys: string[] = [];
    const byKey = new Map<string, string>();
    const perQueue = this.queues.map((q) => bucketKeys(q, o.prioritySteps, o.sep));
    for (let b = 0; b < o.prioritySteps.length; b++) {
      for (let i = 0; i < this.queues.length; i++) {
        const k = this.host.key(perQueue[i][b]);
        keys.push(k);
        byKey.set(k, this.queues[i]);
      }
    }
    this.keyCache = { keys, byKey };
    return this.keyCache;
  }

  /** kombu round_robin_cycle.rotate: the queue that delivered goes to the end. */
  private rotate(queue: string): void {
    if (this.host.options.queueOrderStrategy !== "round_robin") return;
    const i = this.queues.indexOf(queue);
    if (i < 0 || i === this.queues.length - 1) return;
    this.queues.splice(i, 1);
    this.queues.push(queue);
    this.keyCache = null;
  }

  private waitForPoke(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private room(): number {
    if (!this.opts.hasCapacity()) return 0;
    if (!this.opts.capacity) return 1;
    const n = Math.floor(this.opts.capacity());
    return Math.max(0, Math.min(n, this.host.options.fetchBatchSize));
  }

  private async run(): Promise<void> {
    await this.restore();
    let failures = 0;
    while (!this.cancelled) {
      if (this.queues.length === 0) {
        await this.waitForPoke();
        continue;
      }
      const room = this.room();
      if (room <= 0) {
        const waiting = this.waitForPoke();
        // capacity may have freed between the check and installing the waiter
        if (this.room() > 0) this.wakeLoop();
        await waiting;
        continue;
      }
      try {
        if (this.orphanedFetches.length > 0) await this.restoreOrphans();
        // Fewer than asked for: the lists were empty when the fetch ran, so wait rather than fetch again.
        const empty = this.foundEmpty || (await this.fetch(room)) < room;
        this.foundEmpty = false;
        if (empty && !this.cancelled) {
          if (this.useBrpop) await this.blockingPop();
          else {
            await this.waitForMessages();
            const ended = this.endWait(); // a promise only when the LLEN has not answered yet
            if (ended) await ended;
          }
        }
        failures = 0;
      } catch (err) {
        if (this.cancelled) break;
        failures++;
        // While the connection is down the transport's connection state tells it, once.
        if (this.host.connected) this.report(new Error(`redis consume error: ${(err as Error).message}`), null);
        await delay(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  /**
   * Put back what fetches cut by a lost connection took and never delivered. Such a FETCH may have
   * run on the server whose answer was lost (a master killed, and its replica promoted with the
   * entries), and ioredis resends it after the reconnect: its entries carry the fetch's own score,
   * so those the consumer did not get are found by that score and restored at once, not after the
   * visibility timeout.
   */
  private async restoreOrphans(): Promise<void> {
    while (this.orphanedFetches.length > 0) {
      const { score, held } = this.orphanedFetches[0];
      await this.host.restoreFetched(score, held, (err, raw) => this.report(err, raw));
      this.orphanedFetches.shift();
    }
  }

  /** One FETCH script call; returns how many messages it popped. */
  private async fetch(max: number): Promise<number> {
    const { keys } = this.keys();
    const queues = [...this.queues];
    // Redis runs the acks first: each ZADD of the fetch scans the unacked index (a listpack up
    // to 128 entries, whose scores it parses on every insertion), so it should hold no acked tag.
    this.host.flushAcks();
    // The fetch sees every message a BLMOVE returned for until now; one returning later flags again.
    this.signalled = false;
    const score = nowSeconds();
    const epoch = this.host.connectionEpoch;
    const res = await this.fetchCall(keys, max, score, queues, epoch);
    const held = this.deliver(res, queues, Infinity);
    if (this.host.connectionEpoch !== epoch) this.orphanedFetches.push({ score, held });
    const popped = res.length / 3;
    // Empty the reply once handed over. The promises it was resolved with (ioredis's command and
    // ours) can sit in V8's old space, dead but uncollected until the next full GC, and through them
    // every envelope text of the reply would outlive two scavenges and be promoted: with a full
    // window that was ~30% of the allocation (bench/NOTES.md, "What a drain promotes").
    res.length = 0;
    return popped;
  }

  /**
   * Hand over what a FETCH popped (`res`: queue index, envelope, status), at most `allowed` of
   * them; returns the tags handed over (`delivered`: their deliveries).
   */
  private deliver(res: (string | number)[], queues: string[], allowed: number, delivered?: RedisDelivery[]): Set<string> {
    const o = this.host.options;
    const held = new Set<string>();
    for (let i = 0; i + 2 < res.length; i += 3) {
      const queue = queues[Number(res[i]) - 1];
      const raw = String(res[i + 1]);
      if (Number(res[i + 2]) !== 1) {
        this.report(new BadEnvelopeError(`${unreadableReason(raw, queue)} (queue ${queue}; moved to list ${o.badEnvelopeKey})`, raw), raw);
        continue;
      }
      if (held.size >= allowed) continue;
      this.rotate(queue);
      const d = this.handOver(raw, queue);
      if (d === null) continue;
      held.add(d.deliveryTag);
      delivered?.push(d);
    }
    return held;
  }

  /** The FETCH call itself; an orphaned fetch is remembered when the connection closed meanwhile. */
  private async fetchCall(keys: string[], max: number, score: string, queues: string[], epoch: number): Promise<(string | number)[]> {
    const o = this.host.options;
    try {
      return await this.host.cmd.celeriacFetch(
        3 + keys.length,
        this.host.key(o.unackedKey),
        this.host.key(o.unackedIndexKey),
        this.host.key(o.badEnvelopeKey),
        ...keys,
        max,
        score,
        queues.length,
        ...queues,
      );
    } catch (err) {
      if (this.host.connectionEpoch !== epoch) this.orphanedFetches.push({ score, held: new Set() });
      throw err;
    }
  }

  /**
   * Decode a tracked message, or one popped into the held list (`heldList`: tracked from here),
   * and give it to onDelivery (or park it in the bad list); returns its delivery.
   */
  private handOver(raw: string, queue: string, heldList: string | null = null): RedisDelivery | null {
    let decoded;
    try {
      decoded = decodeEnvelope(raw, queue);
    } catch (err) {
      void this.parkBad(raw, queue, err as Error, heldList);
      return null;
    }
    let held: HeldEntry | null = null;
    if (heldList) {
      held = new HeldEntry(heldList, raw, decoded.deliveryTag, decoded.exchange, decoded.routingKey, this.trackHeld);
      if (this.untracked.size >= 256) for (const e of this.untracked) if (e.settled) this.untracked.delete(e);
      this.untracked.add(held);
    }
    const d = new RedisDelivery(this.host, decoded.message, queue, decoded.exchange, decoded.routingKey, decoded.redelivered, decoded.deliveryTag, raw, held);
    try {
      this.opts.onDelivery(d);
    } catch (err) {
      this.report(new Error(`onDelivery threw for message ${d.deliveryTag} from queue ${queue}: ${(err as Error).message}`), null);
    }
    // after onDelivery's synchronous part: a lone task's result is written before its track is gathered
    if (held) this.startTrack(held);
    return d;
  }

  /** Gather a popped entry's track; a failed one leaves the entry in the held list, put back before the next pop. */
  private startTrack(entry: HeldEntry): void {
    entry.start((err) => {
      this.heldCut = true;
      this.report(new Error(`redis consume error: message ${entry.tag} could not be recorded as unacked: ${(err as Error).message}`), null);
    });
  }

  /** Move a tracked (or held) message the decoder refused from `unacked` (or the held list) to the bad-envelope list, and report it. */
  private async parkBad(raw: string, queue: string, err: Error, heldList: string | null): Promise<void> {
    const o = this.host.options;
    const tag = tagOf(raw);
    try {
      if (heldList) {
        await this.host.cmd.celeriacHeldMove(2, heldList, this.host.key(o.badEnvelopeKey), raw, raw, "L");
      } else if (tag !== null) {
        await this.host.cmd.celeriacBad(this.host.key(o.unackedKey), this.host.key(o.unackedIndexKey), this.host.key(o.badEnvelopeKey), tag, raw);
      }
    } catch (moveErr) {
      // it stays in `unacked` (or the held list): restored later, and refused again then
      if (this.host.connected) this.report(new Error(`redis consume error: ${(moveErr as Error).message}`), null);
      return;
    }
    this.report(new BadEnvelopeError(`${err.message} (queue ${queue}; moved to list ${o.badEnvelopeKey})`, raw), raw);
  }

  /**
   * Wait until a bucket key may hold a message or a queue change or cancel wakes the loop: one BLMOVE
   * per key on its own connection (the first key's pops, while there is room; the others rotate
   * within their list); a BLMOVE still outstanding from an earlier wait is kept. Returns at once if
   * one returned since the last wait. The waits are issued on the next tick, after the acks and
   * result stores of the tasks just handed over (their batches flush on nextTick): a result waited
   * for is not queued behind the BLMOVEs' writes. Not an async function, and no promise per step:
   * it runs once per lone task (with async_hooks on, every promise costs). `endWait` follows it.
   */
  private waitForMessages(): Promise<void> {
    if (this.signalled || this.waitError) return Promise.resolve();
    const woken = this.waitForPoke();
    this.waitingForMessages = true;
    process.nextTick(this.issueWaits);
    return woken;
  }

  /** Issue the waits (waitForMessages, on the next tick); a failure is the wait's error. */
  private readonly issueWaits = (): void => {
    if (this.cancelled) return this.wakeLoop();
    const { keys } = this.keys();
    let dropped = false;
    for (const key of this.waiters.keys()) if (!keys.includes(key)) dropped = true;
    if (dropped || this.heldCut) {
      void this.issueWaitsAfterCleanup(keys);
      return;
    }
    this.issueEach(keys);
  };

  /** The waiters of keys no longer consumed go first (a pop's message back to its list), a cut held list is put back. */
  private async issueWaitsAfterCleanup(keys: string[]): Promise<void> {
    try {
      for (const [key, w] of this.waiters) {
        if (keys.includes(key)) continue;
        if (w === this.popper) await this.endPop(); // what it popped goes back first
        this.waiters.delete(key); // queue no longer consumed (its pending BLMOVE just ends)
        w.conn.disconnect();
      }
      if (this.heldCut && !this.popper && this.room() > 0) await this.restoreOwnHeld();
    } catch (err) {
      if (!this.waitError) this.waitError = err as Error;
      this.wakeLoop();
      return;
    }
    if (this.cancelled) return this.wakeLoop();
    this.issueEach(keys);
  }

  private issueEach(keys: string[]): void {
    for (const key of keys) {
      let w = this.waiters.get(key);
      if (!w) w = this.newWaiter(key);
      if (w.pending) continue;
      if (key === keys[0] && !this.popper && this.room() > 0 && !this.heldCut) this.pop(key, w);
      else w.pending = this.blmove(key, w);
    }
    // a BLMOVE may have failed synchronously, or cancel() come, before now
    if (this.signalled || this.waitError || this.cancelled) this.wakeLoop();
  }

  /**
   * After a wait (waitForMessages): whether the pop left its key empty (the LLEN behind it, whose
   * reply came with the pop's, so mostly known by now: no await), then the wait's error, thrown.
   */
  private endWait(): Promise<void> | void {
    this.waitingForMessages = false;
    this.signalled = false;
    const left = this.popLeft;
    this.popLeft = null;
    if (left && left.count === null) return (left.answer as Promise<number>).then((n) => this.endWaitWith(n));
    return this.endWaitWith(left ? left.count : null);
  }

  private endWaitWith(left: number | null): void {
    if (left !== null) this.foundEmpty = left === 0;
    const err = this.waitError;
    this.waitError = null;
    if (!err || this.cancelled) return;
    if (/unknown command/i.test(err.message)) {
      this.useBrpop = true;
      this.closeWaiters();
      if (!warnedNoBlmove.has(this.host)) {
        warnedNoBlmove.add(this.host);
        this.host.options.onError(
          new Error("the Redis server has no BLMOVE (Redis < 6.2): waiting with BRPOP instead, a message in flight may be lost if the worker is killed (as in kombu)"),
          null,
        );
      }
      return;
    }
    throw err;
  }

  /**
   * One BLMOVE on `key` (rotate within the list). A timeout re-issues it without waking the loop
   * (queue changes wake the loop themselves); a message or an error flags it and wakes the loop.
   */
  private blmove(key: string, w: KeyWaiter): Promise<void> {
    w.popping = false;
    return w.conn.blmove(key, key, "RIGHT", "RIGHT", this.host.options.pollTimeout).then(
      (moved) => {
        if (moved === null && this.waiters.get(key) === w && !this.cancelled) {
          w.pending = this.blmove(key, w);
          return;
        }
        w.pending = null;
        this.signalled = true;
        this.wakeLoop();
      },
      (err: Error) => this.waitFailed(key, w, err),
    );
  }

  private waitFailed(key: string, w: KeyWaiter, err: Error): void {
    if (this.waiters.get(key) === w && !this.cancelled && !this.waitError) this.waitError = err;
    w.pending = null;
    if (this.popper === w) this.popper = null;
    this.signalled = true;
    this.wakeLoop();
  }

  /**
   * The first key's wait (the wake pops): BLMOVE its oldest message into the held list, with an
   * LLEN of the key behind it (how many more wait), after the turn's tracks and acks, all in one
   * write.
   */
  private pop(key: string, w: KeyWaiter): void {
    this.popper = w;
    w.popping = true;
    inOneWrite(w.conn, () => {
      this.host.flushAcks(w.conn);
      const left: LeftBehind = { count: null, answer: null };
      w.pending = w.conn.blmove(key, this.heldList, "RIGHT", "LEFT", this.host.options.pollTimeout).then(
        (raw) => this.popped(key, w, raw, left),
        (err: Error) => this.waitFailed(key, w, err),
      );
      left.answer = w.conn.llen(key).then(
        (n) => (left.count = n),
        () => (left.count = 1),
      );
    });
  }

  /**
   * A pop returned: nothing (it timed out), or a message, handed over at once, or put back to the
   * front of its list when there is no room for it any more, its queue is no longer consumed or
   * the consumer is cancelled.
   */
  private popped(key: string, w: KeyWaiter, raw: string | null, left: LeftBehind): void {
    w.pending = null;
    if (this.popper === w) this.popper = null;
    if (raw === null) {
      this.foundEmpty = true;
    } else {
      const queue = this.keys().byKey.get(key);
      if (queue === undefined || this.cancelled || this.room() <= 0) {
        this.giveBack(key, raw);
      } else {
        this.popLeft = left;
        this.rotate(queue);
        this.handOver(raw, queue, this.heldList);
      }
    }
    this.wakeLoop();
  }

  /** A popped message that is not delivered goes back to the front of its list, unchanged. */
  private giveBack(key: string, raw: string): void {
    const back: Promise<void> = this.host.cmd.celeriacHeldMove(2, this.heldList, key, raw, raw, "R").then(
      () => undefined,
      (err: Error) => {
        this.heldCut = true; // it goes back before the next pop
        this.report(new Error(`redis consume error: ${err.message}`), null);
      },
    );
    this.givingBack.add(back);
    void back.finally(() => this.givingBack.delete(back));
  }

  /** End the pop still blocking with CLIENT UNBLOCK (it returns as a timeout, or with a message, which goes back). */
  private async endPop(): Promise<void> {
    const w = this.popper;
    while (w && this.popper === w && w.pending) {
      if (w.id !== null) this.host.cmd.client("UNBLOCK", w.id, "TIMEOUT").catch(() => undefined);
      await Promise.race([w.pending, delay(20)]);
    }
  }

  /** Leave the registry of held lists when nothing is held any more (else the list is put back after its deadline). */
  private async unregister(): Promise<void> {
    for (const e of this.untracked) if (!e.settled) return;
    if ((await this.host.cmd.llen(this.heldList)) === 0) await this.host.cmd.zrem(this.host.key(this.host.options.heldKey), this.heldList);
  }

  /** Put back what the held list holds and no delivery claims (a pop whose reply was lost with its connection). */
  private async restoreOwnHeld(): Promise<void> {
    this.heldCut = false;
    try {
      const kept = new Set<string>();
      for (const e of this.untracked) if (!e.settled) kept.add(e.raw);
      await this.host.restoreHeld(this.heldList, (raw) => kept.has(raw), (err, raw) => this.report(err, raw));
    } catch (err) {
      this.heldCut = true;
      throw err;
    }
  }

  /** A waiter on `key`: its own connection, whose CLIENT ID is asked for on every (re)connect. */
  private newWaiter(key: string): KeyWaiter {
    const w: KeyWaiter = { conn: this.host.newBlockingConnection(), pending: null, id: null, popping: false };
    const askId = (): void => {
      w.conn.client("ID").then((id) => (w.id = Number(id)), () => undefined);
    };
    w.conn.on("close", () => {
      w.id = null;
      // a pop's reply may be lost: ioredis resends it, and once it has returned, what the held list
      // holds and no delivery claims goes back (restoreOwnHeld, before the next pop)
      if (w.popping && w.pending) this.heldCut = true;
    });
    let connects = 0;
    w.conn.on("ready", () => {
      if (connects++ > 0) askId(); // after a reconnect (ioredis resends the pending BLMOVE first)
    });
    askId();
    this.waiters.set(key, w);
    return w;
  }

  /** Close every BLMOVE connection (an outstanding BLMOVE moves nothing out of its list, so nothing is lost). */
  private closeWaiters(): void {
    for (const w of this.waiters.values()) w.conn.disconnect();
    this.waiters.clear();
  }

  /**
   * kombu's BRPOP over every bucket of every queue (pollTimeout), used when the lists were empty
   * and the server has no BLMOVE (Redis < 6.2).
   */
  private async blockingPop(): Promise<void> {
    const o = this.host.options;
    if (!this.blocking) {
      const conn = this.host.newBlockingConnection();
      let connects = 0;
      conn.on("ready", () => {
        if (connects++ === 0) return;
        this.blockingId = null; // reconnected: a new id (best effort; only speeds up cancel)
        conn.client("ID").then((id) => (this.blockingId = Number(id)), () => undefined);
      });
      this.blocking = conn;
      this.blockingId = Number(await conn.client("ID"));
    }
    const { keys, byKey } = this.keys();
    let reply: [string, string] | null;
    this.inBrpop = true;
    try {
      reply = await this.blocking.brpop(...keys, o.pollTimeout);
    } finally {
      this.inBrpop = false;
    }
    if (!reply) return;
    const [key, raw] = reply;
    const queue = byKey.get(key) ?? stripBucket(key.slice(o.globalKeyprefix.length), o.sep);
    if (this.cancelled) {
      // popped while cancelling: it was never delivered, put it back where it was served from
      await this.host.cmd.rpush(key, raw);
      return;
    }
    let ids: { tag: string; exchange: string; routingKey: string };
    try {
      const d = decodeEnvelope(raw, queue);
      ids = { tag: d.deliveryTag, exchange: d.exchange, routingKey: d.routingKey };
    } catch (err) {
      await this.host.cmd.lpush(this.host.key(o.badEnvelopeKey), raw);
      this.report(new BadEnvelopeError(`${(err as Error).message} (queue ${queue}; moved to list ${o.badEnvelopeKey})`, raw), raw);
      return;
    }
    await this.host.cmd
      .multi()
      .zadd(this.host.key(o.unackedIndexKey), nowSeconds(), ids.tag)
      .hset(this.host.key(o.unackedKey), ids.tag, unackedValue(raw, ids.exchange, ids.routingKey))
      .exec();
    this.rotate(queue);
    this.handOver(raw, queue);
  }
}

/** kombu: `dest.rsplit(sep, 1)[0]`. */
function stripBucket(key: string, sep: string): string {
  const i = key.lastIndexOf(sep);
  return i >= 0 ? key.slice(0, i) : key;
}

function tagOf(raw: string): string | null {
  try {
    const env = JSON.parse(raw) as { properties?: { delivery_tag?: unknown } };
    const tag = env?.properties?.delivery_tag;
    return typeof tag === "string" ? tag : null;
  } catch {
    const m = /"delivery_tag":\s*"([^"\\]+)"/.exec(raw);
    return m ? m[1] : null;
  }
}
