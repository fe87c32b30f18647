/**
 * The autoscaler against Celery's own (`celery/worker/autoscale.py` of the newest Celery, in
 * interop-tests/.venv): the same script of received and finished requests, clock steps, checks
 * and `autoscale` updates, driven through Celery's `Autoscaler` (a stand-in pool and clock) and
 * through celeriac's (a stand-in consumer and clock), gives the same sizes, info and prefetch
 * window at every step. `--autoscale` is parsed as Celery's click type; a worker started with
 * autoscale starts min processes with a prefetch window of max × multiplier.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { Celery } from "../../src";
import { Logger } from "../../src/logging";
import { Autoscaler, autoscaleKeepalive, parseAutoscale } from "../../src/worker/autoscaler";
import type { ScaledConsumer } from "../../src/worker/autoscaler";
import type { Request } from "../../src/worker/request";

const NEWEST = join(__dirname, "..", "..", "interop-tests", ".venv", "bin", "python");

/** One step: requests come in (`recv`) or finish (`done`), the clock moves, a check, an `autoscale` update. */
type Step = ["recv", number] | ["done", number] | ["advance", number] | ["tick"] | ["update", number | null, number | null];
interface Scenario {
  max: number;
  min: number;
  keepalive: number;
  multiplier: number;
  steps: Step[];
}
/** After each step: Celery's info() and the prefetch window. */
type Trace = Array<[{ max: number; min: number; current: number; qty: number }, number]>;

/** Celery's Autoscaler with a pool and clock of the script's; `recv` is Celery's on_task_received after reserving. */
const CELERY_DRIVER = `
import json, sys
import celery.worker.autoscale as autoscale
from celery.worker import state

sc = json.loads(sys.argv[1])
clock = [1000.0]
autoscale.monotonic = lambda: clock[0]

class Pool:
    def __init__(self, n): self.num_processes = n
    def grow(self, n): self.num_processes += n
    def shrink(self, n): self.num_processes -= n
    def maintain_pool(self): pass

class Consumer:
    # kombu QoS increment_eventually / decrement_eventually (never below 1)
    prefetch = max(sc['max'], 1) * sc['multiplier']
    def _update_prefetch_count(self, diff):
        Consumer.prefetch = max(Consumer.prefetch + diff * sc['multiplier'], 1)

class Worker:
    consumer = Consumer()

class Req:
    pass

held = []
scaler = autoscale.Autoscaler(Pool(max(sc['min'], 1)), sc['max'], sc['min'], worker=Worker(), keepalive=sc['keepalive'])
out = []
for step in sc['steps']:
    op = step[0]
    if op == 'recv':
        for _ in range(step[1]):
            r = Req(); held.append(r); state.reserved_requests.add(r)
            scaler.on_task_received(r)
    elif op == 'done':
        for _ in range(step[1]):
            state.reserved_requests.discard(held.pop())
    elif op == 'advance':
        clock[0] += step[1]
    elif op == 'tick':
        scaler.maybe_scale()
    elif op == 'update':
        scaler.update(step[1], step[2])
    out.append([scaler.info(), Consumer.prefetch])
print(json.dumps(out))
`;

function celeryTrace(scenario: Scenario): Trace {
  return JSON.parse(execFileSync(NEWEST, ["-c", CELERY_DRIVER, JSON.stringify(scenario)], { encoding: "utf8" })) as Trace;
}

/** celeriac's Autoscaler on a consumer and clock of the script's. */
function celeriacTrace(scenario: Scenario): Trace {
  let now = 1_000_000;
  let size = Math.max(scenario.min, 1);
  let prefetch = Math.max(scenario.max, 1) * scenario.multiplier;
  let reserved: Request[] = [];
  const consumer: ScaledConsumer = {
    get concurrency() {
      return size;
    },
    get active() {
      return [];
    },
    get reserved() {
      return reserved;
    },
    grow: (n) => Boolean((size += n)),
    shrink: (n) => Boolean((size = Math.max(1, size - n))),
    get prefetch() {
      return prefetch;
    },
    setPrefetch: (count) => void (prefetch = Math.max(1, count)),
  };
  const scaler = new Autoscaler(consumer, { ...scenario, prefetchMultiplier: scenario.multiplier, logger: new Logger("ERROR"), now: () => now });
  const trace: Trace = [];
  for (const step of scenario.steps) {
    if (step[0] === "recv") {
      reserved = [...reserved, ...Array.from({ length: step[1] }, () => ({}) as Request)];
      for (let i = 0; i < step[1]; i++) scaler.taskReceived();
    } else if (step[0] === "done") reserved = reserved.slice(step[1]);
    else if (step[0] === "advance") now += step[1] * 1000;
    else if (step[0] === "tick") scaler.maybeScale();
    else scaler.update(step[1], step[2]);
    trace.push([scaler.info(), prefetch]);
  }
  return trace;
}

test("grows to min(qty, max) at once, shrinks to max(qty, min) only after the keepalive since the last task or scale-up; update as Celery's", () => {
  const scenario: Scenario = {
    max: 3,
    min: 1,
    keepalive: 30,
    multiplier: 4,
    steps: [
      ["tick"],
      ["recv", 5],
      ["tick"],
      ["advance", 10],
      ["tick"],
      ["done", 4],
      ["tick"],
      ["advance", 25],
      ["tick"],
      ["recv", 2],
      ["tick"],
      ["advance", 20],
      ["done", 3],
      ["recv", 1],
      ["tick"],
      ["advance", 29],
      ["tick"],
      ["advance", 2],
      ["tick"],
      ["done", 1],
      ["update", 4, 2],
      ["tick"],
      ["update", null, 1],
      ["update", 1, null],
      ["update", null, null],
      ["update", 6, 6],
      ["update", 2, 1],
    ],
  };
  const trace = celeriacTrace(scenario);
  expect(trace).toEqual(celeryTrace(scenario));
  // What the script shows: up to 3 at the first check, down to 1 only after 30 s of quiet.
  expect(trace[2][0]).toEqual({ max: 3, min: 1, current: 3, qty: 5 });
  expect(trace[6][0].current).toBe(3);
  expect(trace[8][0].current).toBe(1);
});

test("no scale-down before anything came in or scaled up, however long (Celery's last_active None)", () => {
  const scenario: Scenario = { max: 4, min: 1, keepalive: 1, multiplier: 2, steps: [["update", 4, 3], ["update", null, 1], ["advance", 100], ["tick"]] };
  const trace = celeriacTrace(scenario);
  expect(trace).toEqual(celeryTrace(scenario));
  expect(trace[3][0].current).toBe(3);
});

test("--autoscale parses as Celery's click type: MAX,MIN in either order, MAX alone is min 0", () => {
  const good = ["3,1", "1,3", "5", " 4 , 2 ", "10,0", "+3,1", "7,7"];
  const bad = ["x", "1,2,3", "3,x", "", "3,"];
  const code = `
import json, sys
from celery.bin.worker import Autoscale
out = []
for v in json.loads(sys.argv[1]):
    try:
        out.append(list(Autoscale().convert(v, None, None)))
    except Exception:
        out.append(None)
print(json.dumps(out))`;
  const celery = JSON.parse(execFileSync("/usr/bin/python3", ["-c", code, JSON.stringify([...good, ...bad])], { encoding: "utf8" })) as Array<[number, number] | null>;
  const ours = [...good, ...bad].map((v) => {
    try {
      const { max, min } = parseAutoscale(v);
      return [max, min];
    } catch {
      return null;
    }
  });
  expect(ours).toEqual(celery);
});

test("AUTOSCALE_KEEPALIVE: seconds, default 30; not a number > 0 is refused", () => {
  expect(autoscaleKeepalive({})).toBe(30);
  expect(autoscaleKeepalive({ AUTOSCALE_KEEPALIVE: "0.5" })).toBe(0.5);
  for (const bad of ["", "abc", "0", "-1"]) expect(() => autoscaleKeepalive({ AUTOSCALE_KEEPALIVE: bad })).toThrow(/AUTOSCALE_KEEPALIVE/);
});

test("a worker with autoscale starts min processes (at least one) with a prefetch window of max × multiplier; threads refuse it", () => {
  const app = new Celery("as", { broker: "redis://127.0.0.1:1/0" });
  const w = app.worker({ pool: "eventloop", concurrency: 8, autoscale: { max: 3, min: 2, keepalive: 5 }, logger: new Logger("ERROR") });
  expect(w.concurrency).toBe(2);
  expect(w.consumer.concurrency).toBe(2);
  expect(w.prefetch).toBe(12);
  expect(w.autoscaler?.info()).toEqual({ max: 3, min: 2, current: 2, qty: 0 });
  expect(w.autoscaler?.keepalive).toBe(5);
  expect(app.worker({ autoscale: { max: 3 }, logger: new Logger("ERROR") }).concurrency).toBe(1);
  expect(app.worker({ logger: new Logger("ERROR") }).autoscaler).toBeNull();
  expect(() => app.worker({ pool: "threads", appModule: "x.js", autoscale: { max: 3, min: 1 } })).toThrow(/threads pool/);
  expect(() => app.worker({ autoscale: { max: 1, min: 3 } })).toThrow(/min <= max/);
  expect(() => app.worker({ autoscale: { max: 2.5 } })).toThrow(/whole numbers/);
  expect(() => app.worker({ autoscale: { max: 2, keepalive: 0 } })).toThrow(/keepalive/);
});
