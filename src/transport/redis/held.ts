/**
 * The held lists of the Redis transport. A consumer's wake pops the message that ends it straight
 * into the consumer's own held list (BLMOVE queue → held list: one command, the message in hand
 * with its reply), and a track call then records it in `unacked` as a FETCH would, with the
 * turn's acks. So a message is always in its queue, a held list or `unacked`. Held lists are
 * registered in a sorted set (`heldKey`, score: a deadline, when their consumer last said it was
 * alive plus its visibility timeout); those past it are put back after restore_visible.
 */
import { BadEnvelopeError, decodeEnvelope, redeliveredEnvelope, unackedValue } from "./envelope";
import { queueForPriority } from "./keys";
import type { ResolvedRedisTransportOptions } from "./options";
import type { ScriptedRedis } from "./scripts";

/**
 * A message a consumer's wake popped into its held list (BLMOVE queue → held list), from its
 * delivery until the track call has recorded it in `unacked` (or dropped it: acked before the
 * track went out). See consumer.ts, "the wake pops".
 */
export class HeldEntry {
  private dropped = false;
  private sent = false;
  private started = false;
  private answered: Promise<void> | null = null;
  /** Settles `answered` when it was asked for before the track started. */
  private settle: { resolve: () => void; reject: (err: unknown) => void } | null = null;
  /** The track has answered (or failed): a held-list restore no longer keeps the entry for it. */
  settled = false;

  constructor(
    /** The consumer's held list (full key). */
    readonly list: string,
    /** The envelope text as popped. */
    readonly raw: string,
    readonly tag: string,
    private readonly exchange: string,
    private readonly routingKey: string,
    /** Sends the track with the turn's others; settles when answered. */
    private readonly track: (entry: HeldEntry) => Promise<void>,
  ) {}

  /** What `unacked` holds for it: `[envelope, exchange, routing key]` (built only when it is recorded). */
  get value(): string {
    return unackedValue(this.raw, this.exchange, this.routingKey);
  }

  /**
   * Start the track (once). The consumer starts it after the delivery was handed over, so the
   * result of a lone task is written before the track is even gathered; an ack, reject or release
   * before that only waits for it. `onFailed` hears a track that failed. One reaction to the
   * answer marks the entry settled and settles a `done` asked for before the start.
   */
  start(onFailed: (err: unknown) => void): void {
    if (this.started) return;
    this.started = true;
    const answer = this.track(this);
    const settle = this.settle;
    this.settle = null;
    if (!settle) this.answered = answer;
    answer.then(
      () => {
        this.settled = true;
        settle?.resolve();
      },
      (err: unknown) => {
        this.settled = true;
        settle?.reject(err);
        onFailed(err);
      },
    );
  }

  /** The track's answer (once started). */
  get done(): Promise<void> {
    return (this.answered ??= new Promise<void>((resolve, reject) => (this.settle = { resolve, reject })));
  }

  /** Called as the track goes out: 't' records the entry in `unacked`, 'd' only removes it from the held list. */
  take(): "t" | "d" {
    this.sent = true;
    return this.dropped ? "d" : "t";
  }

  /**
   * Ack: before the track went out it becomes a drop (one LREM, nothing recorded); after it,
   * `ackTracked` runs once the track has answered (an ack must not reach Redis before the entry
   * is in `unacked`, and the two may travel on different connections).
   */
  ack(ackTracked: () => Promise<void>): Promise<void> {
    if (!this.sent) {
      this.dropped = true;
      return this.done;
    }
    return this.done.then(ackTracked);
  }
}

/** What the held-list functions need from the transport. */
export interface HeldHost {
  readonly options: ResolvedRedisTransportOptions;
  readonly cmd: ScriptedRedis;
  key(name: string): string;
  /** Queues a stored exchange/routing key resolves to (kombu `_lookup`). */
  lookup(exchange: string, routingKey: string): Promise<string[]>;
}

/** Seconds since the epoch, as the unacked index scores them. */
export function nowSeconds(): string {
  return ((performance.timeOrigin + performance.now()) / 1000).toFixed(7);
}

/** `call` on `via`, and once more on the command connection if that fails (calls safe to run twice). */
function viaOrCmd<R>(host: HeldHost, via: ScriptedRedis, call: (conn: ScriptedRedis) => Promise<R>): Promise<R> {
  const first = call(via);
  return via === host.cmd ? first : first.catch(() => call(host.cmd));
}

/**
 * Send one batch of tracks on `via` (again on the command connection if that fails: both forms
 * are safe to run twice). An entry acked before its track went out (a drop) is one plain `LREM`,
 * far cheaper for Redis than a script call; the others go in one track script call per held list
 * (recordTracks). Kept small: it is on the path of every lone task, which a drain does not warm.
 */
export function sendTracks(host: HeldHost, via: ScriptedRedis, items: HeldEntry[]): Promise<void> {
  const answers: Promise<unknown>[] = [];
  let tracked: HeldEntry[] | null = null;
  for (const e of items) {
    if (e.take() === "d") answers.push(viaOrCmd(host, via, (conn) => conn.lrem(e.list, 1, e.raw)));
    else (tracked ??= []).push(e);
  }
  if (tracked) answers.push(recordTracks(host, via, tracked));
  // a lone task's drop is the only answer: no Promise.all (with async_hooks on, every promise costs)
  return (answers.length === 1 ? answers[0] : Promise.all(answers)).then(noAnswer);
}

function noAnswer(): void {
  /* the batch's callers only wait */
}

/**
 * Record entries in `unacked` (the track script, one call per held list, in turn). An entry that
 * was in neither the held list nor `unacked` had been restored meanwhile (its consumer taken for
 * dead): reported, as it may run twice.
 */
async function recordTracks(host: HeldHost, via: ScriptedRedis, items: HeldEntry[]): Promise<void> {
  const o = host.options;
  const byList = new Map<string, HeldEntry[]>();
  for (const e of items) {
    const entries = byList.get(e.list);
    if (entries) entries.push(e);
    else byList.set(e.list, [e]);
  }
  const now = nowSeconds();
  for (const [list, entries] of byList) {
    const args = [now];
    for (const e of entries) args.push("t", e.raw, e.tag, e.value);
    const res = await viaOrCmd(host, via, (conn) => conn.celeriacTrack(list, host.key(o.unackedKey), host.key(o.unackedIndexKey), ...args));
    entries.forEach((e, i) => {
      if (Number(res[i]) !== 1) {
        o.onError(new Error(`message ${e.tag} had left its held list before it was recorded as unacked (restored meanwhile: it may run twice)`), null);
      }
    });
  }
}

/**
 * Put back what a held list holds, but for what `keep` claims: each entry to the front of the
 * queues its exchange/routing key resolve to (its priority bucket kept), with the redelivered
 * flags when `redelivered`; an entry that cannot be read or routed to the bad-envelope list.
 * Returns how many were put back.
 */
export async function restoreHeld(
  host: HeldHost,
  list: string,
  keep: (raw: string) => boolean,
  redelivered: boolean,
  report: (err: Error, raw: string | null) => void,
): Promise<number> {
  const o = host.options;
  let restored = 0;
  for (const raw of await host.cmd.lrange(list, 0, 999)) {
    if (keep(raw)) continue;
    let dests: string[];
    let text: string;
    try {
      const d = decodeEnvelope(raw);
      const queues = await host.lookup(d.exchange, d.routingKey);
      if (queues.length === 0) throw new BadEnvelopeError(`held message ${d.deliveryTag} routes nowhere (exchange '${d.exchange}', routing key '${d.routingKey}')`, raw);
      dests = queues.map((q) => host.key(queueForPriority(q, d.message.properties.priority, o.prioritySteps, o.sep)));
      text = redelivered ? redeliveredEnvelope(raw) : raw;
    } catch (err) {
      if ((await host.cmd.celeriacHeldMove(2, list, host.key(o.badEnvelopeKey), raw, raw, "L")) === 1) {
        report(new BadEnvelopeError(`${(err as Error).message}; moved to list ${o.badEnvelopeKey}`, raw), raw);
      }
      continue;
    }
    restored += Number(await host.cmd.celeriacHeldMove(1 + dests.length, list, ...dests, raw, text, "R"));
  }
  return restored;
}

/**
 * The held lists whose consumer let its deadline pass (the registry's score: when it last said it
 * was alive, plus its own visibility timeout) go back to their queues, redelivered, as
 * restore_visible does for `unacked`; an emptied list leaves the registry. Each move is guarded by
 * its LREM, so concurrent passes never move a message twice.
 */
export async function restoreDeadHeld(host: HeldHost, report: (err: Error, raw: string | null) => void): Promise<number> {
  const registry = host.key(host.options.heldKey);
  const ceil = (Date.now() / 1000).toFixed(3);
  let restored = 0;
  for (const list of await host.cmd.zrangebyscore(registry, "-inf", ceil, "LIMIT", 0, 100)) {
    restored += await restoreHeld(host, list, () => false, true, report);
    if ((await host.cmd.llen(list)) === 0) await host.cmd.zrem(registry, list);
  }
  return restored;
}
