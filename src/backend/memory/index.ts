/**
 * `cache+memory://` (Celery's cache backend with its in-memory client): results kept in this
 * process, shared by every app and worker in it, as Celery's `DummyClient` shares one LRU cache of
 * 5,000 entries (no expiry: the oldest entries go first). Metas are stored encoded (JSON), as the
 * cache backend stores them, so a result reads back as a worker on another broker would give it.
 * Waiting is by notification within the process; chords are joined natively (Celery's cache
 * backend counts chord parts with `incr`).
 */
import type { ResultBackend } from "../types";
import type { ChordPartResult } from "../redis";
import { waitOnce } from "../waiter";
import type { Waiter } from "../waiter";
import { decodeGroupMeta, decodeResultMeta, encodeResultMeta, READY_STATES } from "../../protocol/result-meta";
import type { GroupMeta, ResultMeta } from "../../protocol/result-meta";

/** Celery's `_DUMMY_CLIENT_CACHE = LRUCache(limit=5000)`. */
export const MEMORY_CACHE_LIMIT = 5000;

/** True for the URLs of this backend: `cache+memory://` (Celery's name) and `memory://`. */
export function isMemoryBackendUrl(url: string): boolean {
  return /^(cache\+)?memory:\/\//.test(url);
}

/** A chord being joined: its size (once known) and the parts returned so far, by group index. */
interface ChordJoin {
  size: number | null;
  parts: Array<{ index: number; member: string }>;
}

/** The process's one cache: an LRU of encoded metas, the waiters on task ids, chord joins. */
class MemoryCache {
  private readonly entries = new Map<string, string>();
  readonly waiters = new Map<string, Set<Waiter>>();
  readonly chords = new Map<string, ChordJoin>();

  get(key: string): string | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: string): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > MEMORY_CACHE_LIMIT) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

const processCache = new MemoryCache();

/** Celery's key names, as the key-value backends write them. */
const taskKey = (id: string): string => `celery-task-meta-${id}`;
const groupKey = (id: string): string => `celery-taskset-meta-${id}`;

/** Raised by `waitForReady` when the timeout passes first (named as the other backends' error). */
class WaitTimeout extends Error {
  constructor(taskId: string, timeoutMs: number) {
    super(`The operation timed out waiting for task ${taskId} (${timeoutMs} ms)`);
    this.name = "TimeoutError";
  }
}

/** The in-process result backend (`cache+memory://`). */
export class MemoryBackend implements ResultBackend {
  readonly name = "cache+memory";

  constructor(private readonly cache: MemoryCache = processCache) {}

  async connect(): Promise<void> {}

  async close(): Promise<void> {}

  /** Never overwrites a stored SUCCESS; wakes the task's waiters once it is ready. */
  async store(taskId: string, meta: ResultMeta): Promise<void> {
    const value = encodeResultMeta(meta);
    const key = taskKey(taskId);
    const old = this.cache.get(key);
    if (old !== undefined && decodeResultMeta(old).status === "SUCCESS") return;
    this.cache.set(key, value);
    if (!READY_STATES.has(meta.status)) return;
    const waiters = this.cache.waiters.get(taskId);
    if (!waiters) return;
    for (const w of [...waiters]) w.resolve(decodeResultMeta(value));
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    const text = this.cache.get(taskKey(taskId));
    return text === undefined ? null : decodeResultMeta(text);
  }

  waitForReady(taskId: string, timeoutMs: number | null): Promise<ResultMeta> {
    const release = (w: Waiter): void => {
      const set = this.cache.waiters.get(taskId);
      set?.delete(w);
      if (set && set.size === 0) this.cache.waiters.delete(taskId);
    };
    return waitOnce(timeoutMs, () => new WaitTimeout(taskId, timeoutMs ?? 0), release, (waiter) => {
      const text = this.cache.get(taskKey(taskId));
      if (text !== undefined) {
        const meta = decodeResultMeta(text);
        if (READY_STATES.has(meta.status)) return waiter.resolve(meta);
      }
      let set = this.cache.waiters.get(taskId);
      if (!set) this.cache.waiters.set(taskId, (set = new Set()));
      set.add(waiter);
    });
  }

  async forget(taskId: string): Promise<void> {
    this.cache.delete(taskKey(taskId));
  }

  async saveGroup(groupId: string, meta: GroupMeta): Promise<void> {
    this.cache.set(groupKey(groupId), encodeResultMeta({ result: meta.result }));
  }

  async restoreGroup(groupId: string): Promise<GroupMeta | null> {
    const text = this.cache.get(groupKey(groupId));
    return text === undefined ? null : decodeGroupMeta(text);
  }

  async deleteGroup(groupId: string): Promise<void> {
    this.cache.delete(groupKey(groupId));
  }

  /** The number of header tasks of a chord (sent before its last member, as to Redis). */
  async setChordSize(groupId: string, size: number): Promise<void> {
    const join = this.chordJoin(groupId);
    join.size = size;
  }

  /**
   * One finished header task: `member` is the JSON text `[1, id, state, result]`. The call that
   * brings the count to the chord's size completes it, with every member in group-index order.
   */
  async onChordPartReturn(groupId: string, groupIndex: number | null, member: string): Promise<ChordPartResult> {
    const join = this.chordJoin(groupId);
    join.parts.push({ index: groupIndex ?? Number.POSITIVE_INFINITY, member });
    if (join.size === null || join.parts.length < join.size) return { complete: false, members: [] };
    this.cache.chords.delete(groupId);
    const members = [...join.parts].sort((a, b) => a.index - b.index).map((p) => p.member);
    return { complete: true, members };
  }

  private chordJoin(groupId: string): ChordJoin {
    let join = this.cache.chords.get(groupId);
    if (!join) this.cache.chords.set(groupId, (join = { size: null, parts: [] }));
    return join;
  }
}
