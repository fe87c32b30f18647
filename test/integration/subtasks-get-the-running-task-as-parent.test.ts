/**
 * Tasks sent from a running handler (Celery's `current_worker_task`): parent_id/root_id come from
 * the running task, the child is listed in its stored `children`, `task_inherit_parent_priority`
 * passes its priority on, and what the handler leaves running sends without a parent.
 */
import type { BoundTaskContext } from "../../src";
import { captureLogger, perTestApp, storedMeta, testApp } from "../support/app";
import { waitFor } from "../support/wait";

const current = perTestApp();

interface Seen {
  id: string;
  parentId: string | null;
  rootId: string;
  priority: number | null | undefined;
}

async function setup(settings: Parameters<typeof testApp>[0] = {}) {
  const app = (current.app = testApp(settings));
  const seen: Seen[] = [];
  const child = app.task(
    "sub.child",
    (ctx: BoundTaskContext, x: number) => {
      seen.push({ id: ctx.request.id, parentId: ctx.request.parentId ?? null, rootId: ctx.request.rootId, priority: ctx.request.deliveryInfo.priority });
      return x * 2;
    },
    { bind: true },
  );
  const spawn = app.task("sub.spawn", async (x: number) => {
    const a = await child.delay(x);
    await app.sendTask("sub.child", [x + 1], {}, { addToParent: false });
    return a.id;
  });
  const later = app.task("sub.later", () => {
    setTimeout(() => void child.delay(100), 50);
    return "done";
  });
  current.worker = app.worker({ concurrency: 4, logger: captureLogger() });
  await current.worker.start();
  return { seen, spawn, later };
}

test("a task sent by a handler gets parent_id/root_id of the running task and is in its stored children", async () => {
  const { seen, spawn } = await setup();
  const r = await spawn.delay(5);
  const childId = (await r.get({ timeout: 10000 }));
  await waitFor(() => seen.length === 2, 10000, "both children ran");
  const first = seen.find((s) => s.id === childId)!;
  expect(first).toMatchObject({ parentId: r.id, rootId: r.id });
  expect(seen.every((s) => s.parentId === r.id && s.rootId === r.id)).toBe(true);
  // addToParent: false keeps the second one out of children, as Celery's add_to_parent=False.
  expect((await storedMeta(r.id))?.children).toEqual([[[childId, null], null]]);
});

test("taskInheritParentPriority: the child gets the parent's priority; off, it does not", async () => {
  const on = await setup({ taskInheritParentPriority: true });
  await (await on.spawn.applyAsync([1], {}, { priority: 7 })).get({ timeout: 10000 });
  await waitFor(() => on.seen.length === 2, 10000, "children ran");
  expect(on.seen.map((s) => s.priority)).toEqual([7, 7]);
  await current.worker?.stop();
  current.worker = null;
  await current.app?.close();
  const off = await setup();
  await (await off.spawn.applyAsync([1], {}, { priority: 7 })).get({ timeout: 10000 });
  await waitFor(() => off.seen.length === 2, 10000, "children ran");
  // kombu's default message priority on Redis
  expect(off.seen.map((s) => s.priority)).toEqual([0, 0]);
});

test("what a handler leaves running sends without a parent after it returned", async () => {
  const { seen, later } = await setup();
  const r = await later.delay();
  expect(await r.get({ timeout: 10000 })).toBe("done");
  await waitFor(() => seen.length === 1, 10000, "late child ran");
  expect(seen[0].parentId).toBeNull();
  expect((await storedMeta(r.id))?.children).toEqual([]);
});
