/**
 * A broker URL list (`broker_url = "amqp://h1;amqp://h2"`) and Celery's `broker_failover_strategy`,
 * as kombu's `Connection` reads them: the URLs are the `;`-separated parts; the first is tried
 * first, then each failed attempt moves to the next URL the strategy gives ("round-robin": the
 * list in order, again and again; "shuffle": a random URL each time), and the retry interval is
 * waited only once every URL of a round failed (kombu's `completes_cycle`).
 */

/** Celery's `broker_failover_strategy` names (kombu's `failover_strategies`). */
export type FailoverStrategy = "round-robin" | "shuffle";

/** The URLs of a `;`-separated broker URL (one URL gives a list of one). */
export function splitBrokerUrls(url: string): string[] {
  const urls = url.split(";").map((u) => u.trim()).filter(Boolean);
  return urls.length > 0 ? urls : [url];
}

/** Which URL to try now, and which next after a failure. */
export class FailoverCycle<T> {
  private index = 0;
  private readonly pick: () => number;

  /** `random` (0 ≤ r < 1) is Math.random unless given (tests). */
  constructor(
    readonly items: readonly T[],
    strategy: FailoverStrategy | null = "round-robin",
    random: () => number = Math.random,
  ) {
    if (items.length === 0) throw new Error("a failover list needs at least one URL");
    const name = strategy ?? "round-robin";
    if (name === "round-robin") this.pick = () => (this.index + 1) % items.length;
    else if (name === "shuffle") this.pick = () => Math.floor(random() * items.length);
    else throw new Error(`unknown broker_failover_strategy '${String(name)}' (known: round-robin, shuffle)`);
  }

  /** The URL to use now. */
  get current(): T {
    return this.items[this.index];
  }

  /** Move on after a failed attempt; returns the new current URL. */
  next(): T {
    this.index = this.pick();
    return this.current;
  }

  /** kombu's completes_cycle: true when `failures` failed attempts end a round over every URL (then the retry interval is waited). */
  completesCycle(failures: number): boolean {
    return failures % this.items.length === 0;
  }
}
