/** map / starmap / chunks and ctx.replace end to end on a real Redis with a celeriac worker. */
import type { Celery, Worker, BoundTaskContext } from "../../src";
import { chain, group, GroupResult } from "../../src";
import type { AsyncResult } from "../../src";
import { resolve } from "node:path";
import { captureLogger, mirrorAppTasks, storedMeta, testApp } from "../support/app";

let app: Celery;
let worker: Worker | null = null;
const logger = captureLogger();

afterEach(async () => {
  await worker?.stop();
  worker = null;
  await app?.close();
  logger.lines.length = 0;
});

async function setup() {
  app = testApp();
  const add = app.task("tasks.add", (x: number, y: number) => x + y);
  const mul = app.task("tasks.mul", (x: number, y: number) => x * y);
  const double = app.task("tasks.double", (x: number) => x * 2);
  const swap = app.task(
    "tasks.swap",
    (ctx: BoundTaskContext, x: number, y: number) => ctx.replace(add.s(x * 10, y)),
    { bind: true },
  );
  const toChain = app.task("tasks.to_chain", (ctx: BoundTaskContext, x: number) => ctx.replace(chain(add.s(x, 1), mul.s(3))), { bind: true });
  const toGroup = app.task("tasks.to_group", (ctx: BoundTaskContext, x: number) => ctx.replace(group(add.s(x, 1), add.s(x, 2))), { bind: true });
  worker = app.worker({ concurrency: 4, logger });
  await worker.start();
  return { add, mul, double, swap, toChain, toGroup };
}

test("task.map runs celery.map on the worker: a list of results", async () => {
  const { double } = await setup();
  const r = (await double.map([1, 2, 3]).applyAsync()) as AsyncResult;
  expect(await r.get({ timeout: 10000 })).toEqual([2, 4, 6]);
  const meta = (await storedMeta(r.id)) as { status: string };
  expect(meta.status).toBe("SUCCESS");
});

test("task.starmap runs celery.starmap", async () => {
  const { add } = await setup();
  const r = (await add.starmap([[1, 2], [3, 4]]).delay()) as AsyncResult;
  expect(await r.get({ timeout: 10000 })).toEqual([3, 7]);
});

test("task.chunks sends a group of starmaps", async () => {
  const { add } = await setup();
  const pairs = Array.from({ length: 10 }, (_, i): [number, number] => [i, i]);
  const g = await add.chunks(pairs, 2).applyAsync();
  expect(g).toBeInstanceOf(GroupResult);
  expect(g.results).toHaveLength(5);
  expect(await g.get({ timeout: 10000 })).toEqual([[0, 2], [4, 6], [8, 10], [12, 14], [16, 18]]);
});

test("a celery.chunks task run by the worker sends the starmap group", async () => {
  const { add } = await setup();
  const r = await app.sendTask("celery.chunks", [], { task: add.s().toDict() as never, it: [[1, 1], [2, 2], [3, 3]], n: 2 });
  const tuple = (await r.get({ timeout: 10000 })) as [[string, null], [[string, null], null][]];
  const members = tuple[1].map((m) => app.AsyncResult(m[0][0]));
  expect(await Promise.all(members.map((m) => m.get({ timeout: 10000 })))).toEqual([[2, 4], [6]]);
});

test("ctx.replace: the caller's get() receives the replacement's result under the same id", async () => {
  const { swap, mul } = await setup();
  const r = await swap.applyAsync([2, 3], {}, { link: mul.s(2) });
  expect(await r.get({ timeout: 10000 })).toBe(23);
  const meta = (await storedMeta(r.id)) as { status: string; children: [[string, null], null][] };
  expect(meta.status).toBe("SUCCESS");
  // The callback moved onto the replacement.
  expect(meta.children).toHaveLength(1);
  expect(await app.AsyncResult(meta.children[0][0][0]).get({ timeout: 10000 })).toBe(46);
});

test("ctx.replace inside a chain: the remaining steps run after the replacement", async () => {
  const { swap, add } = await setup();
  const r = await chain(swap.s(1, 1), add.s(100)).applyAsync();
  expect(await r.get({ timeout: 10000 })).toBe(111);
});

test("ctx.replace with a chain: the last step gets the original id", async () => {
  const { toChain } = await setup();
  const r = await toChain.delay(4);
  expect(await r.get({ timeout: 10000 })).toBe(15);
});

test("ctx.replace with a group: a chord with celery.accumulate(index=0) as body", async () => {
  const { toGroup } = await setup();
  const r = await toGroup.delay(1);
  expect(await r.get({ timeout: 10000 })).toEqual([2, 3]);
});

test("ctx.replace in a group member keeps the group id", async () => {
  const { swap, add } = await setup();
  const g = (await group(swap.s(1, 2), add.s(1, 1)).applyAsync());
  expect(await g.get({ timeout: 10000 })).toEqual([12, 2]);
  const meta = (await storedMeta(g.results[0].id)) as { group_id?: string };
  expect(meta.group_id).toBe(g.id);
});

test("ctx.replace in the threads pool: the replacement's result arrives under the same id", async () => {
  const tsapp = resolve(__dirname, "../../interop-tests/apps/tsapp.js");
  app = testApp();
  mirrorAppTasks(tsapp, app);
  worker = app.worker({ concurrency: 2, logger, pool: "threads", appModule: tsapp });
  await worker.start();
  const r = await app.sendTask("ts.replace_add", [1]);
  expect(await r.get({ timeout: 10000 })).toBe(101);
  expect(await storedMeta(r.id)).toMatchObject({ status: "SUCCESS", result: 101 });
});
