/**
 * Compile-time tests of the typed task calls (checked by `npm run typecheck`, never run): each
 * `@ts-expect-error` line is a wrong call that must not compile, and each `Expect<Equal<...>>` a
 * type that must be exactly what the call gives.
 */
import { Celery, chain, chord, group } from "../../src";
import type { AsyncResult, Chain, GroupResult, Jsonified, RemoteTask, Signature, WireValue } from "../../src";
import type { Equal, Expect } from "../support/types";

const app = new Celery("types");
const add = app.task("tasks.add", (x: number, y: number) => x + y);
const mul = app.task("tasks.mul", (x: number, y: number) => x * y, { params: ["x", "y"] });
const concat = app.task("tasks.concat", async (a: string, b: string) => Promise.resolve(a + b));
const scale = app.task("tasks.scale", (x: number, opts: { factor: number }) => x * opts.factor);
const when = app.task("tasks.when", (): Date => new Date());
const bound = app.task("tasks.bound", (ctx, x: number) => ({ id: ctx.request.id, x }), { bind: true, params: ["x"] });
const tsum = app.task("tasks.tsum", (xs: number[]) => xs.reduce((a, b) => a + b, 0));

export async function delayAndApplyAsync(): Promise<void> {
  const r = await add.delay(1, 2);
  type _rType = Expect<Equal<typeof r, AsyncResult<number>>>;
  const _v = await r.get();
  type _vType = Expect<Equal<typeof _v, number>>;
  // @ts-expect-error a string for a number
  void add.delay("x", "y");
  // @ts-expect-error one argument short
  void add.delay(1);
  // @ts-expect-error one argument too many
  void add.delay(1, 2, 3);

  await add.applyAsync([1, 2]);
  await add.applyAsync([1, 2], {}, { countdown: 1 });
  // @ts-expect-error strings for numbers (accepted by every call before)
  void add.applyAsync(["x", "y"]);
  // @ts-expect-error args are required
  void add.applyAsync();
  // @ts-expect-error no params: kwargs have no name to land on
  void add.applyAsync([1], { y: 2 });
  // @ts-expect-error an unknown option
  void add.applyAsync([1, 2], {}, { countdwn: 1 });

  // an async handler: the result is what its promise resolves with
  const _c = await concat.delay("a", "b");
  type _cType = Expect<Equal<typeof _c, AsyncResult<string>>>;
  // bound: the context is not an argument
  const _b = await bound.delay(3);
  type _bType = Expect<Equal<Awaited<ReturnType<typeof _b.get>>, { id: string; x: number }>>;
  await bound.applyAsync([], { x: 3 });
  // @ts-expect-error the context is not passed by the caller
  void bound.delay({}, 3);
}

export async function kwargsFromParams(): Promise<void> {
  await mul.applyAsync([2], { y: 3 });
  await mul.applyAsync([], { x: 2, y: 3 });
  await mul.applyAsync([2, 3]);
  // @ts-expect-error y is missing
  void mul.applyAsync([2]);
  // @ts-expect-error y is missing from the kwargs
  void mul.applyAsync([], { x: 2 });
  // @ts-expect-error z is not a parameter
  void mul.applyAsync([2], { z: 3 });
  // @ts-expect-error y is a number
  void mul.applyAsync([2], { y: "3" });
  // @ts-expect-error x is given both ways (Python's "multiple values for argument")
  void mul.applyAsync([2, 3], { x: 1 });

  // kwargs without params: the handler's trailing object, as the worker passes them
  await scale.applyAsync([2], { factor: 3 });
  await scale.applyAsync([2, { factor: 3 }]);
  // @ts-expect-error factor is a number
  void scale.applyAsync([2], { factor: "3" });
  // @ts-expect-error the trailing object is missing
  void scale.applyAsync([2]);
}

export async function signatures(): Promise<void> {
  // s() takes the last arguments; the signature still takes the ones in front
  const full = add.s(1, 2);
  type _fullType = Expect<Equal<typeof full, Signature<[], number>>>;
  const partial = mul.s(10);
  type _partialType = Expect<Equal<typeof partial, Signature<[x: number], number>>>;
  const _none = add.s();
  type _noneType = Expect<Equal<typeof _none, Signature<[x: number, y: number], number>>>;
  // @ts-expect-error a string for a number
  void add.s("a", "b");
  // @ts-expect-error one argument too many
  void add.s(1, 2, 3);
  await partial.delay(5);
  // @ts-expect-error the partial signature still needs x, a number
  void partial.delay("5");
  // @ts-expect-error a full signature takes nothing more
  void full.delay(5);

  // si() is immutable: it takes every argument, and nothing more when applied
  const _imm = add.si(1, 2);
  type _immType = Expect<Equal<typeof _imm, Signature<[], number>>>;
  // @ts-expect-error si needs every argument
  void add.si(1);

  // signature(args, kwargs, options): kwargs by params name
  mul.signature([], { y: 2 }, { queue: "q" });
  // @ts-expect-error z is not a parameter
  mul.signature([], { z: 2 });

  // a signature by name: untyped args, its result named
  const _byName = app.signature<number>("py.tasks.add", [1, 2]);
  type _byNameType = Expect<Equal<Awaited<ReturnType<typeof _byName.applyAsync>>, AsyncResult<number>>>;
}

export async function canvas(): Promise<void> {
  // a chain is typed by its first step's args and its last step's result
  const _ch = chain(add.s(1, 2), mul.s(10), concat.s("x", "y"));
  type _chType = Expect<Equal<typeof _ch, Chain<[], string, AsyncResult<string>>>>;
  const _last = await (await chain(add.s(1), mul.s(10)).applyAsync([2])).get();
  type _lastType = Expect<Equal<typeof _last, number>>;
  const _piped = await add.s(1, 2).pipe(mul.s(2), when.si()).applyAsync();
  type _pipedType = Expect<Equal<typeof _piped, AsyncResult<string>>>;
  // @ts-expect-error the chain's first step needs x, a number
  void chain(add.s(1), mul.s(10)).applyAsync(["2"]);

  // a group lists its members' results, in order
  const _g = await group(add.s(1, 2), concat.s("a", "b")).applyAsync();
  type _gType = Expect<Equal<typeof _g, GroupResult<[number, string]>>>;
  const list = await group([1, 2, 3].map((i) => add.s(i, i))).applyAsync();
  const _values = await list.get();
  type _valuesType = Expect<Equal<typeof _values, number[]>>;
  const _nested = await group(add.s(1, 2), group(concat.s("a", "b"), when.s())).applyAsync();
  type _nestedType = Expect<Equal<typeof _nested, GroupResult<[number, string, string]>>>;

  // a chord gives its body's result
  const _cr = await chord([add.s(1, 1), add.s(2, 2)], tsum.s()).applyAsync();
  type _crType = Expect<Equal<typeof _cr, AsyncResult<number>>>;

  // map / starmap / chunks
  const _m = await add.starmap([[1, 2], [3, 4]]).delay();
  type _mType = Expect<Equal<typeof _m, AsyncResult<number[]>>>;
  // @ts-expect-error starmap items are the task's arguments
  void add.starmap([["1", 2]]);
  const _chunks = await add.chunks([[1, 2], [3, 4]], 1).applyAsync();
  type _chunksType = Expect<Equal<typeof _chunks, GroupResult<number[][]>>>;
}

export async function jsonResults(): Promise<void> {
  // a Date is stored as its ISO string: get() says so
  const _d = await (await when.delay()).get();
  type _dType = Expect<Equal<typeof _d, string>>;
  type Row = { at: Date; n: number; note: string | undefined; f(): void; tags: Set<string>; raw: Buffer; big: bigint };
  type _rowType = Expect<Equal<Jsonified<Row>, { at: string; n: number; tags: string[]; raw: Buffer; big: number | bigint; note?: string }>>;
  type _tupleType = Expect<Equal<Jsonified<readonly [Date, undefined]>, [string, null]>>;
  type _mapType = Expect<Equal<Jsonified<Map<string, Date>>, { [key: string]: string }>>;
  type _unknownType = Expect<Equal<Jsonified<unknown>, unknown>>;
  type _wireType = Expect<Equal<Jsonified<{ toJSON(): { a: Date } }>, { a: string }>>;
}

export async function remoteTasks(): Promise<void> {
  // a Python task declared once, then called typed
  const pyAdd: RemoteTask<[x: number, y: number], number, ["x", "y"]> = app.remoteTask<[x: number, y: number], number, ["x", "y"]>("proj.tasks.add");
  const _r = await pyAdd.delay(1, 2);
  type _rType = Expect<Equal<typeof _r, AsyncResult<number>>>;
  await pyAdd.applyAsync([1], { y: 2 });
  // @ts-expect-error a string for a number
  void pyAdd.delay("1", 2);
  // @ts-expect-error z is not a parameter
  void pyAdd.applyAsync([1], { z: 2 });
  const _ch = chain(pyAdd.s(1, 2), mul.s(3), pyAdd.s(4));
  type _chType = Expect<Equal<Awaited<ReturnType<typeof _ch.applyAsync>>, AsyncResult<number>>>;
  // not declared: anything wire goes, the result is unknown
  const loose = app.remoteTask("proj.tasks.anything");
  const _lr = await loose.applyAsync([1, "a", null], { k: 1 });
  type _lrType = Expect<Equal<typeof _lr, AsyncResult<unknown>>>;
  const wire: WireValue[] = [1];
  await loose.applyAsync(wire);
}
