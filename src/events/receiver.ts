/**
 * Event receiver (Celery `app.events.Receiver`): subscribes to `celeryev` with a binding key
 * (`#` = everything; Redis PSUBSCRIBE `/{db}.celeryev/*`, AMQP an auto-delete `celeryev.<uuid>`
 * queue) and calls the handler for every event, unpacking `task.multi` arrays.
 */
import { decodeMessageBody } from "../protocol/decode";
import { isWireObject } from "../protocol/message";
import type { RawMessage, WireValue } from "../protocol/message";
import type { Transport } from "../transport/types";
import type { LamportClock } from "./clock";
import { EVENT_EXCHANGE, type CeleryEvent } from "./dispatcher";

export interface EventReceiverOptions {
  /** Binding key (default "#"). */
  routingKey?: string;
  accept?: readonly string[];
  clock?: LamportClock;
  onError?: (err: Error) => void;
}

function optionalOfType(v: WireValue | undefined, type: "string" | "number"): boolean {
  return v === undefined || typeof v === type;
}

/** True for an event: a mapping with a string `type`, and hostname, timestamp, clock (when present) of their types. */
function isCeleryEvent(e: WireValue): e is CeleryEvent {
  return (
    isWireObject(e) &&
    typeof e.type === "string" &&
    optionalOfType(e.hostname, "string") &&
    optionalOfType(e.timestamp, "number") &&
    optionalOfType(e.clock, "number")
  );
}

/** Decode an event message: one event or an array of them (anything else in it is dropped). */
export function decodeEvents(message: RawMessage, accept: readonly string[] = ["json"]): CeleryEvent[] {
  const body = decodeMessageBody(message, accept);
  const list = Array.isArray(body) ? body : [body];
  return list.filter(isCeleryEvent);
}

export class EventReceiver {
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(
    private readonly transport: Transport,
    private readonly handler: (event: CeleryEvent) => void,
    private readonly options: EventReceiverOptions = {},
  ) {}

  async start(): Promise<void> {
    if (this.unsubscribe) return;
    this.unsubscribe = await this.transport.subscribe(EVENT_EXCHANGE, this.options.routingKey ?? "#", (message) => {
      let events: CeleryEvent[];
      try {
        events = decodeEvents(message, this.options.accept ?? ["json"]);
      } catch (err) {
        this.options.onError?.(err as Error);
        return;
      }
      for (const event of events) {
        if (this.options.clock) this.options.clock.adjust(event.clock);
        this.handler(event);
      }
    });
  }

  async stop(): Promise<void> {
    const u = this.unsubscribe;
    this.unsubscribe = null;
    if (u) await u();
  }
}
