/**
 * Per-task rate limits as Celery's consumer applies them: a due request of a rate-limited task
 * waits for a token of its task's bucket (kombu TokenBucket, capacity 1) before it goes on.
 */
import { TokenBucket } from "./rate";
import type { Request } from "./request";

interface Bucket {
  bucket: TokenBucket;
  pending: Request[];
  timer: NodeJS.Timeout | null;
}

/** The token buckets of one consumer, by task name. */
export class RateBuckets {
  private readonly buckets = new Map<string, Bucket>();

  /** `rateOf(name)` is a task's rate in tasks/s (0: none); `pass` takes a request whose token came. */
  constructor(private readonly rateOf: (name: string) => number, private readonly pass: (request: Request) => void) {}

  /** Requests waiting for their task's rate limit, by task then arrival. */
  get pending(): readonly Request[] {
    return [...this.buckets.values()].flatMap((b) => b.pending);
  }

  /** Pass a due request on at once, or queue it behind its task's bucket when the task is rate limited. */
  admit(request: Request): void {
    const name = request.task.task;
    let entry = this.buckets.get(name);
    if (!entry) {
      const rate = this.rateOf(name);
      if (!rate) {
        this.pass(request);
        return;
      }
      entry = { bucket: new TokenBucket(rate, 1), pending: [], timer: null };
      this.buckets.set(name, entry);
    }
    entry.pending.push(request);
    this.drain(name);
  }

  /** A task's rate changed: drop its bucket and admit what waited under the new rate. */
  reset(name: string): void {
    const entry = this.buckets.get(name);
    this.buckets.delete(name);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    for (const request of entry.pending) this.admit(request);
  }

  /** Shutdown: stop every timer and return the waiting requests. */
  takeAll(): Request[] {
    const all: Request[] = [];
    for (const entry of this.buckets.values()) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.timer = null;
      all.push(...entry.pending.splice(0));
    }
    return all;
  }

  private drain(name: string): void {
    const entry = this.buckets.get(name);
    if (!entry) return;
    entry.timer = null;
    while (entry.pending.length) {
      if (!entry.bucket.canConsume(1)) {
        const wait = entry.bucket.expectedTime(1);
        if (!entry.timer) entry.timer = setTimeout(() => this.drain(name), Math.max(1, Math.ceil(wait * 1000)));
        return;
      }
      this.pass(entry.pending.shift() as Request);
    }
  }
}
