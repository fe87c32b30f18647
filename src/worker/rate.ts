/** Per-task rate limits as Celery's worker does them: one token bucket (capacity 1) per task name. */

/** Celery's `rate()`: "10/s", "100/m", "1000/h", "0.5" or a number → tasks per second (0 = no limit). */
export function parseRate(rate: string | number | null | undefined): number {
  if (rate === null || rate === undefined || rate === "") return 0;
  if (typeof rate === "number") {
    if (!Number.isFinite(rate) || rate < 0) throw new Error(`invalid rate limit: ${rate}`);
    return rate;
  }
  const [ops, unit = "s"] = rate.trim().split("/", 2);
  const n = Number(ops);
  const per = { s: 1, m: 60, h: 3600 }[unit.trim() || "s"];
  if (!Number.isFinite(n) || n < 0 || per === undefined || ops.trim() === "") {
    throw new Error(`invalid rate limit: ${JSON.stringify(rate)} (expected "<n>/s", "<n>/m" or "<n>/h")`);
  }
  return n / per;
}

/** kombu's TokenBucket: refills `fillRate` tokens per second up to `capacity`; starts full. */
export class TokenBucket {
  private tokens: number;
  private stamp: number;
  constructor(readonly fillRate: number, readonly capacity = 1, private readonly now: () => number = () => performance.now() / 1000) {
    this.tokens = capacity;
    this.stamp = now();
  }

  private refill(): number {
    if (this.tokens < this.capacity) {
      const t = this.now();
      this.tokens = Math.min(this.capacity, this.tokens + this.fillRate * (t - this.stamp));
      this.stamp = t;
    }
    return this.tokens;
  }

  /** Take `n` tokens if there are that many. */
  canConsume(n = 1): boolean {
    if (n <= this.refill()) {
      this.tokens -= n;
      return true;
    }
    return false;
  }

  /** Seconds until `n` tokens are there. */
  expectedTime(n = 1): number {
    const have = this.refill();
    return (Math.max(n, have) - have) / this.fillRate;
  }
}
