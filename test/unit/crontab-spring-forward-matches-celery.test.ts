/**
 * A crontab whose wall time falls in a spring-forward gap is not skipped, and fires when the
 * newest Celery's beat fires it: the first instant `is_due` answers true, found by both Celerys
 * in the test (test/fixtures/beat/spring_forward_first_due.py) and by celeriac, minute by
 * minute, for five zones (one with a 30-minute jump).
 *
 * The Celerys disagree: Celery 5.2 (pytz) fires a skipped time at the jump (02:15 in New York
 * on 2022-03-13 at 03:00 EDT, as cron does), the newest Celery (zoneinfo) reads it with the
 * offset before the jump (03:15 EDT). celeriac follows the newest Celery, as its crontab does
 * everywhere else (beat-schedules-match-celery.test.ts); the 5.2 rows are checked to differ only
 * in that way.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { Crontab, type CrontabFields } from "../../src/beat";

interface Row {
  celery: string;
  tz: string;
  cron: CrontabFields;
  jump: number;
  last_run_at: number;
  first_due: number;
}

const ROOT = join(__dirname, "..", "..");
const SCRIPT = join(ROOT, "test", "fixtures", "beat", "spring_forward_first_due.py");
const rows = (python: string): Row[] =>
  execFileSync(python, [SCRIPT], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Row);
const newest = rows(join(ROOT, "interop-tests", ".venv", "bin", "python"));
const v52 = rows("/usr/bin/python3");

/** celeriac's first due instant after `last`, stepping a minute at a time as the script does. */
function firstDue(row: Row): number {
  const cron = new Crontab(row.cron);
  for (let t = row.last_run_at + 60_000; t < row.last_run_at + 26 * 3600_000; t += 60_000) {
    if (cron.isDue(row.last_run_at, t, { timezone: row.tz }).isDue) return t;
  }
  throw new Error("never due");
}

const label = (r: Row) => `${JSON.stringify(r.cron)} in ${r.tz}, last run ${new Date(r.last_run_at).toISOString()}`;

test(`every row fires when Celery ${newest[0].celery} fires it`, () => {
  expect(newest.length).toBe(60);
  const off = newest.filter((r) => firstDue(r) !== r.first_due).map((r) => `${label(r)}: celery ${new Date(r.first_due).toISOString()}, ours ${new Date(firstDue(r)).toISOString()}`);
  expect(off).toEqual([]);
});

test("a time in the gap is not skipped: crontab(minute=15, hour=2) in New York on 2022-03-13 runs that night, at 03:15 EDT", () => {
  const row = newest.find((r) => r.tz === "America/New_York" && r.cron.minute === 15 && r.cron.hour === 2 && r.jump - r.last_run_at === 30 * 60_000)!;
  expect(new Date(firstDue(row)).toISOString()).toBe("2022-03-13T07:15:00.000Z");
  const five = newest.find((r) => r.tz === "America/New_York" && r.cron.minute === "5-10" && r.jump - r.last_run_at === 30 * 60_000)!;
  expect(new Date(firstDue(five)).toISOString()).toBe("2022-03-13T07:05:00.000Z");
});

test(`Celery ${v52[0].celery} differs only by firing a skipped time at the jump itself`, () => {
  expect(v52.length).toBe(newest.length);
  const differing = v52.filter((r, i) => r.first_due !== newest[i].first_due);
  expect(differing.length).toBeGreaterThan(0);
  for (const r of differing) {
    expect(r.first_due).toBe(r.jump);
    // ours (the newest Celery's) lies within the gap's length after the jump
    expect(firstDue(r) - r.jump).toBeGreaterThan(0);
    expect(firstDue(r) - r.jump).toBeLessThanOrEqual(3600_000);
  }
});
