/**
 * Calls gathered while the current turn of the event loop runs, sent together when it ends: one
 * broker command for many acks (Redis transport) or many stored results (Redis backend).
 *
 * The batch goes out on `process.nextTick`, which runs after every promise job queued in this turn
 * (a reply that resolves many commands settles many tasks: their acks and results join one
 * batch), and before the I/O of the next turn, so a call waits for no other event. A batch made
 * with `later` goes out on `setImmediate` instead: after the nextTick batches of the same turn
 * (the Redis acks, after the result stores a client waits for).
 */
export class TickBatch<T> {
  private items: T[] = [];
  private done: Promise<void> | null = null;
  private settle: { resolve: (p: Promise<void>) => void; reject: (err: unknown) => void } | null = null;
  /** How many items the last send held (eagerWhenLone). */
  private lastSize = 0;
  /** A call went out at once in this turn: the others of the turn are gathered. */
  private eagerThisTurn = false;

  /**
   * `send` does the batched work for the items of one batch, in the order they were added (at
   * most `max` of them); each caller's promise settles as the batch does.
   */
  constructor(
    private readonly send: (items: T[]) => Promise<void>,
    private readonly max = 1000,
    private readonly later = false,
    private readonly eagerWhenLone = false,
  ) {}

  /** Add one item; resolves once the batch holding it was sent and answered. */
  add(item: T): Promise<void> {
    if (this.eagerWhenLone && this.lastSize === 1 && !this.done && !this.eagerThisTurn) {
      this.eagerThisTurn = true;
      process.nextTick(() => (this.eagerThisTurn = false));
      try {
        return this.send([item]);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (!this.done) {
      this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
      if (this.later) setImmediate(() => this.flush());
      else process.nextTick(() => this.flush());
    }
    const done = this.done;
    this.items.push(item);
    if (this.items.length >= this.max) this.flush();
    return done;
  }

  /** Send what was gathered now (the scheduled flush then finds nothing to send): before closing. */
  flush(): void {
    const items = this.items;
    const settle = this.settle;
    if (!settle || items.length === 0) return;
    this.items = [];
    this.lastSize = items.length;
    this.done = null;
    this.settle = null;
    try {
      settle.resolve(this.send(items));
    } catch (err) {
      settle.reject(err);
    }
  }
}
