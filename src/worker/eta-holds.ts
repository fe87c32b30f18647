/**
 * Requests held until their ETA (Celery's timer entries for eta/countdown tasks): each waits on a
 * long timer (any length); their messages stay unacked meanwhile.
 */
import { setLongTimeout } from "./long-timer";
import type { LongTimer } from "./long-timer";
import type { Request } from "./request";

/** The ETA-held requests of one consumer. */
export class EtaHolds {
  private readonly held = new Map<Request, LongTimer>();

  /** `onChange` runs after a request is held or leaves the holds before shutdown (the count changed). */
  constructor(private readonly onChange: () => void) {}

  /** How many requests are held. */
  get size(): number {
    return this.held.size;
  }

  /** The held requests, oldest first. */
  get requests(): readonly Request[] {
    return [...this.held.keys()];
  }

  /** Hold `request` for `delayMs`; then it leaves the holds and `due(request)` runs. */
  hold(request: Request, delayMs: number, due: (request: Request) => void): void {
    this.held.set(
      request,
      setLongTimeout(() => {
        this.remove(request);
        due(request);
      }, delayMs),
    );
    this.onChange();
  }

  /** Take the held requests `which` picks out of the holds at once (their timers are cleared), in order. */
  take(which: (request: Request) => boolean, each: (request: Request) => void): void {
    for (const [request, timer] of this.held) {
      if (!which(request)) continue;
      timer.clear();
      this.remove(request);
      each(request);
    }
  }

  /** Shutdown: clear every timer and return all held requests (no change is reported). */
  takeAll(): Request[] {
    const all = [...this.held.keys()];
    for (const timer of this.held.values()) timer.clear();
    this.held.clear();
    return all;
  }

  private remove(request: Request): void {
    this.held.delete(request);
    this.onChange();
  }
}
