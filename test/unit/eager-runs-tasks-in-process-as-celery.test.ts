/**
 * task.apply(), signature.apply() and taskAlwaysEager: tasks run in this process with Celery's
 * eager semantics. Each expectation is what Celery 5.2 (Debian) and 5.7 (interop-tests/.venv) do
 * for the same calls (checked by running both on `memory://` with `task_always_eager`):
 *
 *   flaky.apply((1,))            SUCCESS, retried at once twice (countdown ignored), request.is_eager True
 *   auto.apply()                 autoretry_for KeyError, max_retries=1: FAILURE KeyError after 2 runs
 *   fail.apply()                 FAILURE ValueError('bad'), traceback a str; get() raises it, get(propagate=False) returns it
 *   task_eager_propagates        apply() raises Retry on self.retry(); delay() raises the task's error
 *   chain(add(1,2), add(3), add(4)).apply_async()   EagerResult 10, parents 6, 3, None
 *   group(add(1,1), add(2,2))    GroupResult [2, 4] of EagerResults
 *   chord([...], tsum.s())       EagerResult 6
 *   chain with a failing step    apply_async raises the step's error
 *   add.delay((1,), (2,))        [1, 2]: args go through the serializer (tuples become lists)
 */
import { Celery, EagerResult, GroupResult, chain, chord, group } from "../../src";
import type { BoundTaskContext } from "../../src";

/** An app that connects nowhere: an eager run must not need a broker or a backend. */
function eagerApp(settings: ConstructorParameters<typeof Celery>[1] = {}): Celery {
  return new Celery("eager", { broker: "redis://127.0.0.1:1/0", taskAlwaysEager: true, ...settings });
}

class Boom extends Error {
  override name = "ValueError";
}

describe("task.apply()", () => {
  test("runs the handler here and resolves with an EagerResult", async () => {
    const app = eagerApp({ taskAlwaysEager: false });
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    const r = await add.apply([2, 3]);
    expect(r).toBeInstanceOf(EagerResult);
    expect(await r.get()).toBe(5);
    expect(await r.state()).toBe("SUCCESS");
    expect(await r.ready()).toBe(true);
    expect(await r.successful()).toBe(true);
    expect(r.name).toBe("tasks.add");
    expect(await r.meta()).toMatchObject({ status: "SUCCESS", result: 5, task_id: r.id });
  });

  test("a bound handler sees an eager request; kwargs map onto params", async () => {
    const app = eagerApp();
    const info = app.task("tasks.info", (ctx: BoundTaskContext, a: number, b: number) => ({ a, b, eager: ctx.request.isEager, id: ctx.request.id, root: ctx.request.rootId, retries: ctx.request.retries }), {
      bind: true,
      params: ["a", "b"],
    });
    const r = await info.apply([1], { b: 2 }, { taskId: "fixed-id" });
    expect(await r.get()).toEqual({ a: 1, b: 2, eager: true, id: "fixed-id", root: "fixed-id", retries: 0 });
  });

  test("a failure is a FAILURE result holding the thrown error; get() throws it unless propagate: false", async () => {
    const app = eagerApp();
    const err = new Boom("bad");
    const fail = app.task("tasks.fail", () => {
      throw err;
    });
    const r = await fail.apply();
    expect(await r.state()).toBe("FAILURE");
    expect(await r.failed()).toBe(true);
    expect(await r.result()).toBe(err);
    expect(await r.traceback()).toMatch(/^Traceback \(most recent call last\):\n[\s\S]*ValueError: bad\n$/);
    await expect(r.get()).rejects.toBe(err);
    expect(await r.get({ propagate: false })).toBe(err);
    expect(await r.meta()).toMatchObject({ status: "FAILURE", result: { exc_type: "ValueError", exc_message: ["bad"] } });
  });

  test("throw: true and taskEagerPropagates throw the task's error", async () => {
    const app = eagerApp({ taskEagerPropagates: true });
    const fail = app.task("tasks.fail", () => {
      throw new Boom("bad");
    });
    await expect(fail.apply()).rejects.toThrow("bad");
    await expect(fail.delay()).rejects.toThrow("bad");
    await expect(fail.apply([], {}, { throw: false })).resolves.toBeInstanceOf(EagerResult);
    const quiet = eagerApp();
    const fail2 = quiet.task("tasks.fail", () => {
      throw new Boom("bad");
    });
    await expect(fail2.apply([], {}, { throw: true })).rejects.toThrow("bad");
  });

  test("ctx.retry() runs the retry at once, with retries counted, up to max_retries", async () => {
    const app = eagerApp();
    let runs = 0;
    const flaky = app.task(
      "tasks.flaky",
      (ctx: BoundTaskContext, x: number) => {
        runs++;
        if (runs < 3) ctx.retry({ exc: new Boom(`boom ${runs}`), countdown: 60 });
        return [x, ctx.request.retries, ctx.request.isEager];
      },
      { bind: true, maxRetries: 2 },
    );
    const started = Date.now();
    const r = await flaky.apply([1]);
    expect(Date.now() - started).toBeLessThan(5000); // the 60 s countdown is not waited
    expect(await r.get()).toEqual([1, 2, true]);
    expect(runs).toBe(3);
    runs = -10;
    const exhausted = await flaky.apply([1]);
    expect(await exhausted.state()).toBe("FAILURE");
    expect(((await exhausted.result()) as Error).message).toBe("boom -7");
  });

  test("with taskEagerPropagates ctx.retry() throws the Retry", async () => {
    const app = eagerApp({ taskEagerPropagates: true });
    const flaky = app.task("tasks.flaky", (ctx: BoundTaskContext) => ctx.retry({ exc: new Boom("boom 1"), countdown: 60 }), { bind: true });
    await expect(flaky.apply()).rejects.toMatchObject({ name: "Retry", message: "Retry in 60s: ValueError('boom 1')" });
  });

  test("autoretryFor retries eagerly, then fails with the error", async () => {
    const app = eagerApp();
    let runs = 0;
    const auto = app.task(
      "tasks.auto",
      () => {
        runs++;
        throw new RangeError("k");
      },
      { autoretryFor: [RangeError], maxRetries: 1 },
    );
    const r = await auto.apply();
    expect(await r.state()).toBe("FAILURE");
    expect(runs).toBe(2);
  });

  test("without max retries left and no exc: MaxRetriesExceededError", async () => {
    const app = eagerApp();
    const t = app.task("tasks.again", (ctx: BoundTaskContext) => ctx.retry(), { bind: true, maxRetries: 0 });
    // @ts-expect-error -- the handler takes no argument; 7 shows in the message as Celery's args repr
    const r = await t.apply([7]);
    expect(await r.result()).toMatchObject({ name: "MaxRetriesExceededError" });
    expect(((await r.result()) as Error).message).toMatch(/^Can't retry tasks.again\[.+\] args:\(7,\) kwargs:\{\}$/);
  });

  test("link and linkError are applied with the result, or the failed task's id", async () => {
    const app = eagerApp();
    const seen: unknown[] = [];
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    const record = app.task("tasks.record", (v: unknown) => void seen.push(v));
    const fail = app.task("tasks.fail", () => {
      throw new Boom("bad");
    });
    await add.apply([1, 2], {}, { link: record.s() });
    const failed = await fail.apply([], {}, { linkError: record.s() });
    expect(seen).toEqual([3, failed.id]);
  });

  test("ctx.replace(sig) applies the replacement here; its value is the task's", async () => {
    const app = eagerApp();
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    const outer = app.task("tasks.outer", (ctx: BoundTaskContext, x: number) => ctx.replace(add.s(x, 10)), { bind: true });
    expect(await (await outer.apply([5])).get()).toBe(15);
  });

  test("a task applied from an eager task gets it as parent and root", async () => {
    const app = eagerApp();
    const child = app.task("tasks.child", (ctx: BoundTaskContext) => [ctx.request.parentId, ctx.request.rootId], { bind: true });
    const parent = app.task("tasks.parent", async (ctx: BoundTaskContext) => [ctx.request.id, await (await child.delay()).get()], { bind: true });
    const [id, [parentId, rootId]] = (await (await parent.apply()).get()) as [string, [string, string]];
    expect(parentId).toBe(id);
    expect(rootId).toBe(id);
  });

  test("an unregistered name is NotRegistered", async () => {
    const app = eagerApp();
    await expect(app.signature("tasks.nowhere").apply()).rejects.toMatchObject({ name: "NotRegistered" });
  });
});

describe("taskAlwaysEager", () => {
  test("delay runs the task here; args go through the task serializer (nothing is sent)", async () => {
    const app = eagerApp();
    const echo = app.task("tasks.echo", (a: unknown, b: unknown) => [a, b]);
    const r = await echo.delay(new Date("2024-01-02T03:04:05Z"), { n: 1 });
    expect(r).toBeInstanceOf(EagerResult);
    expect(await r.get()).toEqual(["2024-01-02T03:04:05Z", { n: 1 }]) // as a worker would receive it;
    // apply() itself passes its arguments as they are (Celery's apply does not serialize).
    expect(await (await echo.apply([new Date(0), 1])).get()).toEqual([new Date(0), 1]);
  });

  test("chain: the last step's result, parents linking back", async () => {
    const app = eagerApp();
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    const c = await chain(add.s(1, 2), add.s(3), add.s(4)).applyAsync();
    expect(c).toBeInstanceOf(EagerResult);
    const last = c as EagerResult;
    expect(await last.get()).toBe(10);
    expect(await last.parent?.get()).toBe(6);
    expect(await (last.parent as EagerResult).parent?.get()).toBe(3);
    expect((((last.parent as EagerResult).parent as EagerResult).parent)).toBeNull();
  });

  test("group: a GroupResult of EagerResults; chord: the body's result", async () => {
    const app = eagerApp();
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    const tsum = app.task("tasks.tsum", (xs: number[]) => xs.reduce((a, b) => a + b, 0));
    const g = await group(add.s(1, 1), add.s(2, 2)).applyAsync();
    expect(g).toBeInstanceOf(GroupResult);
    expect(await g.get()).toEqual([2, 4]);
    expect(g.results[0]).toBeInstanceOf(EagerResult);
    const ch = await chord([add.s(1, 1), add.s(2, 2)], tsum.s()).applyAsync();
    expect(await ch.get()).toBe(6);
  });

  test("a chain with a failing step throws that step's error", async () => {
    const app = eagerApp();
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    const fail = app.task("tasks.fail", () => {
      throw new Boom("bad");
    });
    await expect(chain(add.s(1, 2), fail.si(), add.s(4)).applyAsync()).rejects.toThrow("bad");
  });

  test("signature.apply() runs eagerly without taskAlwaysEager too", async () => {
    const app = eagerApp({ taskAlwaysEager: false });
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    expect(await (await add.s(2).apply([1])).get()).toBe(3);
    expect(await (await chain(add.s(1, 2), add.s(3)).apply()).get()).toBe(6);
  });
});

describe("task.run()", () => {
  test("calls the handler as a plain function, typed", () => {
    const app = eagerApp();
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    const sum: number = add.run(1, 2);
    expect(sum).toBe(3);
  });

  test("a bound handler called directly: retry() throws the exc", () => {
    const app = eagerApp();
    const err = new Boom("direct");
    const t = app.task("tasks.bound", (ctx: BoundTaskContext, x: number) => (x > 0 ? x : ctx.retry({ exc: err })), { bind: true });
    expect(t.run(4)).toBe(4);
    expect(() => t.run(0)).toThrow(err);
  });
});
