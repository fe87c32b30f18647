/**
 * Worker state Celery keeps across tasks: the revoked-id set (a LimitedSet of at most 50 000 ids,
 * each forgotten after 10 800 s) and its optional persistence (`statedb`, here a JSON file).
 */
import { promises as fs } from "node:fs";
import { dirname } from "node:path";

/** Celery's REVOKES_MAX and REVOKE_EXPIRES. */
export const REVOKES_MAX = 50_000;
export const REVOKE_EXPIRES = 10_800;

/** A set of ids with a size limit (oldest evicted first) and an expiry per entry, as Celery's LimitedSet. */
export class LimitedSet {
  /** id → time added (unix seconds); Map keeps insertion order = age order (re-adding moves it). */
  private readonly entries = new Map<string, number>();
  constructor(readonly maxlen = REVOKES_MAX, readonly expires = REVOKE_EXPIRES, private readonly now: () => number = () => Date.now() / 1000) {}

  get size(): number {
    this.purge();
    return this.entries.size;
  }

  add(id: string, at = this.now()): void {
    this.entries.delete(id);
    this.entries.set(id, at);
    this.purge();
  }

  has(id: string): boolean {
    const at = this.entries.get(id);
    if (at === undefined) return false;
    if (this.expires && at + this.expires <= this.now()) {
      this.entries.delete(id);
      return false;
    }
    return true;
  }

  delete(id: string): void {
    this.entries.delete(id);
  }

  /** Drop expired entries, then the oldest beyond maxlen. */
  purge(): void {
    const now = this.now();
    for (const [id, at] of this.entries) {
      if (this.expires && at + this.expires <= now) this.entries.delete(id);
      else break; // the rest are younger
    }
    while (this.maxlen && this.entries.size > this.maxlen) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** [id, addedAt] pairs, oldest first. */
  toJSON(): Array<[string, number]> {
    this.purge();
    return [...this.entries];
  }

  /** Merge saved pairs (expired ones are dropped). */
  load(pairs: Array<[string, number]>): void {
    for (const [id, at] of [...pairs].sort((a, b) => a[1] - b[1])) {
      if (typeof id === "string" && typeof at === "number" && !this.entries.has(id)) this.entries.set(id, at);
    }
    this.purge();
  }
}

/** The statedb file's content. */
interface StateFile {
  version: 1;
  revoked: Array<[string, number]>;
}

/** Load revoked ids from a statedb file; a missing file is an empty state. */
export async function loadStateDb(path: string, revoked: LimitedSet): Promise<void> {
  let text: string;
  try {
    text = await fs.readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const data = JSON.parse(text) as Partial<StateFile>;
  if (Array.isArray(data.revoked)) revoked.load(data.revoked);
}

/** Save revoked ids to a statedb file (written to a temporary file, then renamed). */
export async function saveStateDb(path: string, revoked: LimitedSet): Promise<void> {
  const data: StateFile = { version: 1, revoked: revoked.toJSON() };
  await fs.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(data));
  await fs.rename(tmp, path);
}
