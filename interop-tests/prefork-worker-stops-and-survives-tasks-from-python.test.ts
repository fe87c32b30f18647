/**
 * A `celeriac worker -P prefork` driven from Python (newest Celery and 5.2), on Redis and on
 * RabbitMQ:
 * - `time_limit=1` on a never-ending CPU-bound task: the main process SIGKILLs the child, Python
 *   reads FAILURE TimeLimitExceeded within seconds, the worker logs Celery's lines, and the next
 *   task runs on the new child.
 * - children SIGKILLed mid-task: FAILURE WorkerLostError ("Worker exited prematurely: signal 9
 *   (SIGKILL) Job: n.") for the tasks they ran, and the messages the worker held but had not
 *   started run within seconds on new children (the main process holds them, not the children,
 *   so nothing waits for a visibility timeout).
 * - `AsyncResult.revoke(terminate=True, signal="SIGTERM")` from Python on a never-ending CPU-bound
 *   task: Python reads REVOKED TaskRevokedError('terminated'), the worker logs Celery's
 *   "Terminating <id> (15)", the child that ran it (inspect active's worker_pid) is gone and a new
 *   one runs the next task.
 * - a worker started with no `-P` at all runs prefork (Celery's default pool): `time_limit=1` on the
 *   CPU-bound task fails with TimeLimitExceeded the same way; a task sent from a handler in a child
 *   has that task as parent and root, and Python reads it in the parent's children.
 * Needs `npm run build` (spawns dist/cli/main.js with interop-tests/apps/tsapp.js).
 */
import { BROKERS } from "../test/support/brokers";
import { childPids, cliWorkerSuite, type CliWorkerSuite, logTime } from "../test/support/cli-worker";
import { pyClient, pyInline, type PyOutcome, type Python, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

jest.setTimeout(120_000);
const BACKEND = testRedisUrl(13);

/** The worker still runs tasks: ts.add(2, 3) sent from Python `py` comes back SUCCESS 5. */
async function expectNextTaskRuns(py: Python, suite: CliWorkerSuite): Promise<void> {
  const ok = (await pyClient(py, ["send", "ts.add", "--args", "[2, 3]", "--options", JSON.stringify({ queue: suite.queue })], suite.pyEnv)) as { id: string };
  expect(await pyClient(py, ["get", ok.id, "--timeout", "20"], suite.pyEnv)).toMatchObject({ state: "SUCCESS", result: 5 });
}

describe.each(BROKERS)("on $name", (broker) => {
  const suite = cliWorkerSuite(broker, BACKEND, "prefork", 12, ["-P", "prefork"]);

  test.each(PYTHONS)("time_limit=1 from Python $label: FAILURE TimeLimitExceeded, the child replaced, the next task runs", async (py) => {
    const { worker, queue, pyEnv: env } = suite;
    const send = async (task: string, options: object) =>
      ((await pyClient(py, ["send", task, "--options", JSON.stringify({ queue, ...options })], env)) as { id: string }).id;
    const from = worker.output().length;
    const since = () => worker.output().slice(from);
    const id = await send("ts.cpu_spin", { time_limit: 1 });
    const out = (await pyClient(py, ["get", id, "--timeout", "20"], env)) as PyOutcome;
    expect(out).toMatchObject({ state: "FAILURE", exc_type: "TimeLimitExceeded" });
    await waitFor(() => since().includes(`Hard time limit (1s) exceeded for ts.cpu_spin[${id}]`), 5000, "hard limit line");
    await waitFor(() => /Process 'ForkPoolWorker-\d+' pid:\d+ exited with 'signal 9 \(SIGKILL\)'/.test(since()), 5000, "exit line");
    // Measured on the worker's own clock: from "received" to the hard-limit line.
    const limitedAfter = logTime(since(), `Hard time limit (1s) exceeded for ts.cpu_spin[${id}]`) - logTime(since(), `ts.cpu_spin[${id}] received`);
    expect(limitedAfter).toBeLessThan(3000);
    await expectNextTaskRuns(py, suite);
  });

  test.each(PYTHONS)("Python $label: the running tasks are WorkerLostError, the held ones run at once on new children", async (py) => {
    const { worker, queue, pyEnv: env } = suite;
    const send = async (args: unknown[]) =>
      ((await pyClient(py, ["send", "ts.sleep", "--args", JSON.stringify(args), "--options", JSON.stringify({ queue })], env)) as { id: string }).id;
    const from = worker.output().length;
    const since = () => worker.output().slice(from);
    // Two children (-c 2): two long tasks run, two short ones wait in the worker.
    const running = [await send([30, "never"]), await send([30, "never"])];
    const held = [await send([0.1, "held-1"]), await send([0.1, "held-2"])];
    await waitFor(() => [...running, ...held].every((id) => since().includes(`[${id}] received`)), 15000, "all received");
    const children = childPids(worker.child.pid as number);
    expect(children).toHaveLength(2);
    const killedAt = Date.now();
    for (const pid of children) process.kill(pid, "SIGKILL");
    for (const id of running) {
      const out = (await pyClient(py, ["get", id, "--timeout", "20"], env)) as PyOutcome;
      expect(out).toMatchObject({ state: "FAILURE", exc_type: "WorkerLostError" });
      expect(String(out.exc_message)).toMatch(/Worker exited prematurely: signal 9 \(SIGKILL\) Job: \d+\./);
    }
    for (const [i, id] of held.entries()) {
      expect(await pyClient(py, ["get", id, "--timeout", "20"], env)).toMatchObject({ state: "SUCCESS", result: `held-${i + 1}` });
      // On the worker's clock: done within seconds of the kill, not after a visibility timeout (1 h).
      expect(logTime(since(), `ts.sleep[${id}] succeeded`) - killedAt).toBeLessThan(5000);
    }
    expect(childPids(worker.child.pid as number)).toHaveLength(2);
  });

  test.each(PYTHONS)("AsyncResult.revoke(terminate=True, signal='SIGTERM') from Python $label: REVOKED terminated, the child replaced, the next task runs", async (py) => {
    const { worker, queue, pyEnv: env } = suite;
    const from = worker.output().length;
    const since = () => worker.output().slice(from);
    const out = (await pyInline(py, PY_REVOKE_TERMINATE, { node: worker.node, queue }, env)) as { id: string; state: string; result: string; worker_pid: number };
    expect(out).toMatchObject({ state: "REVOKED", result: "TaskRevokedError('terminated')" });
    expect(out.worker_pid).not.toBe(worker.child.pid);
    await waitFor(() => since().includes(`Terminating ${out.id} (15)`), 5000, "Terminating line");
    await waitFor(() => !childPids(worker.child.pid as number).includes(out.worker_pid), 5000, "the child gone");
    await waitFor(() => childPids(worker.child.pid as number).length === 2, 5000, "a new child");
    await expectNextTaskRuns(py, suite);
  });
});

const PY_REVOKE_TERMINATE = `
import json, sys, time
from pyapp import app
inp = json.load(sys.stdin)
node = inp["node"]
r = app.send_task("ts.cpu_spin", queue=inp["queue"])
pid = None
deadline = time.time() + 20
while pid is None and time.time() < deadline:
    for t in (app.control.inspect(destination=[node], timeout=1).active() or {}).get(node, []):
        if t["id"] == r.id:
            pid = t["worker_pid"]
r.revoke(terminate=True, signal="SIGTERM")
deadline = time.time() + 20
while r.state != "REVOKED" and time.time() < deadline:
    time.sleep(0.1)
print(json.dumps({"id": r.id, "state": r.state, "result": repr(r.result), "worker_pid": pid}))
`;

describe.each(BROKERS)("a worker started without -P on $name", (broker) => {
  const suite = cliWorkerSuite(broker, BACKEND, "default-pool", 12, []);

  test.each(PYTHONS)("is a prefork worker: time_limit=1 from Python $label on a CPU-bound task is FAILURE TimeLimitExceeded, the next task runs", async (py) => {
    const { worker, queue, pyEnv: env } = suite;
    expect(worker.output()).toMatch(/concurrency: 2 \(prefork\)/); // Celery's banner
    const from = worker.output().length;
    const since = () => worker.output().slice(from);
    const id = ((await pyClient(py, ["send", "ts.cpu_spin", "--options", JSON.stringify({ queue, time_limit: 1 })], env)) as { id: string }).id;
    expect(await pyClient(py, ["get", id, "--timeout", "20"], env)).toMatchObject({ state: "FAILURE", exc_type: "TimeLimitExceeded" });
    await waitFor(() => since().includes(`Hard time limit (1s) exceeded for ts.cpu_spin[${id}]`), 5000, "hard limit line");
    const limitedAfter = logTime(since(), `Hard time limit (1s) exceeded for ts.cpu_spin[${id}]`) - logTime(since(), `ts.cpu_spin[${id}] received`);
    expect(limitedAfter).toBeLessThan(3000);
    await expectNextTaskRuns(py, suite);
  });
});

const PY_SPAWN_CHILD = `
import json, sys
from pyapp import app
inp = json.load(sys.stdin)
r = app.send_task("ts.spawn_child", queue=inp["queue"])
child_id = r.get(timeout=20)
child = app.AsyncResult(child_id)
print(json.dumps({"parent": r.id, "child": child_id, "child_result": child.get(timeout=20), "children": [c.id for c in (r.children or [])]}))
`;

describe.each(BROKERS)("a task sent from a prefork child on $name", (broker) => {
  const suite = cliWorkerSuite(broker, BACKEND, "prefork-parent", 12, []);

  test.each(PYTHONS)("has the sending task as parent and root, and Python $label reads it in the parent's children", async (py) => {
    const { queue, pyEnv: env } = suite;
    const out = (await pyInline(py, PY_SPAWN_CHILD, { queue }, env)) as { parent: string; child: string; child_result: unknown; children: string[] };
    expect(out.child_result).toEqual([out.parent, out.parent]);
    expect(out.children).toEqual([out.child]);
  });
});
