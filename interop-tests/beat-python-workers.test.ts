/**
 * `celeriac beat` drives Python Celery workers with a 1-second interval for 20 s: two entries,
 * one per queue, one queue per worker (the newest Celery and Debian's 5.2). Every run the beat
 * sends arrives once, and only once. py.beat_tick (interop-tests/py/pyapp.py) records each run
 * in a Redis list.
 */
import { ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { randomUUID } from "node:crypto";
import * as path from "node:path";
import Redis from "ioredis";
import { PYTHONS, type PythonWorker, startPythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "dist", "cli", "main.js");
const DB = 12;
const RUN_MS = 20_000;

jest.setTimeout(120_000);

test("celeriac beat → Python workers: 1 s interval for 20 s, every run arrives once", async () => {
  const broker = testRedisUrl(DB);
  const queues = PYTHONS.map((py) => `beat-py-${py.label}-${randomUUID().slice(0, 8)}`);
  const recordKey = `beat-py-record:${randomUUID().slice(0, 8)}`;
  const redis = new Redis(broker);
  const workers: PythonWorker[] = [];
  let beat: ChildProcess | null = null;
  let log = "";
  try {
    workers.push(...(await Promise.all(PYTHONS.map((py, i) => startPythonWorker(py, { broker, queues: [queues[i]], pool: "solo" })))));
    beat = spawn(process.execPath, [CLI, "beat", "-A", "test/fixtures/beat/beatapp.js", "-l", "debug", "-s", path.join(ROOT, ".tmp", `${queues[0]}.json`)], {
      cwd: ROOT,
      env: {
        ...process.env,
        BEATAPP_BROKER: broker,
        BEATAPP_QUEUE: queues[0],
        BEATAPP_EXTRA_QUEUE: queues[1],
        BEATAPP_TASK: "py.beat_tick",
        BEATAPP_INTERVAL: "1",
        BEATAPP_KWARGS: JSON.stringify({ record_key: recordKey }),
      },
    });
    beat.stdout!.on("data", (d: Buffer) => (log += d.toString()));
    beat.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    const exited = new Promise((r) => beat!.on("exit", r));
    await new Promise((r) => setTimeout(r, RUN_MS));
    beat.kill("SIGTERM");
    await exited;

    // When the beat sent each run, from its own log line (`[2026-11-22 01:42:28,748: DEBUG/MainProcess] ...`).
    const sends = [...log.matchAll(/^\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3}): DEBUG\/MainProcess\] py\.beat_tick sent\. id->([0-9a-f-]{36})$/gm)];
    const sentAt = new Map(sends.map((m) => [m[4], Date.parse(`${m[1]}T${m[2]}.${m[3]}`) / 1000]));
    const sentIds = [...log.matchAll(/py\.beat_tick sent\. id->([0-9a-f-]{36})/g)].map((m) => m[1]);
    expect(sends.length).toBe(sentIds.length);
    expect(sentIds.length).toBeGreaterThanOrEqual(2 * 18);
    expect(sentIds.length).toBeLessThanOrEqual(2 * 21);
    // Wait for the workers to finish what was sent.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await redis.llen(recordKey)) < sentIds.length) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1000)); // a late duplicate would show up here
    const runs = (await redis.lrange(recordKey, 0, -1)).map((x) => JSON.parse(x) as { id: string; hostname: string; time: number; args: unknown[] });

    const ranIds = runs.map((r) => r.id);
    expect(new Set(ranIds).size).toBe(ranIds.length); // no run twice
    expect([...ranIds].sort()).toEqual([...sentIds].sort()); // every sent run ran
    expect(runs.every((r) => JSON.stringify(r.args) === '["beat"]')).toBe(true);
    // Per worker (= per entry): one run a second, none missing, none doubled. Spaced by when the beat
    // sent them: the Python workers' own start and load do not move these times.
    for (const w of workers) {
      const mine = runs.filter((r) => w.hostname.startsWith(r.hostname.split("@")[0]));
      expect(mine.length).toBeGreaterThanOrEqual(18);
      const times = mine.map((r) => sentAt.get(r.id) as number).sort((a, b) => a - b);
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      expect(Math.min(...gaps)).toBeGreaterThan(0.5);
      expect(Math.max(...gaps)).toBeLessThan(2);
    }
  } finally {
    beat?.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.stop()));
    await redis.del(recordKey, ...queues);
    rmSync(path.join(ROOT, ".tmp", `${queues[0]}.json`), { force: true });
    redis.disconnect();
  }
});
