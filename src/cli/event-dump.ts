/**
 * `celeriac events --dump`: one line per event as `celery events --dump` prints it
 * (celery/events/dumper.py, after the Receiver's `event_from_message`):
 *
 *   <hostname> [<UTC datetime>] <type>: <field>=<value>, ...           (worker events)
 *   <hostname> [<UTC datetime>] <type>: <name>(<uuid>) args=.. kwargs=.. <field>=<value>, ...
 *
 * worker-online/heartbeat/offline read "started"/"heartbeat"/"shutdown", other types lose their
 * dashes ("task succeeded"); fields are sorted and printed as Python's `str()`; the timestamp is
 * shifted by the sender's utcoffset and `local_received` added, as Python's Receiver does.
 */
import type { CeleryEvent } from "../events/dispatcher";
import { utcoffset } from "../events/dispatcher";
import type { LamportClock } from "../events/clock";
import { pyFloat } from "../protocol/serializers/json";
import { pyStr } from "./remote-output";

const HUMAN_TYPES: Record<string, string> = { "worker-offline": "shutdown", "worker-online": "started", "worker-heartbeat": "heartbeat" };

/** The dumper's name for an event type. */
export function humanizeType(type: string): string {
  const t = type.toLowerCase();
  return HUMAN_TYPES[t] ?? t.replace(/-/g, " ");
}

/** Python `str(datetime.fromtimestamp(ts, timezone.utc))`: `2026-11-22 06:09:41.866133+00:00` (no fraction when 0). */
export function pyUtcDatetime(ts: number): string {
  let secs = Math.floor(ts);
  let micros = Math.round((ts - secs) * 1e6);
  if (micros >= 1e6) {
    secs += 1;
    micros -= 1e6;
  }
  const base = new Date(secs * 1000).toISOString().slice(0, 19).replace("T", " ");
  return `${base}${micros ? "." + String(micros).padStart(6, "0") : ""}+00:00`;
}

/** Prints events as Celery's Dumper, remembering task names from task-received/task-sent. */
export class EventDumper {
  private readonly taskNames = new Map<string, string>();

  constructor(private readonly clock: LamportClock, private readonly now: () => number = () => Date.now() / 1000) {}

  /** Celery's `Receiver.event_from_message`: clock, localized timestamp, local_received. */
  private localize(event: CeleryEvent): Record<string, unknown> {
    const ev: Record<string, unknown> = { ...event };
    if (ev.type === "task-sent") {
      // Clients never sync their clock, so Celery replaces it.
      ev.clock = (this.clock.value || 1) - 1;
      this.clock.adjust(ev.clock);
    } else if (ev.clock === undefined) {
      ev.clock = this.clock.forward();
    } else {
      this.clock.adjust(ev.clock);
    }
    if (typeof ev.timestamp === "number" && typeof ev.utcoffset === "number") ev.timestamp = ev.timestamp - (ev.utcoffset - utcoffset()) * 3600;
    ev.local_received = pyFloat(this.now());
    return ev;
  }

  /** The line Celery's Dumper prints for this event. */
  format(event: CeleryEvent): string {
    const ev = this.localize(event);
    const ts = typeof ev.timestamp === "number" ? ev.timestamp : this.now();
    const type = String(ev.type).toLowerCase();
    const hostname = pyStr(ev.hostname);
    delete ev.timestamp;
    delete ev.type;
    delete ev.hostname;
    let task: string | null = null;
    if (type.startsWith("task-")) {
      const uuid = pyStr(ev.uuid);
      delete ev.uuid;
      if (type === "task-received" || type === "task-sent") {
        task = `${pyStr(ev.name)}(${uuid}) args=${pyStr(ev.args)} kwargs=${pyStr(ev.kwargs)}`;
        delete ev.name;
        delete ev.args;
        delete ev.kwargs;
        this.taskNames.set(uuid, task);
      } else {
        task = this.taskNames.get(uuid) ?? "";
      }
    }
    const fields = Object.keys(ev)
      .sort()
      .map((k) => `${k}=${pyStr(ev[k])}`)
      .join(", ");
    const sep = fields ? ":" : "";
    const head = `${hostname} [${pyUtcDatetime(ts)}] ${humanizeType(type)}${sep}`;
    return task === null ? `${head} ${fields}` : `${head} ${task} ${fields}`;
  }
}
