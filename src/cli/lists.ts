/** Argument parsing the commands share: comma-separated lists and JSON values, as `celery`'s click types. */
import type { WireValue } from "../protocol/message";

/** click's COMMA_SEPARATED_LIST: `a, b,,c` → ["a", "b", "c"]; undefined for no value. */
export function splitList(value: string | undefined): string[] | undefined {
  return value ? value.split(",").map((s) => s.trim()).filter(Boolean) : undefined;
}

/** A JSON option (`--args`, `--kwargs`): `fallback` when not given; a usage error names the option. */
export function parseJson(text: string | undefined, what: string, fallback: WireValue): WireValue {
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text) as WireValue;
  } catch (err) {
    throw new Error(`--${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** click's ISO8601_OR_FLOAT (`celery call --expires`): a number of seconds, else the date-time text. */
export function secondsOrIsoTime(text: string): number | string {
  const n = Number(text);
  if (text.trim() !== "" && Number.isFinite(n)) return n;
  if (Number.isNaN(Date.parse(text))) throw new Error(`${JSON.stringify(text)} is neither a number of seconds nor an ISO 8601 date-time`);
  return text;
}

/** click's ISO8601 (`celery call --eta`): an ISO 8601 date-time. */
export function isoTime(text: string): string {
  if (Number.isNaN(Date.parse(text))) throw new Error(`${JSON.stringify(text)} is not an ISO 8601 date-time`);
  return text;
}
