/**
 * Entries added, changed and removed at run time. They live in the Redis beat store
 * (`beatSchedulerRedisUrl`), so any process can edit the schedule that the running beats follow.
 */
import type { AppContext } from "../app-context";
import { describeEntry, resolveTimezone, type BeatEntryInfo } from "./beat";
import { entryToJSON, makeEntry, type BeatEntry, type BeatEntrySpec } from "./entry";
import { RedisEntryAdmin } from "./store";

export class BeatEntries {
  private readonly admin: RedisEntryAdmin;
  constructor(readonly app: AppContext, url: string | null = app.conf.beatSchedulerRedisUrl) {
    if (!url) {
      throw new Error("entries added at run time are kept in Redis: set beatSchedulerRedisUrl (or pass --redis-url)");
    }
    this.admin = new RedisEntryAdmin(url, app.conf.beatSchedulerKeyPrefix);
  }

  /** Add an entry, or replace one of the same name (it keeps its last run time). Returns its JSON form. */
  async add(name: string, spec: BeatEntrySpec): Promise<BeatEntry> {
    const entry = makeEntry(name, spec, "dynamic");
    await this.admin.put(name, entryToJSON(entry), Date.now());
    return entry;
  }

  /** Remove a run-time entry (entries of the app's `beatSchedule` cannot be removed). */
  async remove(name: string): Promise<boolean> {
    const removed = await this.admin.remove(name);
    if (!removed && this.app.conf.beatSchedule[name]) {
      throw new Error(`${name} is defined in the app's beatSchedule; remove it there`);
    }
    return removed;
  }

  /** Every entry (the app's `beatSchedule`, overridden by run-time entries of the same name) with its state. */
  async list(): Promise<BeatEntryInfo[]> {
    const [dynamic, states] = await Promise.all([this.admin.entries(), this.admin.states()]);
    const entries = new Map<string, BeatEntry>();
    for (const [name, spec] of Object.entries(this.app.conf.beatSchedule)) entries.set(name, makeEntry(name, spec, "config"));
    for (const [name, json] of dynamic) {
      try {
        entries.set(name, makeEntry(name, json, "dynamic"));
      } catch {
        // unreadable entries are skipped, as the beat does
      }
    }
    const now = Date.now();
    const ctx = { timezone: resolveTimezone(this.app.conf), cronStartingDeadline: this.app.conf.beatCronStartingDeadline };
    return [...entries.values()].sort((a, b) => a.name.localeCompare(b.name)).map((e) => describeEntry(e, states.get(e.name), now, ctx));
  }

  /** Owner of the leader lease, or null. */
  leader(): Promise<string | null> {
    return this.admin.leader();
  }

  close(): Promise<void> {
    return this.admin.close();
  }
}

/** Run-time schedule entries of an app (needs `beatSchedulerRedisUrl`). */
export function beatEntries(app: AppContext, redisUrl?: string): BeatEntries {
  return new BeatEntries(app, redisUrl ?? app.conf.beatSchedulerRedisUrl);
}
