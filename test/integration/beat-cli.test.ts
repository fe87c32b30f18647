/**
 * `celeriac beat` (local state file), `celeriac worker -B`, and `celeriac beat add|list|remove`,
 * run from dist/ (npm run build) against the private test Redis, db 12.
 */
import { ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { unique } from "../support/app";
import { rawRedis, testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";
import { readBeatState } from "../support/beat-state";
import { parseEnvelope } from "../support/vectors";

const ROOT = resolve(__dirname, "../..");
const CLI = resolve(ROOT, "dist/cli/main.js");
const APP = "test/fixtures/beat/beatapp.js";
const DB = 12;
const run = promisify(execFile);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "beat-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, BEATAPP_BROKER: testRedisUrl(DB), ...extra };
}

function start(args: string[], e: NodeJS.ProcessEnv): { child: ChildProcess; log: () => string; exited: Promise<number | null> } {
  let log = "";
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: e });
  child.stdout.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, log: () => log, exited };
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

test("celeriac beat sends Celery-style messages, logs like Celery's beat, and keeps its state across restarts", async () => {
  const queue = unique("beatcli");
  const file = join(dir, "state.json");
  const e = env({ BEATAPP_QUEUE: queue, BEATAPP_INTERVAL: "1" });
  const redis = rawRedis(DB);
  try {
    const a = start(["beat", "-A", APP, "-s", file, "-l", "info"], e);
    await waitFor(() => count(a.log(), "Scheduler: Sending due task tick (py.echo)") >= 2, 8000, "two sends");
    a.child.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    const log = a.log();
    expect(log).toContain("celeriac beat is starting.");
    // celery/beat.py Service.start: info('beat: Starting...'); Scheduler.apply_entry: info('Scheduler: Sending due task %s (%s)', ...)
    expect(log).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: INFO\/MainProcess\] beat: Starting\.\.\.$/m);
    expect(log).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: INFO\/MainProcess\] Scheduler: Sending due task tick \(py\.echo\)$/m);
    const sends = count(log, "Sending due task tick");
    const state = readBeatState(file);
    expect(state.entries.tick.total_run_count).toBe(sends);
    expect(await redis.llen(queue)).toBe(sends);
    const msg = parseEnvelope((await redis.lindex(queue, 0)) as string);
    expect(msg.headers).toMatchObject({ task: "py.echo", argsrepr: "['beat']", kwargsrepr: "{'source': 'celeriac'}", lang: "py" });
    expect(JSON.parse(Buffer.from(msg.body, "base64").toString())).toEqual([["beat"], { source: "celeriac" }, { callbacks: null, errbacks: null, chain: null, chord: null }]);

    // Restart right away: no extra send before the next due time (last run + 1 s).
    const lastRun = Date.parse(state.entries.tick.last_run_at);
    const b = start(["beat", "-A", APP, "-s", file], e);
    await waitFor(() => count(b.log(), "Sending due task") >= 1, 5000, "send after restart");
    const firstAfter = Date.now();
    b.child.kill("SIGTERM");
    expect(await b.exited).toBe(0);
    expect(firstAfter - lastRun).toBeGreaterThanOrEqual(900);
    expect(readBeatState(file).entries.tick.total_run_count).toBe(sends + count(b.log(), "Sending due task"));
  } finally {
    await redis.del(queue);
    redis.disconnect();
  }
});

test("celeriac worker -B runs beat in the worker: the beat's tasks run there", async () => {
  const queue = unique("beatB");
  const e = env({ BEATAPP_QUEUE: queue, BEATAPP_INTERVAL: "1", BEATAPP_TASK: "ts.beat_echo" });
  const w = start(["worker", "-B", "-A", APP, "-Q", queue, "-s", join(dir, "worker-beat.json")], e);
  try {
    await waitFor(() => /Task ts\.beat_echo\[[0-9a-f-]+\] succeeded/.test(w.log()), 10000, "a beat task to run");
    expect(w.log()).toMatch(/INFO\/Beat\] Scheduler: Sending due task tick \(ts\.beat_echo\)$/m);
    expect(w.log()).toMatch(/INFO\/Beat\] beat: Starting\.\.\.$/m);
  } finally {
    w.child.kill("SIGTERM");
    await w.exited;
    const redis = rawRedis(DB);
    await redis.del(queue);
    redis.disconnect();
  }
  expect(w.log()).toContain("beat: Shutting down...");
});

test("celeriac beat add | list | remove edit the run-time entries in Redis", async () => {
  const p = `beat-cli:${randomUUID().slice(0, 8)}:`;
  const e = env({ BEATAPP_REDIS: testRedisUrl(DB), BEATAPP_PREFIX: p });
  try {
    const added = await run(process.execPath, [CLI, "beat", "add", "nightly", "-A", APP, "--task", "tasks.cleanup", "--cron", "30 2 * * mon-fri", "--args", "[7]", "--queue", "maint", "--expires", "600"], { cwd: ROOT, env: e });
    expect(added.stdout.trim()).toBe("Added nightly: tasks.cleanup <crontab: 30 2 * * mon-fri (m/h/dM/MY/d)>");
    await run(process.execPath, [CLI, "beat", "add", "often", "-A", APP, "--task", "tasks.ping", "--every", "30"], { cwd: ROOT, env: e });
    const listed = JSON.parse((await run(process.execPath, [CLI, "beat", "list", "-A", APP, "--json"], { cwd: ROOT, env: e })).stdout) as Array<{ name: string; source: string; schedule: string; nextRunAt: string }>;
    expect(listed.map((x) => [x.name, x.source, x.schedule])).toEqual([
      ["nightly", "dynamic", "<crontab: 30 2 * * mon-fri (m/h/dM/MY/d)>"],
      ["often", "dynamic", "<freq: 30.00 seconds>"],
      ["tick", "config", "<freq: 1.00 second>"],
    ]);
    expect(new Date(listed[0].nextRunAt).getUTCHours()).toBe(2);
    const redis = rawRedis(DB);
    expect(JSON.parse((await redis.hget(`${p}entries`, "nightly")) as string)).toEqual({
      task: "tasks.cleanup",
      schedule: { type: "crontab", minute: "30", hour: "2", day_of_week: "mon-fri", day_of_month: "*", month_of_year: "*" },
      args: [7],
      kwargs: {},
      options: { queue: "maint", expires: 600 },
    });
    const removed = await run(process.execPath, [CLI, "beat", "remove", "often", "-A", APP], { cwd: ROOT, env: e });
    expect(removed.stdout.trim()).toBe("Removed often");
    await expect(run(process.execPath, [CLI, "beat", "remove", "tick", "-A", APP], { cwd: ROOT, env: e })).rejects.toThrow(/defined in the app's beatSchedule/);
    const text = (await run(process.execPath, [CLI, "beat", "list", "-A", APP], { cwd: ROOT, env: e })).stdout;
    expect(text).toMatch(/^leader: \(none\)$/m);
    expect(text).toMatch(/^nightly {2}tasks\.cleanup {2}<crontab: 30 2 \* \* mon-fri \(m\/h\/dM\/MY\/d\)> {2}\[dynamic\] {2}runs=0/m);
    expect(text).not.toContain("often");
    const keys = await redis.keys(`${p}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  } finally {
    // nothing else to clean
  }
});
