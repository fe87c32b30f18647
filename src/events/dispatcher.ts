/**
 * Event dispatcher (docs/protocol.md §11): one JSON message per event on the `celeryev` exchange with
 * routing key = type with "-" → "." (`worker.heartbeat`, `task.succeeded`), header
 * `{hostname}`, delivery_mode 1. Redis publishes on `/{db}.celeryev/<routing key>`, AMQP on the
 * topic exchange `celeryev` (both through `Transport.broadcast`). Task events are sent one by
 * one (receivers accept both single events and `task.multi` arrays).
 */
import { hostname as osHostname } from "node:os";
import { encodeBody } from "../protocol/encode";
import type { RawMessage, WireObject } from "../protocol/message";
import { pyFloat } from "../protocol/serializers/json";
import type { SerializerName } from "../protocol/serializers";
import type { Transport } from "../transport/types";
import { LamportClock } from "./clock";
import { EVENT_EXCHANGE } from "../protocol/exchanges";

export { EVENT_EXCHANGE };

/** Python `time.timezone // 3600`: hours WEST of UTC (sign inverted). */
export function utcoffset(now: Date = new Date()): number {
  return Math.floor(now.getTimezoneOffset() / 60);
}

/** The routing key of an event type: `task-succeeded` → `task.succeeded`. */
export function eventRoutingKey(type: string): string {
  return type.replace(/-/g, ".");
}

export interface EventDispatcherOptions {
  /** Node name put in `hostname` (default `gen<pid>@<host>`, Celery's anonymous node name). */
  hostname?: string;
  clock?: LamportClock;
  serializer?: SerializerName;
  /** When false, `send` does nothing (events off). Default true. */
  enabled?: boolean;
  /** Errors while publishing (default: ignored, as events are best effort). */
  onError?: (err: Error) => void;
}

/** Sends Celery events on a transport. */
export class EventDispatcher {
  readonly hostname: string;
  readonly clock: LamportClock;
  enabled: boolean;
  private readonly serializer: SerializerName;
  private readonly onError: (err: Error) => void;

  constructor(private readonly transport: Transport, options: EventDispatcherOptions = {}) {
    this.hostname = options.hostname ?? `gen${process.pid}@${osHostname()}`;
    this.clock = options.clock ?? new LamportClock();
    this.serializer = options.serializer ?? "json";
    this.enabled = options.enabled ?? true;
    this.onError = options.onError ?? (() => undefined);
  }

  /**
   * The event object as Celery builds it: hostname, utcoffset, pid, clock, the fields, then
   * timestamp (a float) and type.
   */
  build(type: string, fields: Record<string, unknown> = {}, now: number = Date.now()): Record<string, unknown> {
    return {
      hostname: this.hostname,
      utcoffset: utcoffset(new Date(now)),
      pid: process.pid,
      clock: this.clock.forward(),
      ...fields,
      timestamp: pyFloat(now / 1000),
      type,
    };
  }

  /** Encode an event (or an array of events) as a message. */
  message(body: unknown): RawMessage {
    const enc = encodeBody(body, this.serializer);
    return {
      body: enc.body,
      contentType: enc.contentType,
      contentEncoding: enc.contentEncoding,
      headers: { hostname: this.hostname },
      properties: { delivery_mode: 1 },
    };
  }

  /** Send one event; resolves when published (never rejects: errors go to onError). */
  async send(type: string, fields: Record<string, unknown> = {}): Promise<Record<string, unknown> | null> {
    if (!this.enabled) return null;
    const event = this.build(type, fields);
    try {
      await this.transport.broadcast(EVENT_EXCHANGE, eventRoutingKey(type), this.message(event));
    } catch (err) {
      this.onError(err as Error);
    }
    return event;
  }
}

/** A decoded event as receivers see it: a mapping with a string `type` (see `decodeEvents`). */
export type CeleryEvent = WireObject & { type: string; hostname?: string; timestamp?: number; clock?: number };
