/** Pidbox request selection (kombu Node.handle_message), Lamport clock, error repr, event shapes. */
import { LamportClock } from "../../src/events/clock";
import { EventDispatcher, eventRoutingKey } from "../../src/events/dispatcher";
import { roundedLoadavg } from "../../src/events/worker";
import { errorRepr, globToRegExp, isForNode, matchNode, ControlError } from "../../src/worker/control";
import type { Transport } from "../../src/transport/types";
import { pyFloat } from "../../src/protocol/serializers/json";
import { execFileSync } from "child_process";

test("destination list / pattern+matcher / broadcast", () => {
  expect(isForNode("w1@h", { destination: ["w1@h", "w2@h"] })).toBe(true);
  expect(isForNode("w3@h", { destination: ["w1@h"] })).toBe(false);
  expect(isForNode("w3@h", { destination: null, pattern: null, matcher: null })).toBe(true);
  expect(isForNode("w3@h", { destination: [], pattern: "w*@h", matcher: "glob" })).toBe(true);
  expect(isForNode("x3@h", { pattern: "w*", matcher: "glob" })).toBe(false);
  expect(isForNode("w3@h", { pattern: "w\\d", matcher: "pcre" })).toBe(true);
  expect(() => isForNode("w3@h", { pattern: "w", matcher: "nope" })).toThrow(ControlError);
});

test("glob is fnmatch (anchored; ?, [..], [!..]); pcre is re.match (anchored at the start only)", () => {
  expect(globToRegExp("celery@*").test("celery@host.x")).toBe(true);
  expect(globToRegExp("w?@h").test("w1@h")).toBe(true);
  expect(globToRegExp("w[12]@h").test("w3@h")).toBe(false);
  expect(globToRegExp("w[!12]@h").test("w3@h")).toBe(true);
  expect(globToRegExp("a.b").test("axb")).toBe(false);
  expect(matchNode("worker1@h", "worker", "pcre")).toBe(true);
  expect(matchNode("my-worker1@h", "worker", "pcre")).toBe(false);
});

test("fnmatch patterns match as Python's fnmatch.fnmatchcase, edge cases included ([!]], [^..], a lone [)", () => {
  const patterns = ["w[!]]x", "w[]]x", "w[^a]x", "a[b", "*.x", "w?@h", "w[a-c]*", "x+y(z)*"];
  const names = ["w]x", "wax", "w^x", "wbx", "a[b", "ab", "foo.x", "w1@h", "wc1", "x+y(z)1"];
  const code = "import fnmatch, json, sys\np, n = json.loads(sys.argv[1])\nprint(json.dumps([[fnmatch.fnmatchcase(x, q) for x in n] for q in p]))";
  const py = JSON.parse(execFileSync("/usr/bin/python3", ["-c", code, JSON.stringify([patterns, names])], { encoding: "utf8" })) as boolean[][];
  expect(patterns.map((q) => names.map((x) => globToRegExp(q).test(x)))).toEqual(py);
});

test("Lamport clock: forward on send, max(own, received)+1 on receipt", () => {
  const c = new LamportClock();
  expect(c.forward()).toBe(1);
  expect(c.adjust(10)).toBe(11);
  expect(c.adjust(3)).toBe(12);
  expect(c.adjust("20")).toBe(21);
  expect(c.adjust(undefined)).toBe(22);
});

test("errors are answered as Python reprs", () => {
  // Python's repr of the same exceptions (kombu/pidbox.py Node.dispatch replies {'error': repr(exc)})
  const want = JSON.parse(
    execFileSync("/usr/bin/python3", ["-c", "import json; print(json.dumps([repr(KeyError('foo')), repr(ValueError('Autoscale not enabled')), repr(TypeError('x'))]))"], { encoding: "utf8" }),
  ) as string[];
  expect([
    errorRepr(new ControlError("KeyError", "foo")),
    errorRepr(new ControlError("ValueError", "Autoscale not enabled")),
    errorRepr(new TypeError("x")),
  ]).toEqual(want);
});

test("events: routing key, field order, float freq/timestamp", async () => {
  expect(eventRoutingKey("worker-heartbeat")).toBe("worker.heartbeat");
  const sent: Array<{ exchange: string; rk: string; body: string; headers: unknown }> = [];
  const transport = {
    broadcast: async (exchange: string, rk: string, m: { body: Buffer; headers: unknown }) => void sent.push({ exchange, rk, body: m.body.toString(), headers: m.headers }),
  } as unknown as Transport;
  const d = new EventDispatcher(transport, { hostname: "n@h" });
  await d.send("worker-heartbeat", { freq: pyFloat(2), active: 0 });
  expect(sent[0].exchange).toBe("celeryev");
  expect(sent[0].rk).toBe("worker.heartbeat");
  expect(sent[0].headers).toEqual({ hostname: "n@h" });
  expect(sent[0].body).toMatch(/^\{"hostname": "n@h", "utcoffset": -?\d+, "pid": \d+, "clock": 1, "freq": 2\.0, "active": 0, "timestamp": \d+\.\d+, "type": "worker-heartbeat"\}$/);
  d.enabled = false;
  expect(await d.send("task-sent")).toBeNull();
  expect(sent).toHaveLength(1);
});

test("loadavg is rounded up to 2 decimals", () => {
  expect(roundedLoadavg([0.291, 0.4, 0.2601])).toEqual([0.3, 0.4, 0.27]);
});
