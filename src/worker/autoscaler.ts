/**
 * Celery's autoscaler (`celery/worker/autoscale.py`, `celery worker --autoscale MAX,MIN`): grows
 * the pool up to `max` when more requests are waiting or running than it has processes, and
 * shrinks it down to `min` once no task came in for `keepalive` seconds (`AUTOSCALE_KEEPALIVE`,
 * default 30). It drives the consumer through its public methods (`grow`, `shrink`,
 * `setPrefetch`), so the concurrency gate and the pool (prefork: child processes) change together.
 *
 * Celery checks on every task message and, on its event loop, every `keepalive` seconds (its
 * background thread, used without the event loop: every second). celeriac checks after every
 * received task and every second, so the pool shrinks between keepalive and keepalive + 1 s after
 * the last task came in or the last scale-up. celeriac's pool never has fewer than one process:
 * `min` 0 keeps one.
 */
import type { Logger } from "../logging";
import type { Consumer } from "./consumer";

/** What the autoscaler uses of the consumer (its public API). */
export type ScaledConsumer = Pick<Consumer, "concurrency" | "active" | "reserved" | "grow" | "shrink" | "prefetch" | "setPrefetch">;

/** `WorkerOptions.autoscale` (the CLI's `--autoscale MAX,MIN`). */
export interface AutoscaleOptions {
  /** Most processes (Celery's max_concurrency); the prefetch window is max × prefetchMultiplier. */
  max: number;
  /** Fewest processes (Celery's min_concurrency, default 0); the pool starts with this many (at least one). */
  min?: number;
  /** Seconds without a new task or a scale-up before shrinking (default: the AUTOSCALE_KEEPALIVE environment variable, else 30). */
  keepalive?: number;
}

/** What `inspect stats` shows of the autoscaler (Celery's `autoscaler` block). */
export interface AutoscalerInfo {
  max: number;
  min: number;
  /** Processes now (Celery's `pool.num_processes`). */
  current: number;
  /** Requests received and not finished: waiting for a slot or running (Celery's `len(reserved_requests)`). */
  qty: number;
}

/** What an `Autoscaler` is built with. */
export interface AutoscalerOptions {
  max: number;
  min: number;
  /** Seconds (see AutoscaleOptions.keepalive). */
  keepalive: number;
  /** The worker's prefetch multiplier: a new `max` moves the prefetch window by the difference × this. */
  prefetchMultiplier: number;
  logger: Logger;
  /** Monotonic clock in ms (default `performance.now`); tests pass their own. */
  now?: () => number;
}

/** Celery's autoscaler tick without the event loop. */
const TICK_MS = 1000;

/** Celery's `AUTOSCALE_KEEPALIVE` (seconds, default 30); throws unless it is a number > 0. */
export function autoscaleKeepalive(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.AUTOSCALE_KEEPALIVE;
  if (text === undefined) return 30;
  const seconds = text.trim() === "" ? NaN : Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`AUTOSCALE_KEEPALIVE must be a number of seconds > 0, got ${JSON.stringify(text)}`);
  return seconds;
}

/**
 * Celery's `--autoscale` value: "MAX,MIN" or "MAX" (min 0); the larger number is max whatever the
 * order, as Celery sorts them. Throws on anything else.
 */
export function parseAutoscale(text: string): { max: number; min: number } {
  const parts = text.split(",");
  const bad = (why: string): Error => new Error(`Invalid value for '--autoscale': ${why}, got ${JSON.stringify(text)}`);
  if (parts.length > 2) throw bad("expected two comma separated integers or one integer");
  if (!parts.every((p) => /^\s*[+-]?\d+\s*$/.test(p))) throw bad(parts.length === 1 ? "expected an integer" : "expected two comma separated integers");
  const [max, min] = parts.map((p) => Number.parseInt(p, 10)).sort((a, b) => b - a);
  return { max, min: min ?? 0 };
}

/** Checks a worker's autoscale settings: whole numbers with max ≥ 1 and 0 ≤ min ≤ max, keepalive > 0 seconds. */
export function checkAutoscale(max: number, min: number, keepalive: number): void {
  if (!Number.isInteger(max) || !Number.isInteger(min) || max < 1 || min < 0 || min > max) {
    throw new Error(`autoscale needs whole numbers with max >= 1 and 0 <= min <= max, got max=${max} min=${min}`);
  }
  if (!(keepalive > 0) || !Number.isFinite(keepalive)) throw new Error(`autoscale keepalive must be a number of seconds > 0, got ${keepalive}`);
}

/** Celery's `Autoscaler`: keeps the pool between `min` and `max` processes as the load asks. */
export class Autoscaler {
  private maxConcurrency: number;
  private minConcurrency: number;
  /** Seconds without a new task or a scale-up before shrinking. */
  readonly keepalive: number;
  private readonly now: () => number;
  private lastScaleUp: number | null = null;
  private lastTaskReceived: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private checkQueued = false;

  constructor(private readonly consumer: ScaledConsumer, private readonly options: AutoscalerOptions) {
    checkAutoscale(options.max, options.min, options.keepalive);
    this.maxConcurrency = options.max;
    this.minConcurrency = options.min;
    this.keepalive = options.keepalive;
    this.now = options.now ?? (() => performance.now());
  }

  /** Processes now (the consumer's concurrency: the gate and the pool change together). */
  get processes(): number {
    return this.consumer.concurrency;
  }

  /** Requests received and not finished: waiting for a slot or running. */
  get qty(): number {
    return this.consumer.active.length + this.consumer.reserved.length;
  }

  /** Check every second until `stop()`; the timer never keeps the process alive. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.maybeScale(), TICK_MS);
    this.timer.unref();
  }

  /** Stop checking (the worker is stopping). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.checkQueued = false;
  }

  /** A task came in (Celery's `on_task_received`): it delays the next scale-down, and the load is checked once it is reserved. */
  taskReceived(): void {
    this.lastTaskReceived = this.now();
    if (!this.timer || this.checkQueued) return;
    this.checkQueued = true;
    queueMicrotask(() => {
      if (!this.checkQueued) return;
      this.checkQueued = false;
      this.maybeScale();
    });
  }

  /**
   * One check (Celery's `_maybe_scale`): grow to min(qty, max) when that is more than the
   * processes, else shrink to max(qty, min) once the keepalive has passed. True when it scaled.
   */
  maybeScale(): boolean {
    try {
      const procs = this.processes;
      const up = Math.min(this.qty, this.maxConcurrency);
      if (up > procs) {
        this.scaleUp(up - procs);
        return true;
      }
      const down = Math.max(this.qty, this.minConcurrency);
      if (down < procs) return this.scaleDown(procs - down);
    } catch (err) {
      this.options.logger.error(`Autoscaler: ${(err as Error).message}`);
    }
    return false;
  }

  /**
   * Celery's `autoscale` control command: a new max (shrinking now when the pool is larger, and
   * moving the prefetch window by the difference × the prefetch multiplier) and/or a new min
   * (growing now when the pool is smaller). Returns [max, min] as they are now.
   */
  update(max?: number | null, min?: number | null): [number, number] {
    if (max !== null && max !== undefined) {
      if (max < this.processes) this.shrink(this.processes - max);
      this.updatePrefetch(max);
      this.maxConcurrency = max;
    }
    if (min !== null && min !== undefined) {
      if (min > this.processes) this.grow(min - this.processes);
      this.minConcurrency = min;
    }
    return [this.maxConcurrency, this.minConcurrency];
  }

  /** Celery's `Autoscaler.info()`. */
  info(): AutoscalerInfo {
    return { max: this.maxConcurrency, min: this.minConcurrency, current: this.processes, qty: this.qty };
  }

  private scaleUp(n: number): void {
    this.lastScaleUp = this.now();
    this.grow(n);
  }

  /** Shrink by `n` if nothing came in and nothing scaled up for `keepalive` seconds (never before either happened, as Celery). */
  private scaleDown(n: number): boolean {
    const received = this.lastTaskReceived;
    const lastActive = received !== null && (this.lastScaleUp === null || received > this.lastScaleUp) ? received : this.lastScaleUp;
    if (lastActive === null || this.now() - lastActive <= this.keepalive * 1000) return false;
    this.shrink(n);
    return true;
  }

  private grow(n: number): void {
    this.options.logger.info(`Scaling up ${n} processes.`);
    this.consumer.grow(n);
  }

  private shrink(n: number): void {
    this.options.logger.info(`Scaling down ${n} processes.`);
    this.consumer.shrink(n);
  }

  /** Celery's `_update_consumer_prefetch_count`: the window moves by (new max − old max) × multiplier. */
  private updatePrefetch(max: number): void {
    const diff = max - this.maxConcurrency;
    if (diff) this.consumer.setPrefetch(this.consumer.prefetch + diff * this.options.prefetchMultiplier);
  }
}
