/**
 * Failover between two `celeriac beat` processes sharing the Redis store (db 12): the leader is
 * SIGKILLed; the other takes over when the 2 s lease expires. The queue shows every send: no
 * slot is sent twice, and the silence after the kill is at most one lease (+ one lease check).
 */
import { ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { unique } from "../support/app";
import { rawRedis, testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";

const ROOT = resolve(__dirname, "../..");
const CLI = resolve(ROOT, "dist/cli/main.js");
const DB = 12;
const LEASE_S = 2;
const INTERVAL_S = 1;
/** Followers try for the lease every lease/4. */
const CHECK_S = LEASE_S / 4;

interface Proc {
  child: ChildProcess;
  log: () => string;
  exited: Promise<void>;
}

function startBeat(e: NodeJS.ProcessEnv): Proc {
  let log = "";
  const child = spawn(process.execPath, [CLI, "beat", "-A", "test/fixtures/beat/beatapp.js", "-l", "info"], { cwd: ROOT, env: e });
  child.stdout.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  return { child, log: () => log, exited };
}

test("two beats: the leader is killed, the other takes over within the lease; no gap beyond it, no duplicates", async () => {
  const queue = unique("failover");
  const prefix = `beat-failover:${randomUUID().slice(0, 8)}:`;
  const e = {
    ...process.env,
    BEATAPP_BROKER: testRedisUrl(DB),
    BEATAPP_QUEUE: queue,
    BEATAPP_INTERVAL: String(INTERVAL_S),
    BEATAPP_REDIS: testRedisUrl(DB),
    BEATAPP_PREFIX: prefix,
    BEATAPP_LEASE: String(LEASE_S),
  };
  const consumer = rawRedis(DB);
  const admin = rawRedis(DB);
  const arrivals: Array<{ at: number; id: string; origin: string }> = [];
  let consuming = true;
  const consume = (async () => {
    while (consuming) {
      const got = await consumer.brpop(queue, 0.2);
      if (got) {
        const { headers } = JSON.parse(got[1]) as { headers: { id: string; origin: string } };
        arrivals.push({ at: Date.now(), id: headers.id, origin: headers.origin });
      }
    }
  })();
  const a = startBeat(e);
  const b = startBeat(e);
  let killedAt = 0;
  try {
    await waitFor(() => arrivals.length >= 3, 10000, "three sends");
    const owner = (await admin.get(`${prefix}lock`)) as string;
    const leaderPid = Number(owner.split(":")[1]);
    const [leader, follower] = a.child.pid === leaderPid ? [a, b] : [b, a];
    expect(leader.child.pid).toBe(leaderPid);
    await new Promise((r) => setTimeout(r, 1500 + Math.random() * 1000));
    leader.child.kill("SIGKILL");
    killedAt = Date.now();
    await leader.exited;
    await waitFor(() => arrivals.some((x) => x.at > killedAt && x.origin.startsWith(`gen${follower.child.pid}@`)), 8000, "the follower to send");
    await new Promise((r) => setTimeout(r, 3000));
    expect(follower.log()).toContain("beat: Acquired the lease; this beat sends the schedule.");
    follower.child.kill("SIGTERM");
    await follower.exited;

    const times = arrivals.map((x) => x.at);
    const gaps = times.slice(1).map((t, i) => (t - times[i]) / 1000);
    // Every run arrives once: consecutive sends are an interval apart, never two for one slot.
    expect(new Set(arrivals.map((x) => x.id)).size).toBe(arrivals.length);
    expect(Math.min(...gaps)).toBeGreaterThan(INTERVAL_S * 0.5);
    // Senders: the old leader before the kill, the follower after it, never both at once.
    const before = arrivals.filter((x) => x.at <= killedAt);
    const after = arrivals.filter((x) => x.at > killedAt);
    expect(new Set(before.map((x) => x.origin)).size).toBe(1);
    expect(new Set(after.map((x) => x.origin)).size).toBe(1);
    expect(before[0].origin).not.toBe(after[0].origin);
    // The silence beyond the normal interval is at most one lease, plus one lease check (and 1 s of load).
    const worst = Math.max(...gaps);
    expect(worst - INTERVAL_S).toBeLessThanOrEqual(LEASE_S + CHECK_S + 1);
    console.log(`failover: ${arrivals.length} sends, longest gap ${worst.toFixed(2)} s (interval ${INTERVAL_S} s, lease ${LEASE_S} s)`);
  } finally {
    a.child.kill("SIGKILL");
    b.child.kill("SIGKILL");
    consuming = false;
    await consume;
    consumer.disconnect();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.del(queue);
    admin.disconnect();
  }
});
