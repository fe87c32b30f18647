/**
 * Canvas messages (client and worker side) compared with messages captured from Celery 5.2:
 * signatures in dict form, link/link_error, chain, group, chord, callbacks, chain steps,
 * errbacks, chord body.
 */
import { execFileSync } from "child_process";
import { randomUUID as uuid4 } from "node:crypto";
import { resolveConfig } from "../../src/settings";
import type { ResultBackend } from "../../src/backend/types";
import { AsyncResult } from "../../src/client/async-result";
import { GroupResult, Signature, chain, chord, group, fromDict, wireToApplyOptions, applyToWireOptions } from "../../src/client/canvas";
import type { CanvasApp } from "../../src/client/canvas";
import type { ApplyOptions, TaskMessage } from "../../src/client/options";
import { buildTaskSpec } from "../../src/client/producer";
import { decodeTask } from "../../src/protocol/decode";
import { encodeTask } from "../../src/protocol/encode";
import type { DecodedTask, Embed, SignatureDict, WireValue } from "../../src/protocol/message";
import type { GroupMeta, ResultMeta } from "../../src/protocol/result-meta";
import { pyJsonDumps } from "../../src/protocol/serializers/json";
import { WorkerCanvas } from "../../src/worker/canvas";
import { createRequest } from "../../src/worker/request";
import type { Delivery } from "../../src/transport/types";
import type { Celery } from "../../src/celery";
import { Logger } from "../../src/logging";
import { loadVector, messagesOf } from "../support/vectors";

const ACCEPT = ["json"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Sent {
  name: string;
  task: DecodedTask;
}

/** A fake backend recording stores; chord join scripted by the test. */
class FakeBackend implements ResultBackend {
  readonly name = "redis";
  stored: ResultMeta[] = [];
  groups = new Map<string, GroupMeta>();
  chordSizes: [string, number, number][] = [];
  chordReply: { complete: boolean; members: string[] } = { complete: false, members: [] };
  parts: [string, number | null, string][] = [];
  sentBeforeSize = 0;
  constructor(private readonly app: FakeApp) {}
  async connect(): Promise<void> {}
  async close(): Promise<void> {}
  async store(_id: string, meta: ResultMeta): Promise<void> {
    this.stored.push(meta);
  }
  async get(): Promise<ResultMeta | null> {
    return null;
  }
  async waitForReady(): Promise<ResultMeta> {
    throw new Error("not here");
  }
  async forget(): Promise<void> {}
  async saveGroup(gid: string, meta: GroupMeta): Promise<void> {
    this.groups.set(gid, JSON.parse(JSON.stringify(meta)) as GroupMeta);
  }
  async restoreGroup(gid: string): Promise<GroupMeta | null> {
    return this.groups.get(gid) ?? null;
  }
  async deleteGroup(gid: string): Promise<void> {
    this.groups.delete(gid);
  }
  async setChordSize(gid: string, size: number): Promise<void> {
    this.chordSizes.push([gid, size, this.app.sent.length]);
  }
  async onChordPartReturn(gid: string, index: number | null, member: string): Promise<{ complete: boolean; members: string[] }> {
    this.parts.push([gid, index, member]);
    return this.chordReply;
  }
}

/** Records messages exactly as the producer would build them. */
class FakeApp implements CanvasApp {
  readonly conf = resolveConfig({});
  readonly sent: Sent[] = [];
  readonly fakeBackend = new FakeBackend(this);
  constructor(readonly oid: string = uuid4()) {}
  async sendTask<R = unknown>(name: string, args: WireValue[] = [], kwargs: { [k: string]: WireValue } = {}, options: ApplyOptions = {}): Promise<AsyncResult<R>> {
    const spec = buildTaskSpec(this.conf, this.oid, name, args, kwargs, { ...options, taskId: options.taskId ?? uuid4() }, 0);
    const raw = encodeTask(spec, { serializer: "json" });
    this.sent.push({ name, task: decodeTask(raw, { accept: ACCEPT }) });
    return new AsyncResult<R>(spec.id, () => this.backend());
  }
  /** The size of every sendTasks batch, in order. */
  readonly batches: number[] = [];
  async sendTasks<R = unknown>(tasks: readonly TaskMessage[]): Promise<AsyncResult<R>[]> {
    this.batches.push(tasks.length);
    const out: AsyncResult<R>[] = [];
    for (const t of tasks) out.push(await this.sendTask<R>(t.name, t.args, t.kwargs, t.options));
    return out;
  }
  async backend(): Promise<ResultBackend> {
    return this.fakeBackend;
  }
  signature(name: string, args: WireValue[] = [], kwargs: { [k: string]: WireValue } = {}, options: ApplyOptions = {}): Signature {
    return new Signature(this, { task: name, args, kwargs, options: {}, subtask_type: null, immutable: false }).set(options);
  }
  s(name: string, ...args: WireValue[]): Signature {
    return this.signature(name, args);
  }
  si(name: string, ...args: WireValue[]): Signature {
    return this.signature(name, args).setImmutable();
  }
}

function vectorTasks(name: string): DecodedTask[] {
  return messagesOf(loadVector(name)).map(({ raw }) => decodeTask(raw, { accept: ACCEPT }));
}

/** The fields a canvas message is compared on. */
function shape(t: DecodedTask, ignore: string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {
    task: t.task,
    id: t.id,
    args: t.args,
    kwargs: t.kwargs,
    embed: t.embed,
    group: t.group,
    groupIndex: t.groupIndex,
    rootId: t.rootId,
    parentId: t.parentId,
    argsrepr: t.argsrepr,
    kwargsrepr: t.kwargsrepr,
    replyTo: t.replyTo,
    correlationId: t.correlationId,
  };
  for (const k of ignore) delete out[k];
  return out;
}

function fakeRequest(task: Omit<Partial<DecodedTask>, "embed"> & { id: string; task: string; embed?: Partial<Embed> }) {
  const decoded = decodeTask(
    encodeTask(
      {
        id: task.id,
        task: task.task,
        args: task.args ?? [],
        kwargs: task.kwargs ?? {},
        embed: task.embed,
        rootId: task.rootId ?? task.id,
        parentId: task.parentId ?? null,
        group: task.group ?? null,
        groupIndex: task.groupIndex ?? null,
        origin: "test",
        replyTo: "client",
      },
      { serializer: "json" },
    ),
    { accept: ACCEPT },
  );
  const delivery = { exchange: "", routingKey: "celery", redelivered: false } as unknown as Delivery;
  return createRequest(decoded, delivery, "w@host");
}

function workerCanvas(app: FakeApp): WorkerCanvas {
  return new WorkerCanvas(app as unknown as Celery, app.fakeBackend, new Logger("CRITICAL", () => undefined));
}

/** The same signatures built by Celery 5.2 (/usr/bin/python3), as JSON. */
const PY_SIGNATURES = `
import json
from celery import Celery, chain, chord, group
app = Celery('t', broker='memory://')
s = app.signature
sig = s('tasks.mul', (10,)).set(queue='q1', task_id='abc', countdown=3)
sig.on_error(s('tasks.echo', ('x',), immutable=True))
a, b, c = s('tasks.a'), s('tasks.b', (1,)), s('tasks.c', immutable=True)
print(json.dumps({
  'set_link_error': sig,
  'chord': chord([s('tasks.add', (1, 1))], s('tasks.tsum')),
  'chord_header_group': group([s('tasks.add', (1, 1))]),
  'chain': chain(s('a'), s('b')),
  'pipe': [a | b | c, chain(a, b) | c, a | chain(b, c)],
}))
`;
let pySigs: Record<string, WireValue>;
beforeAll(() => {
  pySigs = JSON.parse(execFileSync("/usr/bin/python3", ["-c", PY_SIGNATURES], { encoding: "utf8" })) as Record<string, WireValue>;
});

describe("signatures in Celery's dict form", () => {
  test("s/si/set/link serialise with Celery's keys and snake_case options", () => {
    const app = new FakeApp();
    const sig = app.s("tasks.mul", 10).set({ queue: "q1", taskId: "abc", countdown: 3, linkError: app.si("tasks.echo", "x") });
    // Same keys and values as Celery's s(...).set(...).on_error(si(...)); the order of the keys in
    // options is not compared (celeriac writes task_id first, Python keeps the order of set()'s kwargs).
    expect(sig.toDict()).toEqual(pySigs.set_link_error);
    expect(wireToApplyOptions(sig.options)).toEqual({
      taskId: "abc",
      queue: "q1",
      countdown: 3,
      linkError: [{ task: "tasks.echo", args: ["x"], kwargs: {}, options: {}, subtask_type: null, immutable: true }],
    });
    expect(applyToWireOptions({ routingKey: "rk", softTimeLimit: 2 })).toEqual({ routing_key: "rk", soft_time_limit: 2 });
  });

  test("group/chain/chord dicts have Celery's composite layout and round-trip through fromDict", () => {
    const app = new FakeApp();
    const g = group(app.s("tasks.mul", 2), app.s("tasks.mul", 3));
    const v = loadVector("redis-link-group-and-immutable");
    const expected = vectorTasks(v.name)[0].embed.callbacks as SignatureDict[];
    expect(pyJsonDumps(g.toDict())).toBe(pyJsonDumps(expected[0]));
    expect(pyJsonDumps(app.si("tasks.add", 100, 1).toDict())).toBe(pyJsonDumps(expected[1]));
    const c = chord([app.s("tasks.add", 1, 1)], app.s("tasks.tsum"));
    // Python's chord(...) dict holds its header as a plain list; celeriac writes the header as a
    // group dict, the form Celery itself sends when chain(x, group, y) becomes a chord (vector
    // redis-chain-with-group) and which _chord.from_dict accepts too. Everything else is Python's.
    const pyChord = pySigs.chord as { kwargs: Record<string, WireValue> };
    expect(c.toDict()).toEqual({ ...pyChord, kwargs: { ...pyChord.kwargs, header: pySigs.chord_header_group } });
    const ch = chain(app.s("a"), app.s("b"));
    expect(ch.toDict()).toEqual(pySigs.chain);
    for (const sig of [g, c, ch]) expect(fromDict(app, sig.toDict()).toDict()).toEqual(sig.toDict());
  });

  test("a.pipe(b, c) is Celery's a | b | c: one flat chain, also when extending a chain", () => {
    const app = new FakeApp();
    const [a, b, c] = [app.s("tasks.a"), app.s("tasks.b", 1), app.si("tasks.c")];
    // Python: a | b | c, chain(a, b) | c, a | chain(b, c) (Celery 5.2)
    const [pyFlat, pyExtend, pyNested] = pySigs.pipe as WireValue[];
    expect(chain(a, b, c).toDict()).toEqual(pyFlat);
    expect(a.pipe(b, c).toDict()).toEqual(pyFlat);
    expect(chain(a, b).pipe(c).toDict()).toEqual(pyExtend);
    expect(a.pipe(chain(b, c)).toDict()).toEqual(pyNested);
  });

  test("partial application prepends args unless immutable", async () => {
    const app = new FakeApp();
    await app.s("tasks.add", 2).delay(5);
    await app.si("tasks.add", 2).delay(5);
    expect(app.sent.map((s) => s.task.args)).toEqual([[5, 2], [2]]);
    const copy = app.s("tasks.add", 2).clone([1], { z: 1 });
    expect(copy.toDict()).toMatchObject({ args: [1, 2], kwargs: { z: 1 } });
  });
});

describe("client canvas messages match Celery 5.2", () => {
  test("redis-link-and-link-error: link/linkError land in embed callbacks/errbacks", async () => {
    const app = new FakeApp();
    const [want] = vectorTasks("redis-link-and-link-error");
    await app.s("tasks.add", 2, 2).applyAsync([], {}, { link: app.s("tasks.mul", 10), linkError: app.si("tasks.echo", "it failed") });
    expect(pyJsonDumps(app.sent[0].task.embed)).toBe(pyJsonDumps(want.embed));
    expect(app.sent[0].task.args).toEqual(want.args);
  });

  test("redis-chain-3: only the first task is sent, the rest reversed with pre-assigned ids", async () => {
    const [want] = vectorTasks("redis-chain-3");
    const app = new FakeApp(want.replyTo);
    const r = await chain(app.s("tasks.add", 1, 2), app.s("tasks.mul", 10), app.s("tasks.add", 5)).applyAsync();
    expect(app.sent).toHaveLength(1);
    const got = app.sent[0].task;
    const ids = (got.embed.chain ?? []).map((s) => s.options.task_id as string);
    expect(ids.every((id) => UUID.test(id))).toBe(true);
    // Substitute Celery's ids with ours, then everything must be equal.
    const wantChain = (want.embed.chain ?? []).map((s, i) => ({ ...s, options: { ...s.options, task_id: ids[i] } }));
    expect(pyJsonDumps({ ...shape(got, ["id", "rootId", "correlationId"]) })).toBe(
      pyJsonDumps({ ...shape({ ...want, embed: { ...want.embed, chain: wantChain } }, ["id", "rootId", "correlationId"]) }),
    );
    expect(got.rootId).toBe(got.id);
    // The result is the last step's, linked back through .parent.
    expect(r.id).toBe(ids[0]);
    const p1 = (r as AsyncResult & { parent: AsyncResult & { parent: AsyncResult } }).parent;
    expect(p1.id).toBe(ids[1]);
    expect(p1.parent.id).toBe(got.id);
  });

  test("redis-group-3: members share the group id (group_index null like 5.2), GroupResult saves Celery's tuple", async () => {
    const want = vectorTasks("redis-group-3");
    const app = new FakeApp(want[0].replyTo);
    const gr = (await group([0, 1, 2].map((i) => app.s("tasks.add", i, i))).applyAsync());
    expect(app.sent).toHaveLength(3);
    const gid = app.sent[0].task.group as string;
    expect(UUID.test(gid)).toBe(true);
    app.sent.forEach((s, i) => {
      expect(shape(s.task, ["id", "rootId", "correlationId", "group"])).toEqual(shape(want[i], ["id", "rootId", "correlationId", "group"]));
      expect(s.task.group).toBe(gid);
      expect(s.task.rootId).toBe(s.task.id);
    });
    expect(gr.id).toBe(gid);
    expect(gr.results.map((r) => r.id)).toEqual(app.sent.map((s) => s.task.id));

    // backend-redis-group-save: {"result": [[gid, null], [[[id, null], null], ...]]}
    const save = loadVector("backend-redis-group-save");
    const saved = save.decoded as { result: [[string, null], [[string, null], null][]] };
    const same = new GroupResult(saved.result[0][0], saved.result[1].map((m) => new AsyncResult(m[0][0], () => app.backend())), () => app.backend());
    await same.save();
    expect(pyJsonDumps(app.fakeBackend.groups.get(same.id))).toBe(pyJsonDumps(saved));
    const back = await GroupResult.restore(app, same.id);
    expect(back?.results.map((r) => r.id)).toEqual(same.results.map((r) => r.id));
  });

  test("redis-chord-native-redis-backend: header carries embed.chord with the body id; .s written before the last member", async () => {
    const want = vectorTasks("redis-chord-native-redis-backend");
    const app = new FakeApp(want[0].replyTo);
    const r = await chord([app.s("tasks.add", 1, 1), app.s("tasks.add", 2, 2)], app.s("tasks.tsum")).applyAsync();
    expect(app.sent).toHaveLength(2);
    const gid = app.sent[0].task.group as string;
    const bodyId = (app.sent[0].task.embed.chord as SignatureDict).options.task_id as string;
    expect(r.id).toBe(bodyId);
    app.sent.forEach((s, i) => {
      const w = { ...want[i], embed: { ...want[i].embed, chord: { ...(want[i].embed.chord as SignatureDict), options: { task_id: bodyId, reply_to: want[i].replyTo } } } };
      expect(pyJsonDumps(shape(s.task, ["id", "rootId", "correlationId", "group"]))).toBe(pyJsonDumps(shape(w, ["id", "rootId", "correlationId", "group"])));
      expect(s.task.group).toBe(gid);
    });
    expect(app.fakeBackend.chordSizes).toEqual([[gid, 2, 1]]);
    expect((r as AsyncResult & { parent: GroupResult }).parent.id).toBe(gid);
  });

  test("a group of plain tasks goes out as one sendTasks batch; a chord header's members but the last as one, then its size, then the last", async () => {
    const app = new FakeApp();
    await group(app.s("a"), app.s("b"), app.s("c")).applyAsync();
    expect(app.batches).toEqual([3]);
    const c = new FakeApp();
    await chord([c.s("a"), c.s("b"), c.s("c")], c.s("sum")).applyAsync();
    expect(c.batches).toEqual([2]);
    expect(c.fakeBackend.chordSizes.map(([, size, sentBefore]) => [size, sentBefore])).toEqual([[3, 2]]);
    expect(c.sent).toHaveLength(3);
    // a member that is itself a canvas: one member after another, as before
    const nested = new FakeApp();
    await group(nested.s("a"), chain(nested.s("b"), nested.s("c"))).applyAsync();
    expect(nested.batches).toEqual([]);
    expect(nested.sent.map((x) => x.name)).toEqual(["a", "b"]);
  });

  test("chain(x, group, y) becomes chain(x, chord(group, y))", async () => {
    const app = new FakeApp();
    await chain(app.s("x"), group(app.s("a"), app.s("b")), app.s("y")).applyAsync();
    const step = (app.sent[0].task.embed.chain ?? [])[0];
    expect(step).toMatchObject({ task: "celery.chord", subtask_type: "chord", kwargs: { body: { task: "y" } } });
  });
});

describe("worker-side canvas messages match Celery 5.2", () => {
  test("redis-worker-link-callback: one callback sent directly with the result prepended", async () => {
    const [want] = vectorTasks("redis-worker-link-callback");
    const app = new FakeApp(want.replyTo);
    const req = fakeRequest({ id: want.parentId as string, task: "tasks.add", args: [2, 2], embed: { callbacks: [app.s("tasks.mul", 10).toDict()] } });
    const children = await workerCanvas(app).afterSuccess(req, 4);
    expect(app.sent).toHaveLength(1);
    const got = app.sent[0].task;
    expect(shape(got, ["id", "correlationId"])).toEqual(shape(want, ["id", "correlationId"]));
    expect(children).toEqual([[[got.id, null], null]]);
  });

  test("several callbacks: plain ones as ONE group, group signatures separately, immutable not prepended", async () => {
    const app = new FakeApp();
    const req = fakeRequest({
      id: "p",
      task: "tasks.add",
      embed: { callbacks: [group(app.s("tasks.mul", 2), app.s("tasks.mul", 3)).toDict(), app.si("tasks.add", 100, 1).toDict(), app.s("tasks.echo").toDict()] },
    });
    const children = await workerCanvas(app).afterSuccess(req, 4);
    expect(app.sent.map((s) => [s.name, s.task.args])).toEqual([
      ["tasks.mul", [4, 2]],
      ["tasks.mul", [4, 3]],
      ["tasks.add", [100, 1]],
      ["tasks.echo", [4]],
    ]);
    expect(app.sent[0].task.group).toBe(app.sent[1].task.group);
    expect(app.sent[2].task.group).toBe(app.sent[3].task.group);
    expect(app.sent[0].task.group).not.toBe(app.sent[2].task.group);
    expect(app.sent.every((s) => s.task.parentId === "p" && s.task.rootId === "p")).toBe(true);
    expect(children).toHaveLength(2);
    expect(children[1]).toEqual([[app.sent[2].task.group, null], [[[app.sent[2].task.id, null], null], [[app.sent[3].task.id, null], null]]]);
  });

  test("redis-worker-chain-step2 and -step3: pop the last step, prepend the result, pass the rest", async () => {
    const [step2] = vectorTasks("redis-worker-chain-step2");
    const [step3] = vectorTasks("redis-worker-chain-step3");
    const app = new FakeApp("worker-oid");
    const mulSig: SignatureDict = { task: "tasks.mul", args: [10], kwargs: {}, options: { task_id: step2.id, reply_to: step2.replyTo }, subtask_type: null, immutable: false };
    const addSig = (step2.embed.chain ?? [])[0];
    const first = fakeRequest({ id: step2.parentId as string, task: "tasks.add", args: [1, 2], embed: { chain: [addSig, mulSig] } });
    const children = await workerCanvas(app).afterSuccess(first, 3);
    expect(pyJsonDumps(shape(app.sent[0].task))).toBe(pyJsonDumps(shape(step2)));
    expect(children).toEqual([[[step2.id, null], null]]);

    const second = fakeRequest({ id: step2.id, task: "tasks.mul", args: [3, 10], rootId: step2.rootId, parentId: step2.parentId, embed: { chain: [addSig] } });
    await workerCanvas(app).afterSuccess(second, 30);
    expect(pyJsonDumps(shape(app.sent[1].task))).toBe(pyJsonDumps(shape(step3)));
  });

  test("redis-worker-errback: errbacks as one group with [failed id]; chain ids get the same FAILURE", async () => {
    const [want] = vectorTasks("redis-worker-errback");
    const app = new FakeApp(want.replyTo);
    const failedId = want.parentId as string;
    const req = fakeRequest({
      id: failedId,
      task: "tasks.fail_value",
      embed: { errbacks: [app.s("tasks.on_error").toDict()], chain: [app.s("tasks.z").set({ taskId: "z-id" }).toDict()] },
    });
    const info = { exc_type: "ValueError", exc_message: ["bad"], exc_module: "builtins" };
    await workerCanvas(app).afterFailure(req, info, "Traceback...");
    expect(app.sent).toHaveLength(1);
    const got = app.sent[0].task;
    expect(shape(got, ["id", "correlationId", "group"])).toEqual(shape(want, ["id", "correlationId", "group"]));
    expect(UUID.test(got.group as string)).toBe(true);
    expect(app.fakeBackend.stored).toHaveLength(1);
    expect(app.fakeBackend.stored[0]).toMatchObject({ status: "FAILURE", task_id: "z-id", result: info, traceback: "Traceback..." });
  });

  test("redis-worker-chord-body: the last part sends the body with [[results in index order]]", async () => {
    const [want] = vectorTasks("redis-worker-chord-body");
    const app = new FakeApp("worker-oid");
    const body: SignatureDict = { task: "tasks.tsum", args: [], kwargs: {}, options: { task_id: want.id, reply_to: want.replyTo }, subtask_type: null, immutable: false };
    const req = fakeRequest({ id: want.parentId as string, task: "tasks.sleep", group: "g1", groupIndex: 2, embed: { chord: body } });
    app.fakeBackend.chordReply = {
      complete: true,
      members: [pyJsonDumps([1, "a", "SUCCESS", 2]), pyJsonDumps([1, "b", "SUCCESS", 4]), pyJsonDumps([1, want.parentId, "SUCCESS", 2])],
    };
    await workerCanvas(app).chordPartReturn(req, "SUCCESS", 2);
    expect(app.fakeBackend.parts).toEqual([["g1", 2, pyJsonDumps([1, want.parentId, "SUCCESS", 2])]]);
    expect(pyJsonDumps(shape(app.sent[0].task))).toBe(pyJsonDumps(shape(want)));
  });

  test("a failed chord part fails the body with ChordError and calls the body's errbacks", async () => {
    const app = new FakeApp();
    const body = app.s("tasks.tsum").set({ taskId: "body-id", linkError: app.s("tasks.on_error") }).toDict();
    const req = fakeRequest({ id: "last", task: "tasks.add", group: "g1", groupIndex: 1, embed: { chord: body } });
    app.fakeBackend.chordReply = {
      complete: true,
      members: [pyJsonDumps([1, "first", "FAILURE", { exc_type: "ValueError", exc_message: ["boom"], exc_module: "builtins" }]), pyJsonDumps([1, "last", "SUCCESS", 1])],
    };
    await workerCanvas(app).chordPartReturn(req, "SUCCESS", 1);
    expect(app.fakeBackend.stored[0]).toMatchObject({
      status: "FAILURE",
      task_id: "body-id",
      result: { exc_type: "ChordError", exc_message: ["Dependency first raised ValueError('boom')"], exc_module: "celery.exceptions" },
    });
    expect(app.sent.map((s) => [s.name, s.task.args])).toEqual([["tasks.on_error", ["body-id"]]]);
  });

  test("incomplete chord part sends nothing", async () => {
    const app = new FakeApp();
    const req = fakeRequest({ id: "x", task: "tasks.add", group: "g1", groupIndex: 0, embed: { chord: app.s("tasks.tsum").toDict() } });
    await workerCanvas(app).chordPartReturn(req, "SUCCESS", 1);
    expect(app.fakeBackend.parts).toHaveLength(1);
    expect(app.sent).toHaveLength(0);
  });
});
