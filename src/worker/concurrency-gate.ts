/**
 * The worker's concurrency gate: never more than `size` requests run at once, FIFO beyond. It
 * decides when a request may start; where it runs is the execution pool's business (`pools/`).
 * A runner may give its slot back before it settles (`release`: the handler is done, its outcome
 * is still being stored), so the next item starts at once; the gate is idle when every item settled.
 */
export class ConcurrencyGate<T> {
  /** Items holding a slot. */
  private running = 0;
  /** Items started and not settled (holding a slot or not). */
  private unsettled = 0;
  private limit: number;
  private readonly waiting: T[] = [];
  private idleWaiters: Array<() => void> = [];
  private draining = false;

  /**
   * `runner` starts one item and calls `settled` once it is over (later calls do nothing; a runner
   * that throws is settled at once: it reports its own failures). It may call `release` to free the
   * item's slot before it settles (later calls do nothing). `onSettled` is called after each item
   * finishes and its slot went to the next one. A callback, not a returned promise: the runner
   * chains what it needs, and with async_hooks on (the current task's context) every promise costs.
   */
  constructor(
    size: number,
    private readonly runner: (item: T, release: () => void, settled: () => void) => void,
    private readonly onSettled: () => void = () => undefined,
  ) {
    if (!(size >= 1)) throw new Error(`concurrency must be >= 1, got ${size}`);
    this.limit = size;
  }

  /** Items allowed to run at once. */
  get size(): number {
    return this.limit;
  }

  /** Items holding a slot now. */
  get active(): number {
    return this.running;
  }

  /** Items queued behind the limit (reserved). */
  get queued(): readonly T[] {
    return this.waiting;
  }

  /**
   * Change how many items may run at once (at least 1). Growing starts waiting items at once;
   * shrinking lets running items finish and starts no new one until fewer than `size` run.
   */
  resize(size: number): void {
    this.limit = Math.max(1, size);
    this.drain();
  }

  /** Queue an item; it runs when a slot is free. */
  submit(item: T): void {
    this.waiting.push(item);
    this.drain();
  }

  /** Remove and return the items that have not started. */
  takeQueued(): T[] {
    return this.waiting.splice(0);
  }

  private drain(): void {
    // A runner that releases its slot before it returns (synchronously) is inside this loop: the
    // loop goes on with the freed slot instead of starting the next item within that runner's call.
    if (this.draining) return;
    this.draining = true;
    try {
      this.startWaiting();
    } finally {
      this.draining = false;
    }
  }

  private startWaiting(): void {
    while (this.running < this.limit && this.waiting.length) {
      const item = this.waiting.shift() as T;
      this.running++;
      this.unsettled++;
      let holds = true;
      const release = (): void => {
        if (!holds) return;
        holds = false;
        this.running--;
        this.drain();
      };
      let open = true;
      const settled = (): void => {
        if (!open) return;
        open = false;
        this.unsettled--;
        release();
        this.onSettled();
        if (this.unsettled === 0 && this.waiting.length === 0) this.notifyIdle();
      };
      try {
        this.runner(item, release, settled);
      } catch {
        settled();
      }
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when nothing runs (every started item settled) and nothing waits. */
  onIdle(): Promise<void> {
    if (this.unsettled === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
