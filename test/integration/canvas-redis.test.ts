/** Canvas end to end on a real Redis with a celeriac worker: link, link_error, chain, group, chord. */
import type { Celery, Worker } from "../../src";
import { chain, chord, group, GroupResult } from "../../src";
import type { AsyncResult } from "../../src";
import { captureLogger, storedMeta, testApp } from "../support/app";
import { rawRedis } from "../support/redis";
import { waitFor } from "../support/wait";

let app: Celery;
let worker: Worker | null = null;
const logger = captureLogger();
const calls: unknown[][] = [];

afterEach(async () => {
  await worker?.stop();
  worker = null;
  await app?.close();
  logger.lines.length = 0;
  calls.length = 0;
});

async function setup() {
  app = testApp();
  const add = app.task("tasks.add", (x: number, y: number) => x + y);
  const mul = app.task("tasks.mul", (x: number, y: number) => x * y);
  const tsum = app.task("tasks.tsum", (xs: number[]) => xs.reduce((a, b) => a + b, 0));
  const boom = app.task("tasks.boom", (): number => {
    throw new Error("boom");
  });
  const record = app.task("tasks.record", (...args: unknown[]) => {
    calls.push(args);
    return args.length;
  });
  worker = app.worker({ concurrency: 4, logger });
  await worker.start();
  return { add, mul, tsum, boom, record };
}

test("link: the callback gets the result; children are stored", async () => {
  const { add, mul } = await setup();
  const r = await add.applyAsync([2, 2], {}, { link: mul.s(10) });
  expect(await r.get({ timeout: 10000 })).toBe(4);
  const meta = (await storedMeta(r.id)) as { children: [[string, null], null][] };
  expect(meta.children).toHaveLength(1);
  const child = app.AsyncResult(meta.children[0][0][0]);
  expect(await child.get({ timeout: 10000 })).toBe(40);
});

test("chain of three returns the last result, .parent links back", async () => {
  const { add, mul } = await setup();
  const r = (await chain(add.s(1, 2), mul.s(10), add.s(5)).applyAsync()) as AsyncResult & { parent: AsyncResult & { parent: AsyncResult } };
  expect(await r.get({ timeout: 10000 })).toBe(35);
  expect(await r.parent.get({ timeout: 10000 })).toBe(30);
  expect(await r.parent.parent.get({ timeout: 10000 })).toBe(3);
  const meta = (await storedMeta(r.id)) as { parent_id: string };
  expect(meta.parent_id).toBe(r.parent.id);
});

test("a failing chain step fails every later step; link_error gets the failed id", async () => {
  const { add, boom, record } = await setup();
  const r = await chain(add.s(1, 2), boom.si().set({ linkError: record.s("err") }), add.s(5)).applyAsync();
  await expect(r.get({ timeout: 10000 })).rejects.toThrow("boom");
  await waitFor(() => calls.length === 1, 10000, "errback");
  expect(calls[0][1]).toBe("err");
  expect(typeof calls[0][0]).toBe("string");
});

test("group: GroupResult get/completedCount/ready/save/restore", async () => {
  const { add } = await setup();
  const g = (await group([0, 1, 2].map((i) => add.s(i, i))).applyAsync());
  expect(await g.get({ timeout: 10000 })).toEqual([0, 2, 4]);
  expect(await g.completedCount()).toBe(3);
  expect(await g.ready()).toBe(true);
  await g.save();
  const back = await app.restoreGroup(g.id);
  expect(back?.results.map((r) => r.id)).toEqual(g.results.map((r) => r.id));
  expect(await back?.join({ timeout: 5000 })).toEqual([0, 2, 4]);
  const redis = rawRedis(9);
  try {
    expect(JSON.parse((await redis.get(`celery-taskset-meta-${g.id}`)) as string)).toEqual({ result: [[g.id, null], g.results.map((r) => [[r.id, null], null])] });
  } finally {
    redis.disconnect();
  }
});

test("chord: the body runs once with the header results in order; join keys are deleted", async () => {
  const { add, tsum, record } = await setup();
  const r = await chord([add.s(1, 1), add.s(2, 2), add.s(3, 3)], record.s()).applyAsync();
  await r.get({ timeout: 10000 });
  expect(calls).toEqual([[[2, 4, 6]]]);
  const gid = (r as AsyncResult & { parent: GroupResult }).parent.id;
  const redis = rawRedis(9);
  try {
    expect(await redis.exists(`celery-taskset-meta-${gid}.j`, `celery-taskset-meta-${gid}.s`)).toBe(0);
  } finally {
    redis.disconnect();
  }
  const r2 = await chord([add.s(1, 1), add.s(2, 2)], tsum.s()).applyAsync();
  expect(await r2.get({ timeout: 10000 })).toBe(6);
});

test("chord with a failing part: the body fails with ChordError", async () => {
  const { add, boom, tsum } = await setup();
  const r = await chord([add.s(1, 1), boom.s()], tsum.s()).applyAsync();
  await expect(r.get({ timeout: 10000 })).rejects.toMatchObject({ name: "ChordError" });
  const meta = (await storedMeta(r.id)) as { result: { exc_message: string[] } };
  expect(meta.result.exc_message[0]).toMatch(/^Dependency [0-9a-f-]{36} raised Error\('boom'\)$/);
});

test("chain into a group and a chord as steps", async () => {
  const { add, mul, tsum } = await setup();
  const r = await chain(add.s(1, 1), group(mul.s(2), mul.s(3)), tsum.s()).applyAsync();
  expect(await r.get({ timeout: 10000 })).toBe(10);
});
