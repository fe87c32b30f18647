/** Pure pieces of the worker semantics: rates, token bucket, revoked set, retry maths. */
import { parseRate, TokenBucket } from "../../src/worker/rate";
import { LimitedSet, REVOKES_MAX, REVOKE_EXPIRES } from "../../src/worker/state";
import { autoretryFor, backoffCountdown, errorMatches, retriesExhausted, retryApplyOptions, retryText } from "../../src/worker/retry";
import { CeleryError } from "../../src/protocol/exceptions";
import { reviveError, SoftTimeLimitExceeded, taskTraceback } from "../../src/worker/errors";
import { WorkerSignals } from "../../src/signals";
import type { Request } from "../../src/worker/request";
import { execFileSync } from "child_process";
import { loadVector } from "../support/vectors";

/** Runs `code` under Debian's Celery 5.2 (/usr/bin/python3) and parses the JSON it prints. */
function python(code: string): unknown {
  return JSON.parse(execFileSync("/usr/bin/python3", ["-c", code], { encoding: "utf8" }));
}

function fakeRequest(retries: number, extra: Partial<Request["task"]> = {}): Request {
  return {
    task: { id: "id-1", task: "t.x", name: "t.x", args: [5], kwargs: {}, retries, rootId: "id-1", parentId: null, group: null, groupIndex: null, expires: null, timelimit: [null, null], replyTo: "r", embed: { callbacks: null, errbacks: null, chain: null, chord: null }, priority: 0, ignoreResult: false, ...extra },
    delivery: { routingKey: "q1" },
  } as unknown as Request;
}

test("parseRate reads Celery's rate strings and plain numbers as tasks per second", () => {
  const inputs = ["10/s", "120/m", "3600/h", "0.5", 4, null];
  // celery.utils.time.rate, run by Celery 5.2
  const want = python(`import json; from celery.utils.time import rate; print(json.dumps([rate(x) for x in ${JSON.stringify(inputs).replace(/null/g, "None")}]))`);
  expect(inputs.map((x) => parseRate(x))).toEqual(want);
  expect(want).toEqual([10, 2, 1, 0.5, 4, 0]);
  expect(() => parseRate("10/d")).toThrow(/invalid rate limit/);
});

test("TokenBucket (capacity 1) lets one task through, then one per 1/rate seconds", () => {
  let now = 0;
  const b = new TokenBucket(2, 1, () => now);
  expect(b.canConsume()).toBe(true);
  expect(b.canConsume()).toBe(false);
  expect(b.expectedTime()).toBeCloseTo(0.5);
  now = 0.25;
  expect(b.canConsume()).toBe(false);
  now = 0.5;
  expect(b.canConsume()).toBe(true);
});

test("LimitedSet keeps at most maxlen ids and forgets them after `expires` seconds", () => {
  expect([REVOKES_MAX, REVOKE_EXPIRES]).toEqual([50000, 10800]);
  let now = 1000;
  const s = new LimitedSet(3, 10, () => now);
  for (const id of ["a", "b", "c", "d"]) s.add(id);
  expect(s.has("a")).toBe(false);
  expect(s.has("d")).toBe(true);
  now = 1011;
  expect(s.has("d")).toBe(false);
  const copy = new LimitedSet(3, 10, () => 1005);
  copy.load([["x", 1000], ["y", 990]]);
  expect(copy.has("x")).toBe(true);
  expect(copy.has("y")).toBe(false);
});

test("retries are exhausted when retries+1 > max_retries (default 3, null = never)", () => {
  expect(retriesExhausted(fakeRequest(2), {}, {})).toBe(false);
  expect(retriesExhausted(fakeRequest(3), {}, {})).toBe(true);
  expect(retriesExhausted(fakeRequest(0), { maxRetries: 0 }, {})).toBe(true);
  expect(retriesExhausted(fakeRequest(100), {}, { maxRetries: null })).toBe(false);
});

test("the retry message keeps id/root/queue, sets parent_id to the task itself, countdown 0 means no eta", () => {
  const o = retryApplyOptions(fakeRequest(0), { countdown: 0 }, {});
  expect(o).toMatchObject({ taskId: "id-1", retries: 1, rootId: "id-1", parentId: "id-1", queue: "q1", replyTo: "r" });
  expect(o.eta).toBeUndefined();
  const d = retryApplyOptions(fakeRequest(1, { parentId: "p" }), {}, {});
  expect(d.parentId).toBe("p");
  expect((d.eta as Date).getTime() - Date.now()).toBeGreaterThan(179_000);
});

test("Retry text is Python's str(Retry)", () => {
  // str(celery.exceptions.Retry(...)), run by Celery 5.2
  const want = python(`import json
from datetime import datetime, timezone
from celery.exceptions import Retry
print(json.dumps([str(Retry(exc=ValueError('try again'), when=600)), str(Retry(when=180)),
                  str(Retry(when=datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)))]))`);
  expect([
    retryText(new CeleryError("ValueError", ["try again"], "builtins"), 600),
    retryText(undefined, 180),
    retryText(null, new Date("2030-01-02T03:04:05.678Z")),
  ]).toEqual(want);
});

test("backoff is min(max, factor*2^retries) with full jitter in [0, countdown]", () => {
  expect(backoffCountdown(1, 0, 600, false)).toBe(1);
  expect(backoffCountdown(3, 4, 600, false)).toBe(48);
  expect(backoffCountdown(1, 20, 600, false)).toBe(600);
  expect(backoffCountdown(1, 3, 600, true, () => 0.999)).toBe(8);
  expect(backoffCountdown(1, 3, 600, true, () => 0)).toBe(0);
});

test("autoretryFor matches classes, exc_type names and thread-revived class names; dontAutoretryFor wins", () => {
  class Flaky extends Error {}
  const err = new Flaky("x");
  expect(errorMatches(err, [Flaky])).toBe(true);
  expect(errorMatches(new CeleryError("KeyError", ["k"], "builtins"), ["KeyError"])).toBe(true);
  expect(errorMatches(new TypeError("t"), ["KeyError"])).toBe(false);
  expect(errorMatches(new TypeError("t"), ["Exception"])).toBe(true);
  const revived = reviveError({ name: "Error", message: "x", stack: null, classes: ["Flaky", "Error"] });
  expect(errorMatches(revived, [Flaky])).toBe(true);
  const req = fakeRequest(2);
  expect(autoretryFor(err, req, { autoretryFor: [Flaky], retryBackoff: 2, retryJitter: false })).toMatchObject({ exc: err, countdown: 8 });
  expect(autoretryFor(err, req, { autoretryFor: [Flaky], dontAutoretryFor: ["Error"] })).toBeNull();
  expect(autoretryFor(err, req, { autoretryFor: ["Other"] })).toBeNull();
  expect(autoretryFor(err, req, { autoretryFor: [Flaky], retryKwargs: { countdown: 0, maxRetries: 5 } })).toMatchObject({ countdown: 0, maxRetries: 5 });
});

test("SoftTimeLimitExceeded has Python's wire form and traceback line", () => {
  const e = new SoftTimeLimitExceeded();
  // Celery 5.2's stored FAILURE for an exceeded soft_time_limit (vector backend-redis-soft-time-limit)
  const stored = JSON.parse(loadVector("backend-redis-soft-time-limit").raw as string) as { result: unknown; traceback: string };
  expect(e.toExceptionInfo()).toEqual(stored.result);
  const lastLine = stored.traceback.trimEnd().split("\n").pop() as string;
  expect(lastLine).toBe("billiard.exceptions.SoftTimeLimitExceeded: SoftTimeLimitExceeded()");
  expect(taskTraceback(e).endsWith(`\n${lastLine}\n`)).toBe(true);
});

test("signal listener errors and rejections are logged, never thrown", async () => {
  const s = new WorkerSignals();
  const logged: string[] = [];
  const seen: string[] = [];
  s.on("workerReady", () => {
    throw new Error("boom");
  });
  s.on("workerReady", async () => {
    throw new Error("later");
  });
  s.on("workerReady", (p) => void seen.push(p.hostname));
  s.emit("workerReady", { hostname: "w@h" }, { error: (m: string) => logged.push(m) });
  await new Promise((r) => setImmediate(r));
  expect(seen).toEqual(["w@h"]);
  expect(logged).toEqual([expect.stringContaining("workerReady raised: Error: boom"), expect.stringContaining("Error: later")]);
});
