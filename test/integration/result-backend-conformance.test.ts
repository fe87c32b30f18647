/**
 * One suite of result-backend behaviours that do not depend on where results live, run against
 * the key-value backends: RedisBackend (test redis, db 4) and MemoryBackend (`cache+memory://`,
 * this process's cache). The Redis wire details (keys, TTLs, PUBLISH, SUBSCRIBE batching) stay in
 * redis-backend.test.ts; rpc:// replies to one sender and has its own suite.
 */
import { RedisBackend, chordMember } from "../../src/backend/redis";
import { MemoryBackend } from "../../src/backend/memory";
import type { ResultBackend } from "../../src/backend/types";
import type { ResultMeta } from "../../src/protocol/result-meta";
import { groupResultTuple } from "../../src/protocol/result-meta";
import { unique } from "../support/app";
import { testRedisUrl } from "../support/redis";
import { sleep } from "../support/wait";

type JoiningBackend = ResultBackend & Pick<RedisBackend, "setChordSize" | "onChordPartReturn">;

const SUBJECTS: Array<[string, () => JoiningBackend]> = [
  ["redis", () => new RedisBackend(testRedisUrl(4))],
  ["cache+memory", () => new MemoryBackend()],
];

function meta(taskId: string, status: string, result: ResultMeta["result"] = null): ResultMeta {
  return { status, result, traceback: null, children: [], date_done: status === "SUCCESS" || status === "FAILURE" ? "2026-11-22T01:42:28.748231" : null, task_id: taskId };
}

describe.each(SUBJECTS)("result backend conformance: %s", (_name, make) => {
  const open: JoiningBackend[] = [];
  function backend(): JoiningBackend {
    const b = make();
    open.push(b);
    return b;
  }
  afterEach(async () => {
    await Promise.all(open.splice(0).map((b) => b.close()));
  });

  test("store then get returns the meta; a missing id is null (PENDING); forget deletes", async () => {
    const b = backend();
    await b.connect();
    const id = unique("t");
    expect(await b.get(id)).toBeNull();
    await b.store(id, meta(id, "SUCCESS", { n: [1, "ü"] }));
    expect(await b.get(id)).toEqual(meta(id, "SUCCESS", { n: [1, "ü"] }));
    await b.forget(id);
    expect(await b.get(id)).toBeNull();
  });

  test("a stored SUCCESS is never overwritten", async () => {
    const b = backend();
    await b.connect();
    const id = unique("t");
    await b.store(id, meta(id, "SUCCESS", 1));
    await b.store(id, meta(id, "FAILURE", { exc_type: "ValueError", exc_message: ["late"], exc_module: "builtins" }));
    expect((await b.get(id))?.result).toBe(1);
  });

  test("waitForReady stays pending through STARTED, resolves on SUCCESS stored by another instance", async () => {
    const waiter = backend();
    const writer = backend();
    await Promise.all([waiter.connect(), writer.connect()]);
    const id = unique("t");
    let settled = false;
    const p = waiter.waitForReady(id, 10000).finally(() => (settled = true));
    await sleep(100);
    await writer.store(id, meta(id, "STARTED"));
    await sleep(100);
    expect(settled).toBe(false);
    await writer.store(id, meta(id, "SUCCESS", 42));
    expect((await p).result).toBe(42);
  });

  test("waitForReady of a ready task resolves at once; a timeout rejects with a TimeoutError", async () => {
    const b = backend();
    await b.connect();
    const id = unique("t");
    await b.store(id, meta(id, "FAILURE", { exc_type: "ValueError", exc_message: ["x"], exc_module: "builtins" }));
    expect((await b.waitForReady(id, 5000)).status).toBe("FAILURE");
    await expect(b.waitForReady(unique("t"), 200)).rejects.toMatchObject({ name: "TimeoutError" });
  });

  test("saveGroup / restoreGroup / deleteGroup", async () => {
    const b = backend();
    await b.connect();
    const gid = unique("g");
    const tuple = groupResultTuple(gid, ["a", "b"]);
    await b.saveGroup(gid, { result: tuple });
    expect(await b.restoreGroup(gid)).toEqual({ result: tuple });
    await b.deleteGroup(gid);
    expect(await b.restoreGroup(gid)).toBeNull();
  });

  test("chord join: exactly one part completes it, with every member in group-index order", async () => {
    const b1 = backend();
    const b2 = backend();
    await Promise.all([b1.connect(), b2.connect()]);
    const gid = unique("g");
    await b1.setChordSize(gid, 6);
    const order = [3, 0, 5, 1, 4, 2];
    const results = await Promise.all(order.map((i) => (i % 2 ? b1 : b2).onChordPartReturn(gid, i, chordMember(`t${i}`, "SUCCESS", i))));
    const done = results.filter((r) => r.complete);
    expect(done).toHaveLength(1);
    expect(done[0].members.map((m) => (JSON.parse(m) as unknown[])[3])).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
