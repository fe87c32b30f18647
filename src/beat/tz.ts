/**
 * Wall-clock arithmetic in IANA time zones with Node's ICU (`Intl.DateTimeFormat`), following
 * Python's zoneinfo rules (PEP 495) that Celery's schedules rely on:
 * - a repeated wall time (DST ends) means its first occurrence with fold=0, the second with fold=1;
 * - a skipped wall time (DST starts) is read with the offset before the gap when fold=0
 *   (02:30 → 03:30 summer time) and with the offset after it when fold=1.
 */

/** Wall-clock fields in a zone. `month` is 1–12, `weekday` 0–6 with 0 = Sunday (cron's numbering). */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

export interface ZonedWallTime extends WallTime {
  weekday: number;
  /** 1 when this instant is the second occurrence of a repeated wall time. */
  fold: 0 | 1;
  /** UTC offset in ms (local = utc + offset). */
  offsetMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Throws RangeError for a zone name ICU does not know. */
export function assertTimeZone(zone: string): string {
  formatter(zone);
  return zone;
}

/** The system's zone (Celery's `timezone.local`, used when `enable_utc` is off and no `timezone` is set). */
export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** The zone's UTC offset (ms) at an instant. */
export function offsetAt(zone: string, utcMs: number): number {
  if (zone === "UTC" || zone === "Etc/UTC") return 0;
  const whole = Math.floor(utcMs / 1000) * 1000;
  const parts = formatter(zone).formatToParts(new Date(whole));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  let year = get("year");
  // ICU prints era-less years; negative years do not occur for schedules.
  if (parts.some((p) => p.type === "era" && /^B/.test(p.value))) year = 1 - year;
  const asUtc = Date.UTC(year, get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return asUtc - whole;
}

/** Epoch ms of wall fields read as if they were UTC (no zone). */
export function wallToNaiveMs(w: WallTime): number {
  const d = new Date(0);
  d.setUTCFullYear(w.year, w.month - 1, w.day);
  d.setUTCHours(w.hour, w.minute, w.second, w.millisecond);
  return d.getTime();
}

function naiveMsToWall(ms: number): WallTime & { weekday: number } {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millisecond: d.getUTCMilliseconds(),
    weekday: d.getUTCDay(),
  };
}

const DAY_MS = 86_400_000;

/** Every instant whose wall time in `zone` is `w`, ascending (0 in a gap, 2 in a repeated hour). */
export function possibleInstants(w: WallTime, zone: string): number[] {
  const naive = wallToNaiveMs(w);
  const before = offsetAt(zone, naive - DAY_MS);
  const after = offsetAt(zone, naive + DAY_MS);
  const out: number[] = [];
  for (const off of before === after ? [before] : [before, after]) {
    const t = naive - off;
    if (t + offsetAt(zone, t) === naive) out.push(t);
  }
  return out.sort((a, b) => a - b);
}

/** The instant of wall time `w` in `zone` (zoneinfo's reading with `fold`). */
export function zonedToUtc(w: WallTime, zone: string, fold: 0 | 1 = 0): number {
  const found = possibleInstants(w, zone);
  if (found.length === 1) return found[0];
  if (found.length === 2) return found[fold];
  // In a gap: fold=0 uses the offset before the transition, fold=1 the one after.
  const naive = wallToNaiveMs(w);
  const off = fold === 0 ? offsetAt(zone, naive - DAY_MS) : offsetAt(zone, naive + DAY_MS);
  return naive - off;
}

/** Wall-clock fields of an instant in `zone`. */
export function utcToZoned(utcMs: number, zone: string): ZonedWallTime {
  const offsetMs = offsetAt(zone, utcMs);
  const w = naiveMsToWall(utcMs + offsetMs);
  let fold: 0 | 1 = 0;
  if (offsetMs !== offsetAt(zone, utcMs - 3 * 3600_000) || offsetMs !== offsetAt(zone, utcMs + 3 * 3600_000)) {
    const found = possibleInstants(w, zone);
    if (found.length === 2 && Math.floor(utcMs) === found[1]) fold = 1;
  }
  return { ...w, weekday: naiveMsToWall(wallToNaiveMs(w)).weekday, fold, offsetMs };
}

/** Days in a month (1–12) of a year. */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Weekday 0–6 (Sunday = 0) of a calendar date. */
export function weekdayOf(year: number, month: number, day: number): number {
  return naiveMsToWall(wallToNaiveMs({ year, month, day, hour: 0, minute: 0, second: 0, millisecond: 0 })).weekday;
}

/** Calendar date `days` after the given one. */
export function addDays(w: WallTime, days: number): WallTime {
  const n = naiveMsToWall(wallToNaiveMs(w) + days * DAY_MS);
  return { year: n.year, month: n.month, day: n.day, hour: w.hour, minute: w.minute, second: w.second, millisecond: w.millisecond };
}

/** Compare two wall times (negative, 0, positive). */
export function compareWall(a: WallTime, b: WallTime): number {
  return wallToNaiveMs(a) - wallToNaiveMs(b);
}
