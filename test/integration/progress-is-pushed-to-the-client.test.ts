/**
 * `AsyncResult.get({ onMessage })` and `result.onProgress(cb)` receive the states a task stores as
 * they are stored (PROGRESS and custom states; pushed, not polled), on both result backends: Redis
 * (pub/sub of each store) and rpc:// (each reply), with both brokers.
 */
import { Celery } from "../../src";
import type { TaskContext, Worker } from "../../src";
import type { ResultMeta } from "../../src/protocol/result-meta";
import type { WireValue } from "../../src/protocol/message";
import { captureLogger, unique } from "../support/app";
import { BROKERS, type BrokerLease } from "../support/brokers";
import { testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";

jest.setTimeout(60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(BROKERS)("task states pushed to the client on $name", (broker) => {
  describe.each([
    ["Redis backend", () => testRedisUrl(9)],
    ["rpc:// backend", () => "rpc://"],
  ])("%s", (_label, backendUrl) => {
    let lease: BrokerLease;
    let app: Celery;
    let worker: Worker;

    beforeAll(async () => {
      lease = await broker.open("progress-push", 11);
      app = new Celery("progress", { broker: lease.url, backend: backendUrl(), taskDefaultQueue: unique("progress") });
      app.task(
        "t.steps",
        async (ctx: TaskContext, steps: number) => {
          await sleep(300);
          for (let i = 1; i <= steps; i++) {
            await ctx.updateState("PROGRESS", { current: i, total: steps });
            await sleep(150);
          }
          await ctx.updateState("UPLOADING", { file: "x.csv" });
          await sleep(150);
          return steps;
        },
        { bind: true },
      );
      worker = app.worker({ concurrency: 2, logger: captureLogger() });
      await worker.start();
    });
    afterAll(async () => {
      await worker?.stop();
      await app?.close();
      await lease?.close();
    });

    test("get({ onMessage }) sees every state as it is stored, the final one last", async () => {
      const r = await app.sendTask<number>("t.steps", [3]);
      const seen: Array<[string, WireValue]> = [];
      const value = await r.get({ timeout: 20_000, onMessage: (meta: ResultMeta) => seen.push([meta.status, meta.result]) });
      expect(value).toBe(3);
      expect(seen).toEqual([
        ["PROGRESS", { current: 1, total: 3 }],
        ["PROGRESS", { current: 2, total: 3 }],
        ["PROGRESS", { current: 3, total: 3 }],
        ["UPLOADING", { file: "x.csv" }],
        ["SUCCESS", 3],
      ]);
    });

    test("onProgress gets the custom states, then stops by itself when the task is ready", async () => {
      const r = await app.sendTask<number>("t.steps", [2]);
      const infos: Array<[string, WireValue]> = [];
      const errors: Error[] = [];
      r.onProgress((info, state) => infos.push([state, info]), (e) => errors.push(e));
      expect(await r.get({ timeout: 20_000 })).toBe(2);
      await waitFor(() => infos.length === 3, 5000, "three progress states");
      expect(infos).toEqual([
        ["PROGRESS", { current: 1, total: 2 }],
        ["PROGRESS", { current: 2, total: 2 }],
        ["UPLOADING", { file: "x.csv" }],
      ]);
      expect(errors).toEqual([]);
    });

    test("a follower that starts late gets the state stored now first; one that stopped gets nothing more", async () => {
      const r = await app.sendTask<number>("t.steps", [4]);
      const late: WireValue[] = [];
      await waitFor(async () => (await r.state()) === "PROGRESS", 10_000, "first PROGRESS");
      const stop = r.onProgress((info) => late.push(info));
      await waitFor(() => late.length > 0, 5000, "the stored state");
      expect(late[0]).toMatchObject({ total: 4 });
      stop();
      const count = late.length;
      expect(await r.get({ timeout: 20_000 })).toBe(4);
      expect(late.length).toBe(count);
    });
  });
});
