/**
 * What runs now, in the order it started: an array, not a `Set`.
 *
 * At a steady concurrency a `Set` that gains and loses an entry per task has V8 replace its hash
 * table every few tasks, and a replaced table keeps a link to its successor and the entries it
 * held (for iterators that were open on it). Once one replaced table sits in old space, dead but
 * uncollected until the next full GC, every table after it, and every request they held with its
 * message, survives the scavenges in between and is promoted: with `-c 16` that was ~20% of a
 * drain's allocation (bench/NOTES.md, "What a drain promotes"). An array leaves no such trail.
 */
export class RunningList<T> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  add(item: T): void {
    this.items.push(item);
  }

  /** Remove `item`; false when it was not there. */
  delete(item: T): boolean {
    const i = this.items.indexOf(item);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** A copy, oldest first. */
  toArray(): T[] {
    return this.items.slice();
  }

  /** Iterates a copy: deleting while iterating skips nothing. */
  [Symbol.iterator](): Iterator<T> {
    return this.toArray()[Symbol.iterator]();
  }
}
