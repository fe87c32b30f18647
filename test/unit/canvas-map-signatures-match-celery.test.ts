/**
 * task.map / task.starmap / task.chunks dicts compared with what Celery 5.2 (`/usr/bin/python3`)
 * produces, and the celeriac builtins `celery.map`, `celery.starmap`, `celery.chunks`,
 * `celery.accumulate` run in-process like Celery's.
 */
import { execFileSync } from "child_process";
import { Celery } from "../../src/celery";
import type { BoundTaskContext } from "../../src/client/task";
import type { WireValue } from "../../src/protocol/message";

const PY = `
import json
from celery import Celery
app = Celery('t', broker='memory://')
@app.task(name='t.add')
def add(x, y): return x + y
@app.task(name='t.double')
def double(x): return x * 2
out = {
  'map': add.map([1, 2, 3]),
  'map_nested': double.map([[1, 2], {'a': 1}, None, 'x']),
  'starmap': add.starmap([[1, 2], [3, 4]]),
  'starmap_zip': add.starmap(zip(range(3), range(3))),
  'chunks': add.chunks(zip(range(10), range(10)), 3),
  'chunks_group': add.chunks(zip(range(10), range(10)), 3).group(),
  'chunks_even': add.chunks([[1, 1], [2, 2]], 1).group(),
  'map_queue': add.map([1]).set(queue='q'),
}
print(json.dumps(out))
`;

function python(): Record<string, unknown> {
  return JSON.parse(execFileSync("/usr/bin/python3", ["-c", PY], { encoding: "utf8" })) as Record<string, unknown>;
}

function zip(a: number[], b: number[]): [number, number][] {
  return a.map((x, i) => [x, b[i]]);
}
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

let py: Record<string, unknown>;
let app: Celery;
beforeAll(() => {
  py = python();
});
beforeEach(() => {
  app = new Celery("t", { brokerUrl: "memory://" });
});

test("task.map / starmap / chunks dicts are Celery 5.2's", () => {
  const add = app.task("t.add", (x: number, y: number) => x + y);
  const double = app.task("t.double", (x: unknown) => x);
  const j = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
  expect(j(add.map([1, 2, 3]))).toEqual(py.map);
  expect(j(double.map([[1, 2], { a: 1 }, null, "x"]))).toEqual(py.map_nested);
  expect(j(add.starmap([[1, 2], [3, 4]]))).toEqual(py.starmap);
  expect(j(add.starmap(zip(range(3), range(3))))).toEqual(py.starmap_zip);
  expect(j(add.chunks(zip(range(10), range(10)), 3))).toEqual(py.chunks);
  expect(j(add.chunks(zip(range(10), range(10)), 3).group())).toEqual(py.chunks_group);
  expect(j(add.chunks([[1, 1], [2, 2]], 1).group())).toEqual(py.chunks_even);
  expect(j(add.map([1]).set({ queue: "q" }))).toEqual(py.map_queue);
  // Key order too (Celery's dict order).
  expect(JSON.stringify(add.map([1, 2, 3]))).toBe(JSON.stringify(py.map));
  expect(JSON.stringify(add.chunks(zip(range(10), range(10)), 3))).toBe(JSON.stringify(py.chunks));
});

function ctx(args: WireValue[] = [], kwargs: { [k: string]: WireValue } = {}): BoundTaskContext {
  return { request: { id: "tid", rootId: "tid", args, kwargs } } as unknown as BoundTaskContext;
}

function builtin(name: string): (...a: unknown[]) => Promise<unknown> {
  const t = app.tasks.get(name);
  if (!t) throw new Error(`${name} not registered`);
  return async (...a: unknown[]) => (t.handler as (...x: unknown[]) => unknown)(...a);
}

test("builtins are registered, bound to celeriac's task context, with Celery's parameter names", () => {
  // bind is celeriac's (its handlers take the context); in Celery only celery.accumulate is bind=True
  for (const name of ["celery.map", "celery.starmap", "celery.chunks", "celery.accumulate"]) {
    expect(app.tasks.get(name)?.options.bind).toBe(true);
  }
  // the parameters of Celery 5.2's celery/app/builtins.py xmap / xstarmap / chunks run()
  const names = ["celery.map", "celery.starmap", "celery.chunks"];
  const code = `import inspect, json
from celery import Celery
app = Celery('t', broker='memory://')
app.finalize()
print(json.dumps([list(inspect.signature(app.tasks[n].run).parameters) for n in ${JSON.stringify(names)}]))`;
  const celeryParams = JSON.parse(execFileSync("/usr/bin/python3", ["-c", code], { encoding: "utf8" })) as string[][];
  expect(names.map((n) => app.tasks.get(n)?.options.params)).toEqual(celeryParams);
});

test("celery.map calls the task in-process per item; starmap spreads each item", async () => {
  const add = app.task("t.add", async (x: number, y: number) => x + y);
  const double = app.task("t.double", (x: number) => x * 2);
  const seen: unknown[] = [];
  app.task("t.bound", (c: BoundTaskContext, x: number) => {
    seen.push(c.request.id);
    return x + 1;
  }, { bind: true });
  const nothing = app.task("t.nothing", () => undefined);
  expect(await builtin("celery.map")(ctx(), double.s().toDict(), [1, 2, 3])).toEqual([2, 4, 6]);
  expect(await builtin("celery.starmap")(ctx(), add.s().toDict(), [[1, 2], [3, 4]])).toEqual([3, 7]);
  // Partial args of the signature are ignored (Celery calls signature(task).type(item)).
  expect(await builtin("celery.map")(ctx(), double.s(100).toDict(), [5])).toEqual([10]);
  expect(await builtin("celery.map")(ctx(), app.signature("t.bound").toDict(), [1])).toEqual([2]);
  expect(seen).toEqual(["tid"]);
  expect(await builtin("celery.map")(ctx(), nothing.s().toDict(), [1])).toEqual([null]);
  expect(await builtin("celery.map")(ctx(), double.s().toDict(), [])).toEqual([]);
});

test("celery.map with an unknown task raises NotRegistered", async () => {
  await expect(builtin("celery.map")(ctx(), app.signature("t.missing").toDict(), [1])).rejects.toMatchObject({
    excType: "NotRegistered",
    excModule: "celery.exceptions",
    excMessage: ["t.missing"],
  });
});

test("celery.accumulate returns args, or args[index]", async () => {
  const acc = builtin("celery.accumulate");
  expect(await acc(ctx([1, 2, 3]))).toEqual([1, 2, 3]);
  expect(await acc(ctx([[5, 6]], { index: 0 }), { index: 0 })).toEqual([5, 6]);
  expect(await acc(ctx([1, 2, 3], { index: -1 }), { index: -1 })).toBe(3);
});
