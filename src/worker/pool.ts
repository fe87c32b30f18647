/** Bounded concurrency on the event loop: never more than `size` items run at once, FIFO beyond. */
export class Pool<T> {
  private running = 0;
  private readonly waiting: T[] = [];
  private idleWaiters: Array<() => void> = [];

  constructor(public size: number, private readonly runner: (item: T) => Promise<void>, private readonly onSettled: () => void = () => undefined) {
    if (!(size >= 1)) throw new Error(`concurrency must be >= 1, got ${size}`);
  }

  /** Items running now. */
  get active(): number {
    return this.running;
  }

  /** Items queued behind the limit (reserved). */
  get queued(): readonly T[] {
    return this.waiting;
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
    while (this.running < this.size && this.waiting.length) {
      const item = this.waiting.shift() as T;
      this.running++;
      this.runner(item)
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.drain();
          this.onSettled();
          if (this.running === 0 && this.waiting.length === 0) this.notifyIdle();
        });
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when nothing runs and nothing waits. */
  onIdle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
