/**
 * Connection state of a running transport or result backend, told to whoever logs it (the
 * worker logs Celery's `Connection to broker lost` / `Connected to <url>` lines). Only changes
 * are told: one `lost` per outage, one `connected` when it ends, and a `failed` reconnect attempt
 * only when its reason differs from the previous one — never one event per retry.
 */
import { connectionFailure } from "./errors";
import { maskUrl } from "./url";

/** A change of a connection's state. `url` has its password masked. */
export type ConnectionStateEvent =
  /** The connection was lost; the client reconnects by itself. */
  | { state: "lost"; url: string; reason: string }
  /** A reconnect attempt failed for a reason other than the previous attempt's. */
  | { state: "failed"; url: string; reason: string }
  /** Connected again after a loss. */
  | { state: "connected"; url: string };

/** Told about connection state changes. */
export type ConnectionStateListener = (event: ConnectionStateEvent) => void;

/** Listeners of one connection's state; a failing listener never breaks the connection. */
export class ConnectionStateEmitter {
  private readonly listeners = new Set<ConnectionStateListener>();
  private lastFailure: string | null = null;
  private down = false;

  /** Add a listener; returns its removal. */
  on(listener: ConnectionStateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** True when someone listens (callers may then skip their own warnings). */
  get observed(): boolean {
    return this.listeners.size > 0;
  }

  /** The connection went down (told once per outage). */
  lost(url: string, error: unknown): void {
    if (this.down) return;
    this.down = true;
    const failure = connectionFailure(url, error);
    this.lastFailure = failure.reason;
    this.emit({ state: "lost", url: failure.url, reason: failure.reason });
  }

  /** A reconnect attempt failed (told when the reason changed). */
  failed(url: string, error: unknown): void {
    if (!this.down) return;
    const failure = connectionFailure(url, error);
    if (failure.reason === this.lastFailure) return;
    this.lastFailure = failure.reason;
    this.emit({ state: "failed", url: failure.url, reason: failure.reason });
  }

  /** The connection is up again (told only after a loss). */
  connected(url: string): void {
    if (!this.down) return;
    this.down = false;
    this.lastFailure = null;
    this.emit({ state: "connected", url: maskUrl(url) });
  }

  private emit(event: ConnectionStateEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch {
        /* a logging listener must not break the connection */
      }
    }
  }
}
