/**
 * The concurrency gate limits handlers running at once: a request gives its slot to the next one
 * when its handler is done (`release`), while its outcome is still being stored and acked, and
 * the gate is idle only once every request settled (what a warm shutdown waits for).
 */
import { ConcurrencyGate } from "../../src/worker/concurrency-gate";

/** A runner whose items stay "handler running" until `done(item)`, then "storing" until `settle(item)`. */
function steppedRunner(): {
  run: (item: string, release: () => void, settled: () => void) => void;
  started: string[];
  done(item: string): void;
  settle(item: string): void;
} {
  const releases = new Map<string, () => void>();
  const settles = new Map<string, () => void>();
  const started: string[] = [];
  return {
    started,
    run: (item, release, settled) => {
      started.push(item);
      releases.set(item, release);
      settles.set(item, settled);
    },
    done: (item) => releases.get(item)?.(),
    settle: (item) => settles.get(item)?.(),
  };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

test("release starts the next item at once; the gate is idle when every item settled", async () => {
  const r = steppedRunner();
  const gate = new ConcurrencyGate<string>(1, r.run);
  let idle = false;
  gate.submit("a");
  gate.submit("b");
  expect(r.started).toEqual(["a"]);
  r.done("a");
  expect(r.started).toEqual(["a", "b"]);
  expect(gate.active).toBe(1);
  void gate.onIdle().then(() => (idle = true));
  r.done("b");
  r.settle("b");
  await flush();
  expect(idle).toBe(false); // "a" is still storing
  r.settle("a");
  await flush();
  expect(idle).toBe(true);
});

test("an item that never releases holds its slot until it settles; a second release does nothing", async () => {
  const r = steppedRunner();
  const gate = new ConcurrencyGate<string>(2, r.run);
  for (const item of ["a", "b", "c", "d"]) gate.submit(item);
  expect(r.started).toEqual(["a", "b"]);
  r.done("a");
  r.done("a");
  expect(r.started).toEqual(["a", "b", "c"]);
  r.settle("b");
  await flush();
  expect(r.started).toEqual(["a", "b", "c", "d"]);
  expect(gate.active).toBe(2);
});

test("a runner that releases its slot before it returns: the next item starts after that runner returned, never inside it", async () => {
  const events: string[] = [];
  let depth = 0;
  let deepest = 0;
  let unblock: () => void = () => undefined;
  const gate = new ConcurrencyGate<number>(1, (item, release, settled) => {
    if (item < 0) {
      unblock = release; // holds the slot while the others queue up
      setImmediate(settled);
      return;
    }
    deepest = Math.max(deepest, ++depth);
    events.push(`start ${item}`);
    release(); // a synchronous handler is done at once; its outcome is stored later
    events.push(`released ${item}`);
    depth--;
    void Promise.resolve().then(settled);
  });
  gate.submit(-1);
  for (let i = 0; i < 10000; i++) gate.submit(i);
  unblock();
  await gate.onIdle();
  expect(deepest).toBe(1);
  expect(events.slice(0, 4)).toEqual(["start 0", "released 0", "start 1", "released 1"]);
  expect(events).toHaveLength(20000);
});

test("a runner that throws is settled at once; a second settled() does nothing", async () => {
  const started: string[] = [];
  const settles = new Map<string, () => void>();
  const gate = new ConcurrencyGate<string>(2, (item, _release, settled) => {
    started.push(item);
    if (item === "bad") throw new Error("runner failed");
    settles.set(item, settled);
  });
  gate.submit("bad");
  gate.submit("a");
  gate.submit("c");
  expect(started).toEqual(["bad", "a", "c"]);
  let idle = false;
  void gate.onIdle().then(() => (idle = true));
  settles.get("a")?.();
  settles.get("a")?.();
  await flush();
  expect(idle).toBe(false); // "c" has not settled: the second call for "a" counted nothing
  expect(gate.active).toBe(1);
  settles.get("c")?.();
  await flush();
  expect(idle).toBe(true);
});
