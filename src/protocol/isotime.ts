/**
 * ISO-8601 helpers matching Python's `datetime.isoformat()` output and Celery's tolerant parsing.
 *
 * JS Dates carry milliseconds only, so microseconds are always `ms * 1000` on output and are
 * truncated to milliseconds on input.
 */

const pad = (n: number, width: number): string => String(n).padStart(width, "0");

function naiveParts(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new RangeError("Invalid Date");
  const year = d.getUTCFullYear();
  if (year < 1 || year > 9999) throw new RangeError(`year ${year} is out of range for Python datetime`);
  return (
    `${pad(year, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`
  );
}

/** `.ffffff`, or "" when the microsecond part is 0 (Python omits it then) unless `always`. */
function fraction(d: Date, always: boolean): string {
  const ms = d.getUTCMilliseconds();
  if (ms === 0 && !always) return "";
  return `.${pad(ms, 3)}000`;
}

/**
 * Python `datetime.isoformat()` of a UTC-aware datetime: `2030-01-02T03:04:05.678000+00:00`.
 * Like Python, the fraction is omitted when it is zero (pass `alwaysFraction` to force it).
 */
export function isoformatUtc(d: Date, alwaysFraction = false): string {
  return `${naiveParts(d)}${fraction(d, alwaysFraction)}+00:00`;
}

/** kombu 5.2 JSON encoding of an aware UTC datetime: isoformat with `+00:00` replaced by `Z`. */
export function kombu52DatetimeString(d: Date): string {
  return `${naiveParts(d)}${fraction(d, false)}Z`;
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2}(?::?\d{2}(?:\.\d+)?)?)?)?$/;

/**
 * Parses an ISO-8601 date-time as written by Python (`isoformat()`, kombu's `Z` form, Celery's
 * accepted subset). A value without an offset is taken as UTC (or local time when
 * `naiveIsLocal`, for v1 messages with `utc: false`). Returns null when malformed.
 */
export function parseIsoDatetime(text: string, naiveIsLocal = false): Date | null {
  const m = ISO_RE.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", tz] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    return null;
  }
  const ms = frac ? Math.floor(Number(`0.${frac}`) * 1000 + 1e-7) : 0;
  let t = Date.UTC(year, month - 1, day, hour, minute, second, Math.min(ms, 999));
  const check = new Date(t);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return null; // e.g. Feb 30
  if (year < 100) check.setUTCFullYear(year);
  t = check.getTime();
  if (tz && tz !== "Z" && tz !== "z") {
    const sign = tz[0] === "-" ? -1 : 1;
    const digits = tz.slice(1).replace(/:/g, "");
    const offH = Number(digits.slice(0, 2));
    const offM = digits.length >= 4 ? Number(digits.slice(2, 4)) : 0;
    const offS = digits.length >= 6 ? Number(digits.slice(4)) : 0;
    if (offH > 23 || offM > 59) return null;
    t -= sign * ((offH * 60 + offM) * 60 + offS) * 1000;
  } else if (!tz && naiveIsLocal) {
    const local = new Date(year, month - 1, day, hour, minute, second, Math.min(ms, 999));
    if (year < 100) local.setFullYear(year);
    t = local.getTime();
  }
  return new Date(t);
}
