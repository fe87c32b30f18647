/**
 * The beat scheduler with a fake clock and a local state file: first runs, missed runs,
 * restarts, time zone resets, log lines, and the messages it publishes (vs Celery's beat vector).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Beat, Celery, crontab, schedule, solar } from "../../src";
import type { BeatEntrySpec, CelerySettings } from "../../src";
import type { BeatEntry } from "../../src/beat";
import type { ApplyOptions } from "../../src/client/options";
import { Logger } from "../../src/logging";
import type { RawMessage } from "../../src/protocol/message";
import type { Transport } from "../../src/transport/types";
import { loadVector } from "../support/vectors";
import { readBeatState } from "../support/beat-state";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "beat-unit-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Harness {
  beat: Beat;
  sent: Array<{ name: string; task: string; at: number; options: ApplyOptions }>;
  lines: string[];
  clock: { now: number };
  file: string;
}

function harness(beatSchedule: Record<string, BeatEntrySpec>, start: number, settings: CelerySettings = {}, file = join(dir, "state.json"), clock = { now: start }): Harness {
  const app = new Celery("t", { broker: "redis://127.0.0.1:1/0", beatSchedule, ...settings });
  const lines: string[] = [];
  const sent: Harness["sent"] = [];
  const beat = new Beat(app, {
    scheduleFilename: file,
    logger: new Logger("DEBUG", (l) => lines.push(l)),
    now: () => clock.now,
    send: async (entry: BeatEntry, options: ApplyOptions) => {
      sent.push({ name: entry.name, task: entry.task, at: clock.now, options });
      return `id-${sent.length}`;
    },
  });
  return { beat, sent, lines, clock, file };
}

/** Advance the fake clock to `until`, ticking whenever the beat asks to. */
async function runUntil(h: Harness, until: number): Promise<void> {
  for (let i = 0; i < 100_000 && h.clock.now <= until; i++) {
    const delay = await h.beat.tick();
    h.clock.now += Math.max(delay * 1000, 1);
  }
}

const T0 = Date.UTC(2024, 0, 15, 10, 0, 0);

describe("interval entries", () => {
  test("a new entry first runs one interval after start, then every interval", async () => {
    const h = harness({ every5: { task: "tasks.add", schedule: 5, args: [1, 2] } }, T0);
    await h.beat.open();
    expect(await h.beat.tick()).toBeCloseTo(5, 3);
    expect(h.sent).toHaveLength(0);
    await runUntil(h, T0 + 22_000);
    expect(h.sent.map((s) => (s.at - T0) / 1000)).toEqual([5, 10, 15, 20]);
    expect(h.lines.some((l) => / INFO\/MainProcess\] Scheduler: Sending due task every5 \(tasks\.add\)$/.test(l))).toBe(true);
    expect(h.lines.some((l) => l.includes("DEBUG/MainProcess] tasks.add sent. id->id-1"))).toBe(true);
    await h.beat.stop();
  });

  test("state persists: a restart neither double-fires nor skips", async () => {
    const clock = { now: T0 };
    const a = harness({ e: { task: "t", schedule: 10 } }, T0, {}, join(dir, "s.json"), clock);
    await a.beat.open();
    await runUntil(a, T0 + 10_500);
    expect(a.sent).toHaveLength(1);
    await a.beat.stop();
    const saved = readBeatState(a.file);
    expect(saved.entries.e.total_run_count).toBe(1);
    expect(Date.parse(saved.entries.e.last_run_at)).toBe(T0 + 10_000);

    // Restart half a second after the run: next run still at T0+20 s.
    clock.now = T0 + 10_500;
    const b = harness({ e: { task: "t", schedule: 10 } }, T0, {}, a.file, clock);
    await b.beat.open();
    expect(await b.beat.tick()).toBeCloseTo(9.5, 3);
    await runUntil(b, T0 + 20_500);
    expect(b.sent.map((s) => s.at - T0)).toEqual([20_000]);
    await b.beat.stop();
  });

  test("missed runs fire once on start, then the schedule continues from now", async () => {
    writeFileSync(
      join(dir, "old.json"),
      JSON.stringify({ __version__: "celeriac-beat-1", tz: "UTC", utc_enabled: true, entries: { e: { last_run_at: new Date(T0 - 3600_000).toISOString(), total_run_count: 7 } } }),
    );
    const h = harness({ e: { task: "t", schedule: 60 } }, T0, {}, join(dir, "old.json"));
    await h.beat.open();
    await runUntil(h, T0 + 59_000);
    expect(h.sent.map((s) => s.at)).toEqual([T0]);
    await runUntil(h, T0 + 61_000);
    expect(h.sent.map((s) => s.at - T0)).toEqual([0, 60_000]);
    await h.beat.stop();
    expect(readBeatState(h.file).entries.e.total_run_count).toBe(9);
  });

  test("changing the timezone resets the state (Celery: 'Reset: Timezone changed')", async () => {
    writeFileSync(
      join(dir, "tz.json"),
      JSON.stringify({ __version__: "celeriac-beat-1", tz: "UTC", utc_enabled: true, entries: { e: { last_run_at: new Date(T0 - 3600_000).toISOString(), total_run_count: 7 } } }),
    );
    const h = harness({ e: { task: "t", schedule: 60 } }, T0, { timezone: "Europe/Paris" }, join(dir, "tz.json"));
    await h.beat.open();
    await h.beat.tick();
    expect(h.sent).toHaveLength(0); // the missed run is forgotten with the reset state
    expect(h.lines.some((l) => l.includes("WARNING/MainProcess] Reset: Timezone changed from 'UTC' to 'Europe/Paris'"))).toBe(true);
    await h.beat.stop();
  });

  test("entries no longer in the schedule lose their state; a corrupt file is replaced", async () => {
    writeFileSync(join(dir, "c.json"), "not json");
    const h = harness({ kept: { task: "t", schedule: 60 } }, T0, {}, join(dir, "c.json"));
    await h.beat.open();
    expect(h.lines.some((l) => l.includes("ERROR/MainProcess] Removing corrupted schedule file"))).toBe(true);
    await h.beat.stop();
    writeFileSync(
      join(dir, "g.json"),
      JSON.stringify({ __version__: "celeriac-beat-1", tz: "UTC", utc_enabled: true, entries: { gone: { last_run_at: new Date(T0).toISOString(), total_run_count: 1 } } }),
    );
    const g = harness({ kept: { task: "t", schedule: 60 } }, T0, {}, join(dir, "g.json"));
    await g.beat.open();
    await g.beat.stop();
    expect(Object.keys(readBeatState(g.file).entries)).toEqual(["kept"]);
  });
});

describe("crontab entries in the app's timezone", () => {
  test("daily-report at 09:00 Europe/Paris follows DST (08:00Z in winter, 07:00Z in summer)", async () => {
    const start = Date.UTC(2024, 2, 29, 12, 0, 0); // Friday before the switch on Sunday 31 March
    const h = harness(
      { "daily-report": { task: "tasks.generate_report", schedule: crontab({ hour: 9, minute: 0 }), args: ["sales"], options: { queue: "reports", priority: 5, expires: 3600 } } },
      start,
      { timezone: "Europe/Paris" },
    );
    await h.beat.open();
    await runUntil(h, Date.UTC(2024, 3, 2, 12, 0, 0));
    expect(h.sent.map((s) => new Date(s.at).toISOString())).toEqual([
      "2024-03-30T08:00:00.000Z",
      "2024-03-31T07:00:00.000Z",
      "2024-04-01T07:00:00.000Z",
      "2024-04-02T07:00:00.000Z",
    ]);
    expect(h.sent[0].options).toEqual({ queue: "reports", priority: 5, expires: 3600, argsrepr: "['sales']" });
    expect(h.lines.some((l) => l.endsWith("Scheduler: Sending due task daily-report (tasks.generate_report)"))).toBe(true);
    await h.beat.stop();
  });

  test("enableUtc without timezone means UTC; mon-fri skips the weekend", async () => {
    const start = Date.UTC(2024, 0, 12, 12, 0, 0); // Friday
    const h = harness({ wd: { task: "t", schedule: crontab({ minute: 30, hour: 6, day_of_week: "mon-fri" }) } }, start);
    await h.beat.open();
    await runUntil(h, Date.UTC(2024, 0, 17, 0, 0, 0));
    expect(h.sent.map((s) => new Date(s.at).toISOString())).toEqual(["2024-01-15T06:30:00.000Z", "2024-01-16T06:30:00.000Z"]);
    await h.beat.stop();
  });

  test("the repeated hour when DST ends does not make a crontab fire on every tick", async () => {
    const start = Date.UTC(2024, 10, 3, 5, 50, 0); // 01:50 EDT, 10 minutes before New York falls back
    const h = harness({ q: { task: "t", schedule: crontab({ minute: "*/15" }) } }, start, { timezone: "America/New_York" });
    await h.beat.open();
    await runUntil(h, Date.UTC(2024, 10, 3, 7, 20, 0));
    const times = h.sent.map((s) => new Date(s.at).toISOString());
    expect(new Set(times).size).toBe(times.length);
    expect(times.length).toBeLessThanOrEqual(7);
    await h.beat.stop();
  });

  test("beatCronStartingDeadline: a run missed by more than the deadline is not caught up", async () => {
    writeFileSync(
      join(dir, "d.json"),
      JSON.stringify({ __version__: "celeriac-beat-1", tz: "UTC", utc_enabled: true, entries: { c: { last_run_at: new Date(T0 - 86400_000).toISOString(), total_run_count: 1 } } }),
    );
    const h = harness({ c: { task: "t", schedule: crontab({ minute: 0, hour: 3 }) } }, T0, { beatCronStartingDeadline: 600 }, join(dir, "d.json"));
    await h.beat.open();
    const next = await h.beat.tick();
    expect(h.sent).toHaveLength(0);
    expect(next).toBeCloseTo(300, 3); // capped by beat_max_loop_interval (300 s)
    await h.beat.stop();
  });
});

describe("schedules", () => {
  test("interval repr and JSON round trip; solar validates like Celery", () => {
    // reprs and ValueError texts of celery.schedules.schedule / solar, run by Celery 5.2 (/usr/bin/python3)
    const py = JSON.parse(
      execFileSync("/usr/bin/python3", ["-c", `import json
from celery.schedules import schedule, solar
def err(*a):
    try:
        solar(*a)
    except ValueError as e:
        return str(e)
print(json.dumps([repr(schedule(30)), repr(schedule(3600)), repr(solar('sunset', 48.85, 2.35)),
                  err('sunrise', 91, 0), err('moonrise', 0, 0)]))`], { encoding: "utf8" }),
    ) as string[];
    expect(String(schedule(30))).toBe(py[0]);
    expect(String(schedule(3600))).toBe(py[1]);
    expect(schedule(2.5).toJSON()).toEqual({ type: "interval", every: 2.5 });
    expect(() => solar("sunrise", 91, 0)).toThrow(py[3]);
    expect(() => solar("moonrise" as never, 0, 0)).toThrow(py[4]);
    expect(String(solar("sunset", 48.85, 2.35))).toBe(py[2]);
  });

  test("relative intervals round to the interval's resolution in local time (values from Celery 5.7)", () => {
    // Expected: last + celery.utils.time.remaining(last, timedelta(seconds=secs), last, relative=True)
    // with last in Europe/Paris (what celery/schedules.py schedule.remaining_estimate computes), Celery 5.7
    const ctx = { timezone: "Europe/Paris" };
    const next = (secs: number, last: number) => last + schedule(secs, true).remainingEstimate(last, last, ctx);
    expect(new Date(next(3600, Date.UTC(2024, 0, 15, 10, 7, 30))).toISOString()).toBe("2024-01-15T11:00:00.000Z");
    expect(new Date(next(86400, Date.UTC(2024, 2, 30, 10, 7, 30))).toISOString()).toBe("2024-03-30T23:00:00.000Z");
    expect(new Date(next(120, Date.UTC(2024, 0, 15, 10, 7, 30))).toISOString()).toBe("2024-01-15T10:09:00.000Z");
  });

  test("crontab fields also take arrays and sets", () => {
    const c = crontab({ minute: new Set([0, 30]), hour: [9, 17], dayOfWeek: "mon-fri" });
    expect(c.toJSON()).toEqual({ type: "crontab", minute: [0, 30], hour: [9, 17], day_of_week: "mon-fri", day_of_month: "*", month_of_year: "*" });
    expect(new Date(c.nextRunAt(Date.UTC(2024, 0, 12, 17, 30), { timezone: "UTC" })).toISOString()).toBe("2024-01-15T09:00:00.000Z");
  });

  test("invalid entries fail when the beat is created", () => {
    const app = new Celery("t", { beatSchedule: { bad: { task: "t", schedule: crontab({ minute: "*/15" }), args: "x" as never } } });
    expect(() => new Beat(app, { scheduleFilename: join(dir, "x.json") })).toThrow(/args/);
  });
});

describe("messages", () => {
  test("beat publishes ordinary task messages, as Celery's beat does (redis-beat-messages vector)", async () => {
    const vector = loadVector("redis-beat-messages") as unknown as { decoded: Array<{ envelope: { headers: Record<string, unknown>; properties: Record<string, unknown> } }> };
    const published: Array<{ raw: RawMessage; target: unknown }> = [];
    const transport = {
      name: "fake",
      declareQueue: async () => undefined,
      publish: async (raw: RawMessage, target: unknown) => void published.push({ raw, target }),
      close: async () => undefined,
    } as unknown as Transport;
    const app = new Celery("vecapp", {
      broker: "redis://127.0.0.1:1/0",
      beatSchedule: {
        "add-every-2s": { task: "tasks.add", schedule: 2.0, args: [1, 2] },
        "echo-every-minute": { task: "tasks.echo", schedule: crontab({ minute: "*" }), args: ["beat"], kwargs: { k: 1 }, options: { priority: 3, expires: 30 } },
      },
    });
    app.connection = async () => transport;
    const clock = { now: Date.UTC(2026, 10, 22, 1, 45, 30) };
    const beat = new Beat(app, { scheduleFilename: join(dir, "v.json"), logger: new Logger("ERROR", () => undefined), now: () => clock.now });
    await beat.open();
    const has = (t: string) => published.some((p) => p.raw.headers.task === t);
    for (let i = 0; i < 200 && !(has("tasks.add") && has("tasks.echo")); i++) clock.now += Math.max(1, (await beat.tick()) * 1000);
    await beat.stop();
    expect(published.length).toBeGreaterThanOrEqual(2);
    const byTask = (t: string) => published.find((p) => p.raw.headers.task === t)!;
    for (const [i, task] of [[0, "tasks.add"], [1, "tasks.echo"]] as const) {
      const want = vector.decoded[i].envelope;
      const got = byTask(task).raw;
      expect(Object.keys(got.headers).sort()).toEqual(Object.keys(want.headers).sort());
      for (const k of ["lang", "task", "shadow", "eta", "group", "group_index", "retries", "timelimit", "parent_id", "argsrepr", "kwargsrepr", "ignore_result"]) {
        expect([k, got.headers[k]]).toEqual([k, want.headers[k]]);
      }
      expect(got.properties.priority).toBe(want.properties.priority);
      expect(got.properties.expiration).toBe(want.properties.expiration);
      expect(byTask(task).target).toMatchObject({ exchange: "", routingKey: "celery" });
    }
    expect(byTask("tasks.echo").raw.headers.expires).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    expect(byTask("tasks.add").raw.headers.expires).toBeNull();
  });

  test(`with taskProtocolExtras "5.3" newer Celery's celery_beat_task header is added`, async () => {
    const got: ApplyOptions[] = [];
    const app = new Celery("t", { taskProtocolExtras: "5.3", beatSchedule: { e: { task: "t", schedule: 1, options: { headers: { a: 1 } } } } });
    const clock = { now: T0 };
    const beat = new Beat(app, { scheduleFilename: join(dir, "h.json"), now: () => clock.now, logger: new Logger("ERROR", () => undefined), send: async (_e, o) => (got.push(o), "x") });
    await beat.open();
    clock.now += 1000;
    await beat.tick();
    await beat.stop();
    // celery/beat.py (5.3+) Scheduler.apply_async: options.setdefault('headers', {})['celery_beat_task'] = True
    expect(got[0].headers).toEqual({ a: 1, celery_beat_task: true });
  });
});
