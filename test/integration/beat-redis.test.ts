/**
 * Beat with the Redis store (db 12, a unique key prefix per test): leader lease, takeover,
 * state across restarts, entries added/changed/removed at run time; and beat + celeriac worker.
 */
import { randomUUID } from "node:crypto";
import { Beat, beatEntries, Celery, RedisStore } from "../../src";
import type { BeatEntrySpec } from "../../src";
import { Logger } from "../../src/logging";
import { unique } from "../support/app";
import { rawRedis, testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";

const DB = 12;

interface Sent {
  beat: string;
  name: string;
  at: number;
  args: unknown[];
}

function prefix(): string {
  return `beat-test:${randomUUID().slice(0, 8)}:`;
}

function makeBeat(id: string, keyPrefix: string, schedule: Record<string, BeatEntrySpec>, sent: Sent[], lines: string[] = [], lease = 1): Beat {
  const app = new Celery("beat-test", {
    broker: testRedisUrl(DB),
    beatSchedule: schedule,
    beatSchedulerRedisUrl: testRedisUrl(DB),
    beatSchedulerKeyPrefix: keyPrefix,
    beatSchedulerLeaseTimeout: lease,
  });
  return new Beat(app, {
    maxInterval: 0.25,
    logger: new Logger("INFO", (l) => lines.push(`${id} ${l}`)),
    send: async (entry) => {
      sent.push({ beat: id, name: entry.name, at: Date.now(), args: entry.args });
      return randomUUID();
    },
  });
}

async function cleanup(keyPrefix: string): Promise<void> {
  const r = rawRedis(DB);
  const keys = await r.keys(`${keyPrefix}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]);
}

test("two beats: only the lease holder sends; a graceful stop hands over at once, without duplicates", async () => {
  const p = prefix();
  const sent: Sent[] = [];
  const schedule = { tick: { task: "t.tick", schedule: 0.5 } };
  // A 5 s lease: a handover that waited for the lease to expire would leave a gap of 5 s or more.
  const a = makeBeat("A", p, schedule, sent, [], 5);
  const b = makeBeat("B", p, schedule, sent, [], 5);
  try {
    await a.start();
    await b.start();
    expect(a.isLeader).toBe(true);
    expect(b.isLeader).toBe(false);
    await sleep(2200);
    expect(new Set(sent.map((s) => s.beat))).toEqual(new Set(["A"]));
    const before = sent.length;
    expect(before).toBeGreaterThanOrEqual(3);
    await a.stop(); // releases the lease
    await waitFor(() => b.isLeader, 3000, "B to lead");
    await sleep(1500);
    const byB = sent.filter((s) => s.beat === "B");
    expect(byB.length).toBeGreaterThanOrEqual(2);
    const g = gaps(sent.map((s) => s.at));
    expect(Math.min(...g)).toBeGreaterThan(400); // no slot sent twice
    expect(Math.max(...g)).toBeLessThan(3000); // handed over at once, not after the 5 s lease
  } finally {
    await a.stop();
    await b.stop();
    await cleanup(p);
  }
});

test("a crashed leader (lease kept) is replaced once its lease expires", async () => {
  const p = prefix();
  const sent: Sent[] = [];
  const lines: string[] = [];
  const schedule = { tick: { task: "t.tick", schedule: 0.5 } };
  const a = makeBeat("A", p, schedule, sent, lines);
  const b = makeBeat("B", p, schedule, sent, lines);
  try {
    await a.start();
    await b.start();
    await sleep(1200);
    // Crash: A stops without giving the lease back.
    (a.store as RedisStore).releaseLease = async () => undefined;
    const crashAt = Date.now();
    await a.stop();
    await waitFor(() => sent.some((s) => s.beat === "B"), 4000, "B to send");
    const firstB = sent.find((s) => s.beat === "B")!.at;
    expect(firstB - crashAt).toBeLessThan(3000); // lease (1 s) + one check + load
    expect(lines.some((l) => l.startsWith("B ") && l.includes("beat: Acquired the lease"))).toBe(true);
    await sleep(1000);
    const g = gaps(sent.map((s) => s.at));
    expect(Math.min(...g)).toBeGreaterThan(400);
  } finally {
    await b.stop();
    await cleanup(p);
  }
});

test("state in Redis: a restart neither double-fires nor skips; a missed run fires once", async () => {
  const p = prefix();
  const sent: Sent[] = [];
  const schedule = { slow: { task: "t.slow", schedule: 2 } };
  const a = makeBeat("A", p, schedule, sent);
  try {
    await a.start();
    await waitFor(() => sent.length === 1, 4000, "first run");
    const first = sent[0].at;
    await a.stop();
    const b = makeBeat("B", p, schedule, sent);
    await b.start();
    await waitFor(() => sent.length === 2, 4000, "second run");
    await b.stop();
    expect(sent[1].beat).toBe("B");
    expect(sent[1].at - first).toBeGreaterThanOrEqual(1950);
    expect(sent[1].at - first).toBeLessThan(3900); // a skipped run would be 4 s

    // Missed runs: last run an hour ago -> one run on start, then every 2 s from then on.
    const r = rawRedis(DB);
    const old = Date.now() - 3600_000;
    await r.hset(`${p}state`, "slow", JSON.stringify({ last_run_at: new Date(old).toISOString(), total_run_count: 5, ms: old }));
    r.disconnect();
    const c = makeBeat("C", p, schedule, sent);
    const started = Date.now();
    await c.start();
    await waitFor(() => sent.length === 3, 2000, "catch-up run");
    expect(sent[2].at - started).toBeLessThan(1500); // at once, not after the 2 s interval
    await sleep(1200);
    expect(sent.length).toBe(3);
    await c.stop();
    const admin = beatEntries(new Celery("x", { beatSchedule: schedule, beatSchedulerRedisUrl: testRedisUrl(DB), beatSchedulerKeyPrefix: p }));
    const [info] = await admin.list();
    expect(info).toMatchObject({ name: "slow", totalRunCount: 6, source: "config" });
    await admin.close();
  } finally {
    await cleanup(p);
  }
});

test("entries added, changed and removed at run time (API), seen by the running beat", async () => {
  const p = prefix();
  const sent: Sent[] = [];
  const lines: string[] = [];
  const beat = makeBeat("A", p, {}, sent, lines);
  const app = new Celery("x", { beatSchedulerRedisUrl: testRedisUrl(DB), beatSchedulerKeyPrefix: p });
  const entries = beatEntries(app);
  try {
    await beat.start();
    await entries.add("dyn", { task: "t.dyn", schedule: 0.4, args: [1] });
    await waitFor(() => sent.filter((s) => s.name === "dyn").length >= 2, 4000, "dyn runs");
    expect(lines.some((l) => l.includes("beat: Schedule changed (added: dyn; removed: -)"))).toBe(true);
    await entries.add("dyn", { task: "t.dyn", schedule: 0.4, args: [2] });
    await waitFor(() => sent.some((s) => s.name === "dyn" && (s.args as number[])[0] === 2), 3000, "changed args");
    const list = await entries.list();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: "dyn", task: "t.dyn", source: "dynamic", schedule: "<freq: now>" });
    expect(list[0].totalRunCount).toBeGreaterThanOrEqual(2);
    expect(await entries.remove("dyn")).toBe(true);
    await sleep(600);
    const n = sent.length;
    await sleep(1000);
    expect(sent.length).toBe(n);
    expect(await entries.list()).toEqual([]);
  } finally {
    await beat.stop();
    await entries.close();
    await cleanup(p);
  }
});

test("beat + celeriac worker in one process: real task messages, run once each", async () => {
  const p = prefix();
  const queue = unique("beatw");
  const app = new Celery("beatw", {
    broker: testRedisUrl(DB),
    backend: null,
    taskDefaultQueue: queue,
    beatSchedulerRedisUrl: testRedisUrl(DB),
    beatSchedulerKeyPrefix: p,
    beatSchedule: { every: { task: "w.record", schedule: 0.5, args: ["x"], options: { priority: 0, expires: 30 } } },
  });
  const runs: string[] = [];
  app.task("w.record", (ctx, tag: string) => {
    runs.push(`${ctx.request.id}:${tag}`);
  }, { bind: true });
  const quiet = new Logger("ERROR", () => undefined);
  const worker = app.worker({ logger: quiet, concurrency: 2 });
  const beat = new Beat(app, { logger: quiet, processName: "Beat" });
  try {
    await worker.start();
    await beat.start();
    await waitFor(() => runs.length >= 3, 5000, "three runs");
    expect(new Set(runs).size).toBe(runs.length);
    expect(runs.every((r) => r.endsWith(":x"))).toBe(true);
  } finally {
    await beat.stop();
    await worker.stop();
    await app.close();
    const r = rawRedis(DB);
    await r.del(queue);
    r.disconnect();
    await cleanup(p);
  }
});
