/**
 * Celery ≥ 5.3's revoke by stamped headers (`worker.state.revoked_stamps`, the
 * `revoke_by_stamped_headers` control command and `Request.revoked()`): stamp values flagged as
 * revoked per stamp name; a task whose stamps carry one of them is discarded as REVOKED.
 */
import type { DecodedTask, WireValue } from "../protocol/message";
import { pyRepr, pyStr } from "../protocol/repr";

/** One stamp that revoked a task, e.g. `{ batch: "b1" }`. */
export interface RevokingStamp {
  header: string;
  value: WireValue;
}

const asList = (v: WireValue | undefined): WireValue[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);
/** Python `==` for the JSON values stamps are made of. */
const same = (a: WireValue, b: WireValue): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

/** Celery accepts `["k=v", ...]` as well as `{k: v | [v, ...]}`. */
export function stampHeadersFrom(input: WireValue | undefined): { [header: string]: WireValue } {
  if (Array.isArray(input)) {
    const out: { [header: string]: WireValue } = {};
    for (const item of input) {
      const [k, v] = pyStr(item).split("=");
      out[k] = v ?? "";
    }
    return out;
  }
  return input && typeof input === "object" && !(input instanceof Date) && !Buffer.isBuffer(input) ? (input) : {};
}

/** The revoked stamp values of a worker. */
export class RevokedStamps {
  private readonly byHeader = new Map<string, WireValue[]>();

  /** Flag `headers` (stamp name → value or values) as revoked, appending to what is flagged. */
  add(headers: { [header: string]: WireValue }): void {
    for (const [header, stamps] of Object.entries(headers)) {
      this.byHeader.set(header, [...(this.byHeader.get(header) ?? []), ...asList(stamps)]);
    }
  }

  get size(): number {
    return this.byHeader.size;
  }

  /** The first stamp of `task` (in stamped_headers order) whose value is revoked, as Celery's `Request.revoked()`. */
  match(task: DecodedTask): RevokingStamp | null {
    if (!this.byHeader.size || !task.stampedHeaders) return null;
    for (const header of task.stampedHeaders) {
      const revoked = this.byHeader.get(header);
      const stamped = task.stamps[header];
      if (!revoked || stamped === undefined || stamped === null) continue;
      for (const value of Array.isArray(stamped) ? stamped : [stamped]) {
        if (revoked.some((r) => same(r, value))) return { header, value };
      }
    }
    return null;
  }
}

/** Stamps of `task` matching `headers` (the terminate half of the command), header → matched values. */
export function matchingStamps(task: DecodedTask, headers: { [header: string]: WireValue }): Map<string, WireValue[]> {
  const out = new Map<string, WireValue[]>();
  for (const [header, expected] of Object.entries(headers)) {
    const actual = task.stampedHeaders?.includes(header) ? task.stamps[header] : undefined;
    if (actual === undefined || actual === null) continue;
    const hits = asList(actual).filter((a) => asList(expected).some((e) => same(a, e)));
    if (hits.length) out.set(header, hits);
  }
  return out;
}

/** Python's repr of the `defaultdict(set)` Celery reports terminated stamps with. */
export function terminatedRepr(terminated: Map<string, WireValue[]>): string {
  const items = [...terminated].map(([k, vs]) => `${pyRepr(k)}: {${[...new Set(vs.map((v) => pyRepr(v)))].join(", ")}}`);
  return `defaultdict(<class 'set'>, {${items.join(", ")}})`;
}
