/**
 * The beat service: sends each entry's task when its schedule says it is due, as Celery's
 * `celery.beat.Scheduler` does, with last-run state kept in a store (file or Redis).
 *
 * Rules taken from Celery:
 * - an entry without state starts with `last_run_at = now` (its first run is one period later);
 * - before sending, the entry's `last_run_at` becomes now and its run count grows (reserve);
 * - on start, an entry whose next run after the stored `last_run_at` is past is due: it fires
 *   once, however many runs were missed, and the schedule continues from now;
 * - changing `timezone` or `enableUtc` resets the stored state;
 * - entries no longer in the schedule lose their state.
 *
 * With a shared (Redis) store several beats may run: only the holder of the lease sends, and
 * each send is recorded with a compare-and-set that also checks the lease, so a beat that lost
 * the lease, or whose view is stale, cannot send twice what another beat already sent.
 */
import type { AppContext } from "../app-context";
import type { ApplyOptions } from "../client/options";
import { Producer } from "../client/producer";
import { Logger } from "../logging";
import { safeRepr } from "../protocol/repr";
import { brokerUri } from "../redact";
import type { LogLevel } from "../logging";
import { describeCall, makeEntry, type BeatEntry, type BeatEntryJSON } from "./entry";
import { humanizeSeconds, type ScheduleContext } from "./schedules";
import { FileStore, RedisStore, type BeatStore, type EntryState } from "./store";
import { assertTimeZone, systemTimeZone } from "./tz";

/** Celery's `app.timezone`: `timezone`, else UTC when `enableUtc`, else the system zone. */
export function resolveTimezone(conf: { timezone: string | null; enableUtc: boolean }): string {
  return assertTimeZone(conf.timezone || (conf.enableUtc ? "UTC" : systemTimeZone()));
}

/** Sends one entry's message; returns the task id. Replaceable in tests. */
export type BeatSender = (entry: BeatEntry, options: ApplyOptions) => Promise<string>;

export interface BeatOptions {
  /** State store; default a FileStore at `scheduleFilename`, or a RedisStore when `beatSchedulerRedisUrl` is set. */
  store?: BeatStore;
  /** State file (`--schedule`); default `beatScheduleFilename`. */
  scheduleFilename?: string;
  /** Longest sleep between checks, seconds (`--max-interval`); default `beatMaxLoopInterval`. */
  maxInterval?: number;
  logger?: Logger;
  logLevel?: LogLevel;
  /** Process name in log lines: `MainProcess` for `celeriac beat`, `Beat` when embedded in a worker. */
  processName?: string;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
  /** Message sender, for tests. */
  send?: BeatSender;
}

/** One entry as `list()` reports it. */
export interface BeatEntryInfo {
  name: string;
  task: string;
  schedule: string;
  source: BeatEntry["source"];
  lastRunAt: Date | null;
  totalRunCount: number;
  nextRunAt: Date | null;
}

function sleep(ms: number, onTimer: (cancel: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, Math.max(0, ms));
    onTimer(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

export class Beat {
  readonly app: AppContext;
  readonly logger: Logger;
  readonly store: BeatStore;
  readonly timezone: string;
  /** Seconds. */
  readonly maxInterval: number;
  /** Tasks sent by this beat. */
  sent = 0;
  private readonly processName: string;
  private readonly clock: () => number;
  private readonly sender: BeatSender;
  private readonly ctx: ScheduleContext;
  private entries = new Map<string, BeatEntry>();
  private states = new Map<string, EntryState>();
  private entriesVersion: string | null = null;
  private producer: Producer | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private cancelSleep: (() => void) | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private leader = false;
  private leasing = false;
  private leaderUntil = 0;
  private mutex: Promise<unknown> = Promise.resolve();

  constructor(app: AppContext, options: BeatOptions = {}) {
    this.app = app;
    const conf = app.conf;
    this.logger = options.logger ?? new Logger(options.logLevel ?? "INFO");
    this.processName = options.processName ?? "MainProcess";
    this.timezone = resolveTimezone(conf);
    this.store =
      options.store ??
      (conf.beatSchedulerRedisUrl
        ? new RedisStore(conf.beatSchedulerRedisUrl, { keyPrefix: conf.beatSchedulerKeyPrefix, leaseTimeout: conf.beatSchedulerLeaseTimeout })
        : new FileStore(options.scheduleFilename ?? conf.beatScheduleFilename));
    // As Celery: 0 / unset means the scheduler's default (300 s; 5 s for the shared store, like DB schedulers).
    this.maxInterval = options.maxInterval || conf.beatMaxLoopInterval || (this.store.shared ? 5 : 300);
    this.clock = options.now ?? Date.now;
    this.sender = options.send ?? ((entry, opts) => this.publish(entry, opts));
    this.ctx = { timezone: this.timezone, cronStartingDeadline: conf.beatCronStartingDeadline };
    // Invalid entries fail here, before anything runs.
    for (const [name, spec] of Object.entries(conf.beatSchedule ?? {})) this.entries.set(name, makeEntry(name, spec, "config"));
  }

  private log(level: LogLevel, message: string): void {
    this.logger.log(level, message, this.processName);
  }

  /** True while this beat may send (always for a file store). */
  get isLeader(): boolean {
    return !this.store.shared || (this.leader && this.clock() < this.leaderUntil);
  }

  /** Lease renewal period (ms) of a shared store. */
  get leaseCheckMs(): number {
    const store = this.store as Partial<RedisStore>;
    return Math.max(50, Math.floor((store.leaseMs ?? 5000) / 4));
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.mutex.then(fn, fn);
    this.mutex = run.catch(() => undefined);
    return run;
  }

  /** Open the store, load the state and start the loop (resolves once running). */
  async start(): Promise<void> {
    if (this.running) return;
    await this.open();
    this.log("INFO", "beat: Starting...");
    if (this.store.shared) {
      await this.leaseOnce();
      this.leaseTimer = setInterval(() => void this.leaseOnce(), this.leaseCheckMs);
    }
    this.loop = this.run();
  }

  /**
   * Open the store and load the state without starting the loop (then call `tick()` yourself;
   * with a shared store only after `lease()` made this beat the leader).
   */
  async open(): Promise<void> {
    if (this.running) return;
    await this.store.open({ timezone: this.timezone, utcEnabled: this.app.conf.enableUtc }, this.logger);
    this.running = true;
    if (!this.store.shared) await this.exclusive(() => this.reload());
  }

  /** One lease round by hand (shared store): returns whether this beat is now the leader. */
  async lease(): Promise<boolean> {
    await this.leaseOnce();
    return this.isLeader;
  }

  /** Stop the loop, save the state, give up the lease. Leaves the app's connections open. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.leaseTimer = null;
    this.cancelSleep?.();
    await this.loop?.catch(() => undefined);
    await this.mutex;
    if (this.store.shared && this.leader) {
      this.leader = false;
      await this.store.releaseLease?.().catch(() => undefined);
    }
    await this.store.close();
    this.log("INFO", "beat: Shutting down...");
  }

  private async run(): Promise<void> {
    while (this.running) {
      let delay: number;
      try {
        delay = await this.exclusive(() => this.tick());
      } catch (err) {
        this.log("ERROR", `beat: ${(err as Error).message}`);
        delay = Math.min(this.maxInterval, 1);
      }
      if (!this.running) break;
      if (delay > 0) {
        if (this.logger.enabled("DEBUG")) this.log("DEBUG", `beat: Waking up ${humanizeSeconds(delay, "in ")}.`);
        await sleep(delay * 1000, (cancel) => (this.cancelSleep = cancel));
        this.cancelSleep = null;
      }
    }
  }

  /** Wake the loop now (after a change). */
  wake(): void {
    this.cancelSleep?.();
  }

  /** One lease round of a shared store: acquire or renew; on acquiring, reload everything. */
  private async leaseOnce(): Promise<void> {
    if (!this.running || !this.store.lease || this.leasing) return;
    this.leasing = true;
    try {
      await this.leaseRound();
    } finally {
      this.leasing = false;
    }
  }

  private async leaseRound(): Promise<void> {
    if (!this.store.lease) return;
    const t0 = this.clock();
    let result: Awaited<ReturnType<NonNullable<BeatStore["lease"]>>>;
    try {
      result = await this.store.lease();
    } catch (err) {
      if (this.leader) this.log("WARNING", `beat: Cannot renew the lease: ${(err as Error).message}`);
      return;
    }
    if (!this.running) return;
    const leaseMs = (this.store as Partial<RedisStore>).leaseMs ?? 5000;
    if (result === "lost") {
      if (this.leader) this.log("WARNING", "beat: Lost the lease; another beat sends now.");
      this.leader = false;
      return;
    }
    this.leaderUntil = t0 + leaseMs - Math.min(leaseMs / 4, 1000);
    if (result === "acquired" || !this.leader) {
      await this.exclusive(async () => {
        await this.store.checkMeta?.({ timezone: this.timezone, utcEnabled: this.app.conf.enableUtc }, this.logger);
        await this.reload();
        this.leader = true;
      });
      this.log("INFO", "beat: Acquired the lease; this beat sends the schedule.");
      this.wake();
    }
  }

  /** Reload run-time entries (shared store) and every state; give new entries `last_run_at = now`. */
  private async reload(): Promise<void> {
    if (this.store.loadEntries) await this.refreshEntries(true);
    this.states = await this.store.load();
    const now = this.clock();
    const fresh = new Map<string, EntryState>();
    for (const name of this.entries.keys()) {
      if (!this.states.has(name)) fresh.set(name, { lastRunAt: now, totalRunCount: 0 });
    }
    await this.store.sync(fresh, new Set(this.entries.keys()));
    this.states = await this.store.load();
    for (const [name, s] of fresh) if (!this.states.has(name)) this.states.set(name, s);
  }

  /** Pick up entries added, changed or removed at run time. Returns true when they changed. */
  private async refreshEntries(force = false): Promise<boolean> {
    if (!this.store.loadEntries || !this.store.entriesVersion) return false;
    const version = await this.store.entriesVersion();
    if (!force && version === this.entriesVersion) return false;
    const dynamic = await this.store.loadEntries();
    const next = new Map<string, BeatEntry>();
    for (const [name, spec] of Object.entries(this.app.conf.beatSchedule ?? {})) next.set(name, makeEntry(name, spec, "config"));
    for (const [name, json] of dynamic) {
      try {
        next.set(name, makeEntry(name, json, "dynamic"));
      } catch (err) {
        this.log("ERROR", `beat: Ignoring schedule entry ${name}: ${(err as Error).message}`);
      }
    }
    const before = new Set(this.entries.keys());
    this.entries = next;
    this.entriesVersion = version;
    if (!force) {
      const added = [...next.keys()].filter((n) => !before.has(n));
      const removed = [...before].filter((n) => !next.has(n));
      if (added.length || removed.length) this.log("INFO", `beat: Schedule changed (added: ${added.join(", ") || "-"}; removed: ${removed.join(", ") || "-"})`);
    }
    return true;
  }

  /**
   * One pass (Celery's `tick`): send every due entry; return the seconds until the next check.
   */
  async tick(): Promise<number> {
    if (this.store.shared) {
      if (!this.isLeader) return this.leaseCheckMs / 1000;
      if (await this.refreshEntries()) {
        await this.reload();
      }
    }
    let next = this.maxInterval;
    for (const entry of [...this.entries.values()]) {
      const now = this.clock();
      let state = this.states.get(entry.name);
      if (!state) {
        state = { lastRunAt: now, totalRunCount: 0 };
        this.states.set(entry.name, state);
        await this.store.sync(new Map([[entry.name, state]]), new Set(this.entries.keys()));
      }
      let due: boolean;
      let after: number;
      try {
        ({ isDue: due, next: after } = entry.schedule.isDue(state.lastRunAt, now, this.ctx));
      } catch (err) {
        this.log("ERROR", `beat: Cannot calculate the next run of '${entry.name}', trying again in ${humanizeSeconds(this.maxInterval)}: ${(err as Error).message}`);
        due = false;
        after = this.maxInterval;
      }
      if (due) {
        if (this.store.shared && !this.isLeader) return this.leaseCheckMs / 1000;
        const reserved: EntryState = { lastRunAt: this.clock(), totalRunCount: state.totalRunCount + 1 };
        if (!(await this.store.reserve(entry.name, state, reserved))) {
          // Lease lost, or another beat already ran it: start over from the stored state.
          this.log("DEBUG", `beat: ${entry.name} was not reserved; reloading the state.`);
          this.states = await this.store.load();
          return 0;
        }
        this.states.set(entry.name, reserved);
        await this.apply(entry);
      }
      next = Math.min(next, after);
    }
    return Math.max(0, Math.min(next, this.maxInterval));
  }

  /** Send one entry's task (Celery's `apply_entry`): errors are logged, the run stays recorded. */
  private async apply(entry: BeatEntry): Promise<void> {
    this.log("INFO", `Scheduler: Sending due task ${entry.name} (${entry.task})`);
    const task = this.app.tasks.get(entry.task);
    const options: ApplyOptions = { ...task?.options.defaults, ...entry.options };
    // Celery's entries hold a list, so the header shows `[1, 2]` where apply_async shows `(1, 2)`.
    options.argsrepr ??= safeRepr(entry.args);
    if (this.app.conf.taskProtocolExtras === "5.3") {
      // Newer Celery (present in 5.7, absent in 5.2) marks beat's messages with this header.
      options.headers = { ...options.headers, celery_beat_task: true };
    }
    try {
      const id = await this.sender(entry, options);
      this.sent++;
      if (this.logger.enabled("DEBUG")) this.log("DEBUG", `${entry.task} sent. id->${id}`);
    } catch (err) {
      this.log("ERROR", `Message Error: Couldn't apply scheduled task ${entry.name}: ${(err as Error).message}`);
    }
  }

  private async publish(entry: BeatEntry, options: ApplyOptions): Promise<string> {
    if (!this.producer) this.producer = new Producer(await this.app.connection(), this.app.conf, this.app.oid, this.app.clock, this.app.security);
    try {
      return await this.producer.send(entry.task, entry.args, entry.kwargs, options);
    } catch (err) {
      this.producer = null;
      throw err;
    }
  }

  /** The entries and their state as this beat sees them. */
  list(): BeatEntryInfo[] {
    const now = this.clock();
    return [...this.entries.values()].map((e) => describeEntry(e, this.states.get(e.name), now, this.ctx));
  }

  /** Banner lines, like `celery beat`'s. */
  banner(): string {
    const conf = this.app.conf;
    const broker = brokerUri(conf.broker);
    return [
      `celeriac beat is starting.`,
      `LocalTime -> ${new Date().toISOString()}`,
      `Configuration ->`,
      `    . broker -> ${broker}`,
      `    . scheduler -> ${this.store.shared ? "celeriac RedisStore (leader lease)" : "celeriac FileStore"}`,
      `    . db -> ${this.store.description}`,
      `    . timezone -> ${this.timezone}`,
      `    . maxinterval -> ${humanizeSeconds(this.maxInterval)} (${this.maxInterval}s)`,
      `    . entries -> ${[...this.entries.values()].map((e) => `${e.name}: ${describeCall(e)} ${e.schedule.toString()}`).join("; ") || "(none)"}`,
    ].join("\n");
  }
}

/** One entry for listings: last run, next run. */
export function describeEntry(entry: BeatEntry, state: EntryState | undefined, now: number, ctx: ScheduleContext): BeatEntryInfo {
  let nextRunAt: Date | null = null;
  try {
    const rem = entry.schedule.remainingEstimate(state?.lastRunAt ?? now, now, ctx);
    nextRunAt = new Date(now + Math.max(rem, 0));
  } catch {
    nextRunAt = null;
  }
  return {
    name: entry.name,
    task: entry.task,
    schedule: String(entry.schedule),
    source: entry.source,
    lastRunAt: state ? new Date(state.lastRunAt) : null,
    totalRunCount: state?.totalRunCount ?? 0,
    nextRunAt,
  };
}

export type { BeatEntryJSON };
