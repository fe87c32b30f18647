/** RedisBackend against a real redis-server, checked against Celery's captured values. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type Redis from "ioredis";
import { RedisBackend, chordMember, normalizeKeyPrefix } from "../../src/backend/redis";
import { decodeResultMeta } from "../../src/protocol/result-meta";
import type { GroupMeta, ResultMeta } from "../../src/protocol/result-meta";
import { loadLooseVector } from "../support/vectors";

/** A Redis backend capture: the key Celery wrote and its value. */
interface BackendVector {
  raw: string;
  redis_key: string;
  ttl_seconds: number;
}
import { unique } from "../support/app";
import { rawRedis, testRedisUrl } from "../support/redis";
import { sleep, waitFor } from "../support/wait";

jest.setTimeout(30000);

const DB = 4;
let raw: Redis;
const backends: RedisBackend[] = [];

function backend(options: ConstructorParameters<typeof RedisBackend>[1] = {}): RedisBackend {
  const b = new RedisBackend(testRedisUrl(DB), options);
  backends.push(b);
  return b;
}

beforeAll(async () => {
  // No FLUSHDB: names are unique, and other files of the same run use this database too.
  raw = rawRedis(DB);
});
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()));
});
afterAll(() => raw.disconnect());

function meta(taskId: string, status: string, result: ResultMeta["result"] = null): ResultMeta {
  return {
    status,
    result,
    traceback: null,
    children: [],
    date_done: status === "SUCCESS" || status === "FAILURE" ? "2026-11-22T01:42:28.748231" : null,
    task_id: taskId,
  };
}

/** Messages PUBLISHed on a channel, seen by a raw subscriber. */
async function listen(channel: string): Promise<{ messages: string[]; stop(): void }> {
  const sub = rawRedis(DB);
  const messages: string[] = [];
  sub.on("message", (c, m) => c === channel && messages.push(m));
  await sub.subscribe(channel);
  return { messages, stop: () => sub.disconnect() };
}

describe("task meta (B1, B2, B4, B5)", () => {
  test("SUCCESS is stored byte-identical to Celery's value, SETEX 86400 + PUBLISH on the key name", async () => {
    const v = loadLooseVector<BackendVector>("backend-redis-success-int");
    const m = decodeResultMeta(v.raw);
    const b = backend();
    const probe = await listen(v.redis_key);
    await b.store(m.task_id, m);
    expect(await raw.get(v.redis_key)).toBe(v.raw);
    expect(await raw.ttl(v.redis_key)).toBe(86400);
    expect(v.ttl_seconds).toBe(86400);
    await sleep(50);
    expect(probe.messages).toEqual([v.raw]);
    probe.stop();
    expect(await b.get(m.task_id)).toEqual(m);
  });

  test("FAILURE with exception dict and traceback is stored byte-identical", async () => {
    for (const name of ["backend-redis-failure-valueerror", "backend-redis-failure-custom", "backend-redis-revoked"]) {
      const v = loadLooseVector<BackendVector>(name);
      const m = decodeResultMeta(v.raw);
      await backend().store(m.task_id, m);
      expect(await raw.get(v.redis_key)).toBe(v.raw);
    }
  });

  test("a stored SUCCESS is never overwritten (and nothing is published)", async () => {
    const b = backend();
    const id = unique("t");
    const key = `celery-task-meta-${id}`;
    await b.store(id, meta(id, "SUCCESS", 1));
    const probe = await listen(key);
    await b.store(id, meta(id, "STARTED"));
    await b.store(id, meta(id, "FAILURE"));
    expect((await b.get(id))?.status).toBe("SUCCESS");
    await sleep(50);
    expect(probe.messages).toEqual([]);
    probe.stop();
    // other states are overwritten
    const id2 = unique("t");
    await b.store(id2, meta(id2, "STARTED"));
    await b.store(id2, meta(id2, "FAILURE"));
    expect((await b.get(id2))?.status).toBe("FAILURE");
  });

  test("a SUCCESS Celery stored signed (result_serializer auth) is never overwritten either", async () => {
    // the value Python Celery 5.7 wrote for a signed SUCCESS: base64 of signer, signature, JSON joined by \x00\x01
    const signed = (JSON.parse(readFileSync(join(__dirname, "../fixtures/vectors/auth/celery-5.7.json"), "utf8")) as { result_meta: string }).result_meta;
    const id = unique("t");
    const key = `celery-task-meta-${id}`;
    await raw.set(key, signed);
    await backend().store(id, meta(id, "FAILURE"));
    expect(await raw.get(key)).toBe(signed);
    // a signed value of another state is overwritten
    const started = Buffer.from(Buffer.from(signed, "base64").toString("latin1").replace(/"status": ?"SUCCESS"/, '"status": "STARTED"'), "latin1").toString("base64");
    expect(started).not.toBe(signed);
    await raw.set(key, started);
    await backend().store(id, meta(id, "FAILURE"));
    expect(await raw.get(key)).not.toBe(started);
  });

  test("TTL follows resultExpires; null or 0 stores without TTL", async () => {
    const id = unique("t");
    await backend({ resultExpires: 120 }).store(id, meta(id, "SUCCESS"));
    expect(await raw.ttl(`celery-task-meta-${id}`)).toBe(120);
    for (const e of [null, 0]) {
      const id2 = unique("t");
      await backend({ resultExpires: e }).store(id2, meta(id2, "SUCCESS"));
      expect(await raw.ttl(`celery-task-meta-${id2}`)).toBe(-1);
    }
  });

  test("the reads of one turn go out together, each settling with its own GET's reply", async () => {
    const b = backend();
    const [stored, missing, broken] = [unique(), unique(), unique()];
    await b.store(stored, meta(stored, "SUCCESS", 4));
    await raw.rpush(b.taskKey(broken), "not a string"); // GET there fails with WRONGTYPE
    const outcomes = await Promise.allSettled([stored, missing, broken].map((id) => b.get(id)));
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    expect((outcomes[0] as PromiseFulfilledResult<ResultMeta | null>).value?.result).toBe(4);
    expect((outcomes[1] as PromiseFulfilledResult<ResultMeta | null>).value).toBeNull();
    expect(String((outcomes[2] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    // one at a time (each sent at once after a lone one)
    for (let i = 0; i < 3; i++) expect((await b.get(stored))?.status).toBe("SUCCESS");
    await raw.del(b.taskKey(stored), b.taskKey(broken));
  });

  test("get of a missing key is null (PENDING); forget deletes", async () => {
    const b = backend();
    const id = unique("t");
    expect(await b.get(id)).toBeNull();
    await b.store(id, meta(id, "SUCCESS"));
    await b.forget(id);
    expect(await raw.exists(`celery-task-meta-${id}`)).toBe(0);
    expect(await b.get(id)).toBeNull();
  });
});

describe("waitForReady by SUBSCRIBE (B20)", () => {
  // Speed is measured in bench/; this checks the behaviour: non-ready states do not resolve the wait, the ready
  // state's PUBLISH does, carrying its result (generous bound: well inside the 10 s wait timeout).
  test("stays pending through STARTED and resolves with the result published by SUCCESS", async () => {
    const b = backend();
    const writer = backend();
    const id = unique("t");
    let settled = false;
    const waiting = b.waitForReady(id, 10000).finally(() => (settled = true));
    await sleep(100);
    await writer.store(id, meta(id, "STARTED"));
    await sleep(300);
    expect(settled).toBe(false);
    const t0 = Date.now();
    await writer.store(id, meta(id, "SUCCESS", 42));
    const got = await waiting;
    expect(got.status).toBe("SUCCESS");
    expect(got.result).toBe(42);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test("already ready: the GET after SUBSCRIBE resolves at once", async () => {
    const b = backend();
    const id = unique("t");
    await b.store(id, meta(id, "FAILURE", { exc_type: "ValueError", exc_message: ["x"], exc_module: "builtins" }));
    const got = await b.waitForReady(id, 1000);
    expect(got.status).toBe("FAILURE");
  });

  test("times out with a TimeoutError and unsubscribes when no waiter remains", async () => {
    const b = backend();
    const id = unique("t");
    const key = `celery-task-meta-${id}`;
    const w1 = b.waitForReady(id, 200);
    const w2 = b.waitForReady(id, 600);
    await sleep(50);
    expect(await raw.pubsub("NUMSUB", key)).toEqual([key, 1]); // one shared subscription
    await expect(w1).rejects.toMatchObject({ name: "TimeoutError" });
    expect(await raw.pubsub("NUMSUB", key)).toEqual([key, 1]);
    await expect(w2).rejects.toMatchObject({ name: "TimeoutError" });
    // given up channels are unsubscribed together, a moment later
    await waitFor(async () => ((await raw.pubsub("NUMSUB", key)) as [string, number])[1] === 0, 2000, "unsubscribed");
  });

  test("a channel waited on again while its UNSUBSCRIBE is pending stays subscribed and gets its result", async () => {
    const b = backend();
    const writer = backend();
    const id = unique("t");
    const key = `celery-task-meta-${id}`;
    await expect(b.waitForReady(id, 50)).rejects.toMatchObject({ name: "TimeoutError" });
    const again = b.waitForReady(id, 10000);
    await sleep(300); // past the moment the given-up channels are unsubscribed
    expect(await raw.pubsub("NUMSUB", key)).toEqual([key, 1]);
    await writer.store(id, meta(id, "SUCCESS", 7));
    expect((await again).result).toBe(7);
  });

  test("the tasks watched in one tick are subscribed with one SUBSCRIBE", async () => {
    const b = backend();
    const ids = Array.from({ length: 20 }, () => unique("t"));
    const client = rawRedis(DB);
    const monitor = await client.monitor();
    const subscribes: string[][] = [];
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (String(args[0]).toLowerCase() === "subscribe" && args.some((a) => ids.some((id) => a.endsWith(id)))) subscribes.push(args.slice(1));
    });
    try {
      for (const id of ids) b.watch(id);
      await Promise.race([b.waitForReady(ids[0], 2000).catch(() => undefined), sleep(300)]);
      expect(subscribes).toEqual([ids.map((id) => `celery-task-meta-${id}`)]);
    } finally {
      monitor.disconnect();
      client.disconnect();
    }
  });

  test("many waiters on many tasks share one subscriber connection", async () => {
    const b = backend();
    const writer = backend();
    const ids = Array.from({ length: 50 }, () => unique("t"));
    const before = Number((await raw.info("clients")).match(/connected_clients:(\d+)/)![1]);
    const waits = ids.map((id) => b.waitForReady(id, 10000));
    await sleep(100);
    const during = Number((await raw.info("clients")).match(/connected_clients:(\d+)/)![1]);
    expect(during - before).toBeLessThanOrEqual(2); // command + subscriber connection
    await Promise.all(ids.map((id, i) => writer.store(id, meta(id, "SUCCESS", i))));
    expect((await Promise.all(waits)).map((m) => m.result)).toEqual(ids.map((_, i) => i));
  });
});

describe("groups and chords (B13, B15)", () => {
  test("saveGroup writes Celery's GroupResult tuple byte-identical; restore and delete", async () => {
    const v = loadLooseVector<BackendVector & { decoded: GroupMeta }>("backend-redis-group-save");
    const b = backend();
    const gid = v.decoded.result[0][0];
    const probe = await listen(v.redis_key);
    await b.saveGroup(gid, v.decoded);
    expect(await raw.get(v.redis_key)).toBe(v.raw);
    expect(await raw.ttl(v.redis_key)).toBe(86400);
    await sleep(50);
    expect(probe.messages).toEqual([v.raw]);
    probe.stop();
    expect(await b.restoreGroup(gid)).toEqual(v.decoded);
    await b.deleteGroup(gid);
    expect(await b.restoreGroup(gid)).toBeNull();
  });

  test("native chord join: .s size, .j zset by group_index, completion returns ordered members and deletes keys", async () => {
    const v = loadLooseVector<{ raw: string[][] }>("backend-redis-chord-join");
    const b = backend();
    const gid = unique("g");
    await b.setChordSize(gid, 3);
    expect(await raw.get(`celery-taskset-meta-${gid}.s`)).toBe("3");
    const [m0, m1, m2] = [chordMember("a", "SUCCESS", 2), chordMember("b", "SUCCESS", 4), chordMember("c", "SUCCESS", null)];
    expect(m0).toBe(v.raw[0][0].replace("b2eb0acd-5e8c-45f2-bb7c-0d96151dc4a6", "a"));
    expect(await b.onChordPartReturn(gid, 1, m1)).toEqual({ complete: false, members: [] });
    expect(await b.onChordPartReturn(gid, 0, m0)).toEqual({ complete: false, members: [] });
    expect(await raw.zrange(`celery-taskset-meta-${gid}.j`, 0, -1, "WITHSCORES")).toEqual([m0, "0", m1, "1"]);
    expect(await raw.ttl(`celery-taskset-meta-${gid}.j`)).toBe(86400);
    expect(await b.onChordPartReturn(gid, 2, m2)).toEqual({ complete: true, members: [m0, m1, m2] });
    expect(await raw.exists(`celery-taskset-meta-${gid}.j`, `celery-taskset-meta-${gid}.s`, `celery-taskset-meta-${gid}.t`)).toBe(0);
  });

  test("concurrent chord parts: exactly one completes", async () => {
    const b1 = backend();
    const b2 = backend();
    const gid = unique("g");
    await b1.setChordSize(gid, 20);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? b1 : b2).onChordPartReturn(gid, i, chordMember(`t${i}`, "SUCCESS", i))),
    );
    const done = results.filter((r) => r.complete);
    expect(done.length).toBe(1);
    expect(done[0].members.map((m) => (JSON.parse(m) as unknown[])[3])).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

describe("keyPrefix (Celery 5.3+ result_backend_transport_options.global_keyprefix)", () => {
  test("'_' is appended unless the prefix ends in : _ - .", () => {
    expect(normalizeKeyPrefix("myapp")).toBe("myapp_");
    for (const p of ["a:", "a_", "a-", "a."]) expect(normalizeKeyPrefix(p)).toBe(p);
    expect(normalizeKeyPrefix("")).toBe("");
  });

  test("prefixed task, group and chord keys and channels", async () => {
    const b = backend({ keyPrefix: "myapp" });
    const id = unique("t");
    const key = `myapp_celery-task-meta-${id}`;
    const waiting = b.waitForReady(id, 5000);
    await sleep(50);
    expect(await raw.pubsub("NUMSUB", key)).toEqual([key, 1]);
    await b.store(id, meta(id, "SUCCESS", 7));
    expect((await waiting).result).toBe(7);
    expect(await raw.exists(key)).toBe(1);
    await b.saveGroup("g1", { result: [["g1", null], [[[id, null], null]]] });
    expect(await raw.get("myapp_celery-taskset-meta-g1")).toBe(`{"result": [["g1", null], [[["${id}", null], null]]]}`);
    await b.setChordSize("g1", 1);
    expect(await raw.get("myapp_celery-taskset-meta-g1.s")).toBe("1");
    const b2 = backend({ keyPrefix: "other:" });
    await b2.store(id, meta(id, "SUCCESS", 8));
    expect(await raw.exists(`other:celery-task-meta-${id}`)).toBe(1);
  });
});

test("watch() subscribes as the task is sent, so a result published before get() is not missed", async () => {
  const b = backend();
  await b.connect();
  const id = unique("watched");
  b.watch(id);
  await sleep(100); // SUBSCRIBE acknowledged
  await b.store(id, meta(id, "SUCCESS", 7));
  await sleep(50);
  await b.forget(id); // only the buffered PUBLISH can answer now
  const got = await b.waitForReady(id, 1000);
  expect(got.result).toBe(7);
});
