/**
 * Schedules of periodic tasks with the semantics of Celery's `celery.schedules`: `schedule`
 * (intervals), `crontab` and `solar`. Times are epoch milliseconds; wall-clock reasoning happens
 * in the app's time zone, passed in a ScheduleContext (Celery binds the app instead).
 */
import {
  addDays,
  compareWall,
  daysInMonth,
  utcToZoned,
  weekdayOf,
  zonedToUtc,
  type WallTime,
} from "./tz";
import { pyStrRepr } from "../protocol/repr";
import { requireOptional } from "../protocol/optional-package";

/** What a schedule needs from the app: the zone crontabs are read in, and optional settings. */
export interface ScheduleContext {
  /** IANA zone name (Celery's `app.timezone`). */
  timezone: string;
  /** `beat_cron_starting_deadline` (s): a crontab run missed by more than this is not caught up. */
  cronStartingDeadline?: number | null;
}

/** Celery's `schedstate`: is the entry due now, and in how many seconds to check again. */
export interface ScheduleState {
  isDue: boolean;
  /** Seconds until the next check (Celery's `next`). */
  next: number;
}

/** JSON form of a schedule (stored in Redis, used by the CLI). */
export type ScheduleJSON =
  | { type: "interval"; every: number; relative?: boolean }
  | {
      type: "crontab";
      minute: CronSpec;
      hour: CronSpec;
      day_of_week: CronSpec;
      day_of_month: CronSpec;
      month_of_year: CronSpec;
    }
  | { type: "solar"; event: SolarEvent; lat: number; lon: number };

/** Every schedule: `remainingEstimate` and `isDue` as Celery defines them. */
export interface Schedule {
  /** ms from `now` to the run that follows `lastRunAt` (negative when overdue). */
  remainingEstimate(lastRunAt: number, now: number, ctx: ScheduleContext): number;
  /** Celery's `is_due(last_run_at)`. */
  isDue(lastRunAt: number, now: number, ctx: ScheduleContext): ScheduleState;
  toJSON(): ScheduleJSON;
  /** Celery's repr, e.g. `<crontab: 0 9 * * * (m/h/dM/MY/d)>`. */
  toString(): string;
}

/* ------------------------------------------------------------------ interval */

/** Celery's `humanize_seconds`. */
export function humanizeSeconds(secs: number, prefix = "", now = "now"): string {
  const s = Number(secs.toFixed(2));
  const units: Array<[string, number]> = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
  for (const [unit, div] of units) {
    if (s >= div) {
      const w = s / div;
      return `${prefix}${w.toFixed(2)} ${w === 1 ? unit : unit + "s"}`;
    }
  }
  return now;
}

/** Celery's `schedule(run_every, relative)`: every N seconds after the last run. */
export class IntervalSchedule implements Schedule {
  /** Interval in seconds. */
  readonly seconds: number;
  readonly relative: boolean;
  constructor(runEvery: number, relative = false) {
    if (typeof runEvery !== "number" || !Number.isFinite(runEvery)) throw new TypeError(`interval must be a number of seconds, got ${String(runEvery)}`);
    this.seconds = Math.max(runEvery, 0);
    this.relative = relative;
  }

  private endAt(lastRunAt: number, ctx: ScheduleContext): number {
    const ms = this.seconds * 1000;
    const end = lastRunAt + ms;
    if (!this.relative) return end;
    // relative=True: round the deadline down to the interval's resolution (day/hour/minute) in local time.
    if (this.seconds >= 86400) {
      const w = addDays(utcToZoned(lastRunAt, ctx.timezone), Math.floor(this.seconds / 86400));
      return zonedToUtc({ ...w, hour: 0, minute: 0, second: 0, millisecond: 0 }, ctx.timezone, 0);
    }
    const w = utcToZoned(end, ctx.timezone);
    const rounded: WallTime =
      this.seconds >= 3600
        ? { ...w, minute: 0, second: 0, millisecond: 0 }
        : this.seconds >= 60
          ? { ...w, second: 0, millisecond: 0 }
          : { ...w, millisecond: 0 };
    const candidates = [zonedToUtc(rounded, ctx.timezone, 0), zonedToUtc(rounded, ctx.timezone, 1)];
    const before = candidates.filter((c) => c <= end);
    const r = before.length ? Math.max(...before) : Math.min(...candidates);
    return r > lastRunAt ? r : end;
  }

  remainingEstimate(lastRunAt: number, now: number, ctx: ScheduleContext): number {
    return this.endAt(lastRunAt, ctx) - now;
  }

  isDue(lastRunAt: number, now: number, ctx: ScheduleContext): ScheduleState {
    const rem = Math.max(this.remainingEstimate(lastRunAt, now, ctx), 0);
    if (rem === 0) {
      let next = this.seconds;
      if (this.relative) {
        const r = this.remainingEstimate(now, now, ctx) / 1000;
        if (r > 0) next = r;
      }
      return { isDue: true, next };
    }
    return { isDue: false, next: rem / 1000 };
  }

  toJSON(): ScheduleJSON {
    return this.relative ? { type: "interval", every: this.seconds, relative: true } : { type: "interval", every: this.seconds };
  }

  toString(): string {
    return `<freq: ${humanizeSeconds(this.seconds)}>`;
  }
}

/** Celery's `schedule(run_every)`. */
export function schedule(runEvery: number, relative = false): IntervalSchedule {
  return new IntervalSchedule(runEvery, relative);
}

/* ------------------------------------------------------------------ crontab */

/** A crontab field: a number, a pattern string (`*`, `*\/15`, `1-5`, `mon-fri`, `1,13,30-45,50-59/2`), or a list of numbers. */
export type CronSpec = number | string | number[];

export class ParseException extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ParseException";
  }
}

const DAYNAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const MONTHNAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/**
 * Celery's `crontab_parser(max_, min_)`: expands `groups :: expr (',' expr)*` where
 * `expr :: ('*' | number ('-' number)?) ('/' steps)?` and numbers may be day or month names.
 */
export class CrontabParser {
  constructor(readonly max: number = 60, readonly min: number = 0) {}

  parse(spec: string): Set<number> {
    const acc = new Set<number>();
    for (const part of spec.split(",")) {
      if (!part) throw new ParseException("empty part");
      for (const n of this.parsePart(part)) acc.add(n);
    }
    return acc;
  }

  private parsePart(part: string): number[] {
    // The patterns are tried in Celery's order and, like re.match, anchored only at the start.
    let m = /^(\w+?)-(\w+)\/(\w+)?/.exec(part);
    if (m) {
      if (!m[3]) throw new ParseException("empty filter");
      return stepped(this.expandRange(m[1], m[2]), this.step(m[3]));
    }
    m = /^(\w+?)-(\w+)/.exec(part);
    if (m) return this.expandRange(m[1], m[2]);
    m = /^\*\/(\w+)?/.exec(part);
    if (m) {
      if (!m[1]) throw new ParseException("empty filter");
      return stepped(this.expandStar(), this.step(m[1]));
    }
    if (part === "*") return this.expandStar();
    return this.expandRange(part);
  }

  private step(text: string): number {
    if (!/^\s*[+]?\d+\s*$/.test(text)) throw new Error(`invalid literal for int() with base 10: '${text}'`);
    const n = parseInt(text, 10);
    if (n === 0) throw new Error("slice step cannot be zero");
    return n;
  }

  private expandRange(fromText: string, toText?: string): number[] {
    const from = this.expandNumber(fromText);
    if (toText === undefined) return [from];
    const to = this.expandNumber(toText);
    const out: number[] = [];
    if (to < from) {
      // Wraps around max, e.g. fri-mon.
      for (let i = from; i < this.min + this.max; i++) out.push(i);
      for (let i = this.min; i <= to; i++) out.push(i);
    } else {
      for (let i = from; i <= to; i++) out.push(i);
    }
    return out;
  }

  private expandStar(): number[] {
    const out: number[] = [];
    for (let i = this.min; i < this.max + this.min; i++) out.push(i);
    return out;
  }

  private expandNumber(s: string): number {
    if (s.startsWith("-")) throw new ParseException("negative numbers not supported");
    let i: number;
    if (/^\s*[+]?\d+\s*$/.test(s)) i = parseInt(s, 10);
    else {
      const abbr = s.slice(0, 3).toLowerCase();
      if (MONTHNAMES.includes(abbr)) i = MONTHNAMES.indexOf(abbr) + 1;
      else if (DAYNAMES.includes(abbr)) i = DAYNAMES.indexOf(abbr);
      else throw new Error(`Invalid weekday literal '${s}'.`);
    }
    const maxVal = this.min + this.max - 1;
    if (i > maxVal) throw new Error(`Invalid end range: ${i} > ${maxVal}.`);
    if (i < this.min) throw new Error(`Invalid beginning range: ${i} < ${this.min}.`);
    return i;
  }
}

function stepped(values: number[], step: number): number[] {
  return values.filter((_, i) => i % step === 0);
}

/** Longest month lengths (February 29), as Celery checks day_of_month × month_of_year. */
const CRON_DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function expandCronspec(spec: CronSpec, max: number, min = 0): Set<number> {
  let result: Set<number>;
  if (typeof spec === "number") {
    if (!Number.isInteger(spec)) throw new TypeError(`crontab field must be an integer, got ${spec}`);
    result = new Set([spec]);
  } else if (typeof spec === "string") result = new CrontabParser(max, min).parse(spec);
  else if (Array.isArray(spec)) result = new Set(spec);
  else throw new TypeError(`Argument cronspec needs to be of any of the following types: int, str, or an iterable type. ${typeof spec} was given.`);
  for (const n of result) {
    if (!Number.isInteger(n) || n >= max + min || n < min) {
      throw new Error(`Invalid crontab pattern.  Valid range is ${min}-${max - 1 + min}. '${n}' was found.`);
    }
  }
  return result;
}

/** Fields of `crontab({...})`, Celery's keyword names (camelCase accepted too). */
export interface CrontabFields {
  minute?: CronSpec | Set<number>;
  hour?: CronSpec | Set<number>;
  day_of_week?: CronSpec | Set<number>;
  day_of_month?: CronSpec | Set<number>;
  month_of_year?: CronSpec | Set<number>;
  dayOfWeek?: CronSpec | Set<number>;
  dayOfMonth?: CronSpec | Set<number>;
  monthOfYear?: CronSpec | Set<number>;
}

function sorted(set: Set<number>): number[] {
  return [...set].sort((a, b) => a - b);
}

/** bisect.bisect_right */
function bisectRight(a: number[], x: number): number {
  let i = 0;
  while (i < a.length && a[i] <= x) i++;
  return i;
}

/** bisect.bisect_left */
function bisectLeft(a: number[], x: number): number {
  let i = 0;
  while (i < a.length && a[i] < x) i++;
  return i;
}

function specText(spec: CronSpec): string {
  if (Array.isArray(spec)) return `{${spec.join(", ")}}`;
  return String(spec);
}

/** Python's `repr` of a cron field as given: 31, '1-15', {1, 15}. */
function specRepr(spec: CronSpec): string {
  return typeof spec === "string" ? pyStrRepr(spec) : specText(spec);
}

/** Celery's `crontab`: runs when minute, hour, day of week, day of month and month all match, in the app's zone. */
export class Crontab implements Schedule {
  readonly minute: Set<number>;
  readonly hour: Set<number>;
  readonly dayOfWeek: Set<number>;
  readonly dayOfMonth: Set<number>;
  readonly monthOfYear: Set<number>;
  readonly orig: { minute: CronSpec; hour: CronSpec; dayOfWeek: CronSpec; dayOfMonth: CronSpec; monthOfYear: CronSpec };

  constructor(fields: CrontabFields = {}) {
    const f = (v: CronSpec | Set<number> | undefined | null): CronSpec =>
      v === undefined || v === null ? "*" : v instanceof Set ? [...v].sort((a, b) => a - b) : v;
    this.orig = {
      minute: f(fields.minute),
      hour: f(fields.hour),
      dayOfWeek: f(fields.day_of_week ?? fields.dayOfWeek),
      dayOfMonth: f(fields.day_of_month ?? fields.dayOfMonth),
      monthOfYear: f(fields.month_of_year ?? fields.monthOfYear),
    };
    this.hour = expandCronspec(this.orig.hour, 24);
    this.minute = expandCronspec(this.orig.minute, 60);
    this.dayOfWeek = expandCronspec(this.orig.dayOfWeek, 7);
    this.dayOfMonth = expandCronspec(this.orig.dayOfMonth, 31, 1);
    this.monthOfYear = expandCronspec(this.orig.monthOfYear, 12, 1);
    for (const [name, set] of [["minute", this.minute], ["hour", this.hour], ["day_of_week", this.dayOfWeek], ["day_of_month", this.dayOfMonth], ["month_of_year", this.monthOfYear]] as const) {
      if (set.size === 0) throw new Error(`crontab: ${name} matches nothing`);
    }
    let possible = false;
    for (const month of this.monthOfYear) for (const day of this.dayOfMonth) if (day <= CRON_DAYS_IN_MONTH[month]) possible = true;
    if (!possible) {
      throw new Error(
        `Invalid crontab: day_of_month ${specRepr(this.orig.dayOfMonth)} never occurs in month_of_year ${specRepr(this.orig.monthOfYear)}.`,
      );
    }
  }

  /** `crontab.from_string("m h dom mon dow")`. */
  static fromString(expr: string): Crontab {
    const parts = expr.trim().split(/\s+/);
    if (parts.length !== 5) throw new Error(`crontab expression needs 5 fields (minute hour day_of_month month_of_year day_of_week): ${expr}`);
    const [minute, hour, day_of_month, month_of_year, day_of_week] = parts;
    return new Crontab({ minute, hour, day_of_month, month_of_year, day_of_week });
  }

  /** Wall time of the first run after `last` (Celery's `remaining_delta`, before adding it to the date). */
  nextWallTime(last: WallTime & { weekday: number }): WallTime {
    const dowNum = last.weekday;
    const minutes = sorted(this.minute);
    const hours = sorted(this.hour);
    const executeThisDate = this.monthOfYear.has(last.month) && this.dayOfMonth.has(last.day) && this.dayOfWeek.has(dowNum);
    const executeThisHour = executeThisDate && this.hour.has(last.hour) && last.minute < minutes[minutes.length - 1];
    const at = (date: { year: number; month: number; day: number }, hour: number, minute: number): WallTime => ({
      year: date.year,
      month: date.month,
      day: date.day,
      hour,
      minute,
      second: 0,
      millisecond: 0,
    });
    if (executeThisHour) {
      return at(last, last.hour, minutes.find((m) => m > last.minute)!);
    }
    const nextMinute = minutes[0];
    if (executeThisDate && last.hour < hours[hours.length - 1]) {
      return at(last, hours.find((h) => h > last.hour)!, nextMinute);
    }
    const nextHour = hours[0];
    if (this.orig.dayOfMonth === "*" && this.orig.monthOfYear === "*") {
      const days = sorted(this.dayOfWeek);
      const nextDay = days.find((d) => d > dowNum) ?? days[0];
      const addWeek = nextDay === dowNum;
      const shift = ((nextDay - dowNum + 7) % 7) + (addWeek ? 7 : 0);
      return addDays(at(last, nextHour, nextMinute), shift);
    }
    return this.deltaToNext(last, nextHour, nextMinute);
  }

  /** Celery's `_delta_to_next`: the next matching date when day_of_month / month_of_year restrict it. */
  private deltaToNext(last: WallTime, nextHour: number, nextMinute: number): WallTime {
    const doms = sorted(this.dayOfMonth);
    const moys = sorted(this.monthOfYear);
    let year = last.year;
    let dom: number;
    let moy: number;
    const outOfRange = (y: number, m: number, d: number) => d > daysInMonth(y, m);
    const beforeLastRun = (y: number, m: number, d: number) =>
      compareWall({ year: y, month: m, day: d, hour: nextHour, minute: nextMinute, second: 0, millisecond: 0 }, last) < 0;
    const rollOver = () => {
      for (let i = 0; i < 2000; i++) {
        const flag = dom === doms.length || outOfRange(year, moys[moy], doms[dom]) || beforeLastRun(year, moys[moy], doms[dom]);
        if (!flag) return;
        dom = 0;
        moy++;
        if (moy === moys.length) {
          moy = 0;
          year++;
        }
      }
      throw new Error("unable to rollover, time specification is probably invalid");
    };
    if (this.monthOfYear.has(last.month)) {
      dom = bisectRight(doms, last.day);
      moy = bisectLeft(moys, last.month);
    } else {
      dom = 0;
      moy = bisectRight(moys, last.month);
      if (moy === moys.length) moy = 0;
    }
    rollOver();
    for (let guard = 0; ; guard++) {
      if (guard > 100_000) throw new Error("unable to find a matching day, time specification is probably invalid");
      if (this.dayOfWeek.has(weekdayOf(year, moys[moy], doms[dom]))) break;
      dom++;
      rollOver();
    }
    return { year, month: moys[moy], day: doms[dom], hour: nextHour, minute: nextMinute, second: 0, millisecond: 0 };
  }

  /**
   * Instant of the first run after `lastRunAt`. Celery reads the computed wall time with fold=0;
   * when that lands at or before `lastRunAt` (only inside the repeated hour when DST ends, where
   * Celery would then fire on every tick) its second occurrence is taken instead.
   */
  nextRunAt(lastRunAt: number, ctx: ScheduleContext): number {
    const last = utcToZoned(lastRunAt, ctx.timezone);
    const wall = this.nextWallTime(last);
    let at = zonedToUtc(wall, ctx.timezone, 0);
    if (at <= lastRunAt) at = Math.max(at, zonedToUtc(wall, ctx.timezone, 1));
    return at;
  }

  remainingEstimate(lastRunAt: number, now: number, ctx: ScheduleContext): number {
    return this.nextRunAt(lastRunAt, ctx) - now;
  }

  isDue(lastRunAt: number, now: number, ctx: ScheduleContext): ScheduleState {
    const remMs = this.remainingEstimate(lastRunAt, now, ctx);
    let rem = Math.max(remMs, 0);
    let due = rem === 0;
    let passedDeadline = false;
    const deadline = ctx.cronStartingDeadline;
    if (deadline !== undefined && deadline !== null && remMs < 0) {
      // No run falls in [now - deadline, now]: the missed one is too stale to catch up.
      const since = now - deadline * 1000 - 0.001;
      if (this.remainingEstimate(since, now, ctx) > 0) {
        passedDeadline = true;
        due = false;
      }
    }
    if (due || passedDeadline) rem = Math.max(this.remainingEstimate(now, now, ctx), 0);
    return { isDue: due, next: rem / 1000 };
  }

  toJSON(): ScheduleJSON {
    return {
      type: "crontab",
      minute: this.orig.minute,
      hour: this.orig.hour,
      day_of_week: this.orig.dayOfWeek,
      day_of_month: this.orig.dayOfMonth,
      month_of_year: this.orig.monthOfYear,
    };
  }

  toString(): string {
    const o = this.orig;
    return `<crontab: ${specText(o.minute)} ${specText(o.hour)} ${specText(o.dayOfMonth)} ${specText(o.monthOfYear)} ${specText(o.dayOfWeek)} (m/h/dM/MY/d)>`;
  }
}

/** `crontab({ minute: 0, hour: 9, day_of_week: "mon-fri" })`, or `crontab("0 9 * * mon-fri")` (Celery's `from_string`). */
export function crontab(fields: CrontabFields | string = {}): Crontab {
  return typeof fields === "string" ? Crontab.fromString(fields) : new Crontab(fields);
}

/* ------------------------------------------------------------------ solar */

export type SolarEvent =
  | "dawn_astronomical"
  | "dawn_nautical"
  | "dawn_civil"
  | "sunrise"
  | "solar_noon"
  | "sunset"
  | "dusk_civil"
  | "dusk_nautical"
  | "dusk_astronomical";

/** Horizon (degrees), direction (+1 rising, -1 setting, 0 transit) and whether the upper limb counts. */
const SOLAR: Record<SolarEvent, { horizon: number; direction: 1 | -1 | 0; upperLimb: boolean }> = {
  dawn_astronomical: { horizon: -18, direction: 1, upperLimb: false },
  dawn_nautical: { horizon: -12, direction: 1, upperLimb: false },
  dawn_civil: { horizon: -6, direction: 1, upperLimb: false },
  sunrise: { horizon: -34 / 60, direction: 1, upperLimb: true },
  solar_noon: { horizon: 0, direction: 0, upperLimb: false },
  sunset: { horizon: -34 / 60, direction: -1, upperLimb: true },
  dusk_civil: { horizon: -6, direction: -1, upperLimb: false },
  dusk_nautical: { horizon: -12, direction: -1, upperLimb: false },
  dusk_astronomical: { horizon: -18, direction: -1, upperLimb: false },
};

/** Days Celery searches ahead for an event that does not happen every day (polar day/night). */
const MAX_SEARCH_DAYS = 366;

type Astronomy = typeof import("astronomy-engine");
let astronomy: Astronomy | null = null;
function astro(): Astronomy {
  // An optional package, loaded by the first solar schedule: apps without one never load it.
  return (astronomy ??= requireOptional<Astronomy>("astronomy-engine", "solar schedules"));
}

/**
 * Celery's `solar(event, lat, lon)`, computed with astronomy-engine instead of ephem: the Sun's
 * centre crossing the event's horizon (no refraction, like Celery's pressure=0 observer), or its
 * upper limb at -0°34' for sunrise/sunset, or its meridian transit for solar_noon.
 */
export class Solar implements Schedule {
  constructor(readonly event: SolarEvent, readonly lat: number, readonly lon: number) {
    astro(); // as Celery's solar() imports ephem: without astronomy-engine, a solar schedule fails where it is made
    if (!(event in SOLAR)) {
      throw new Error(`Argument event "${event}" is invalid, must be one of ${Object.keys(SOLAR).sort().join(", ")}.`);
    }
    if (typeof lat !== "number" || lat < -90 || lat > 90) throw new Error(`Argument latitude ${lat} is invalid, must be between -90 and 90.`);
    if (typeof lon !== "number" || lon < -180 || lon > 180) throw new Error(`Argument longitude ${lon} is invalid, must be between -180 and 180.`);
  }

  /** Instant (ms) of the first event after `after`. */
  nextEvent(after: number): number {
    const A = astro();
    const observer = new A.Observer(this.lat, this.lon, 0);
    const start = new Date(after);
    const spec = SOLAR[this.event];
    if (spec.direction === 0) return A.SearchHourAngle(A.Body.Sun, observer, 0, start, +1).time.date.getTime();
    let altitude = spec.horizon;
    if (spec.upperLimb) {
      // The upper limb touches the horizon when the centre is one apparent radius below it.
      const au = A.GeoVector(A.Body.Sun, start, false).Length();
      altitude -= (959.63 / 3600) / au;
    }
    const found = A.SearchAltitude(A.Body.Sun, observer, spec.direction, start, MAX_SEARCH_DAYS, altitude);
    return found ? found.date.getTime() : after + MAX_SEARCH_DAYS * 86_400_000;
  }

  remainingEstimate(lastRunAt: number, now: number): number {
    return this.nextEvent(lastRunAt) - now;
  }

  isDue(lastRunAt: number, now: number): ScheduleState {
    let rem = Math.max(this.remainingEstimate(lastRunAt, now), 0);
    const due = rem === 0;
    if (due) rem = Math.max(this.remainingEstimate(now, now), 0);
    return { isDue: due, next: rem / 1000 };
  }

  toJSON(): ScheduleJSON {
    return { type: "solar", event: this.event, lat: this.lat, lon: this.lon };
  }

  toString(): string {
    return `<solar: ${this.event} at latitude ${this.lat}, longitude: ${this.lon}>`;
  }
}

/** Celery's `solar(event, lat, lon)`. */
export function solar(event: SolarEvent, lat: number, lon: number): Solar {
  return new Solar(event, lat, lon);
}

/* ------------------------------------------------------------------ conversions */

/** Celery's `maybe_schedule`: a number of seconds becomes an interval. */
export function maybeSchedule(s: Schedule | number | ScheduleJSON, relative = false): Schedule {
  if (typeof s === "number") return new IntervalSchedule(s, relative);
  if (s && typeof (s as Schedule).isDue === "function") return s as Schedule;
  return scheduleFromJSON(s as ScheduleJSON);
}

/** Rebuilds a schedule from its JSON form. */
export function scheduleFromJSON(json: ScheduleJSON): Schedule {
  if (!json || typeof json !== "object") throw new Error(`not a schedule: ${JSON.stringify(json)}`);
  switch (json.type) {
    case "interval":
      return new IntervalSchedule(json.every, json.relative ?? false);
    case "crontab":
      return new Crontab(json);
    case "solar":
      return new Solar(json.event, json.lat, json.lon);
    default:
      throw new Error(`unknown schedule type: ${JSON.stringify((json as { type?: unknown }).type)}`);
  }
}
