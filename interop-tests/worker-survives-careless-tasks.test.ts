/**
 * Production hardening seen from Python (newest Celery and Debian's 5.2), on Redis and RabbitMQ,
 * against a `celeriac worker` CLI process (the default pool, prefork: errors escaping a task are
 * caught in the child running it and logged by the main process):
 * - errors that escape a task (a rejected promise nobody awaits, a throwing timer callback, an
 *   'error' event without a listener) are logged against the task and the worker keeps serving;
 * - an ETA 30 days away (past Node's 24.8-day setTimeout limit) or in year 9999 is held: the task
 *   stays PENDING, `celery inspect scheduled` lists it, and a revoke discards it (REVOKED);
 * - a result that cannot be encoded (100,000 levels deep, a Symbol) is stored as FAILURE
 *   EncodeError, never left PENDING; a long result is cut in the log line as Celery's
 *   resultrepr_maxsize (1024) does.
 * Build first: npm run build.
 */
import { execFileSync } from "child_process";
import { BROKERS, type BrokerLease } from "../test/support/brokers";
import { celeryCli, childPids, type CliWorker, inspectJson as inspectCli, startCliWorker } from "../test/support/cli-worker";
import { pyClient, type PyOutcome, type Python, PYTHONS } from "../test/support/python";
import { rawRedis, testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

jest.setTimeout(180_000);
const BACKEND = testRedisUrl(11);

const CASES = BROKERS.flatMap((b) => PYTHONS.map((py) => [`${py.label} → celeriac worker on ${b.name}`, b, py] as const));

describe.each(CASES)("%s", (_title, brokerCase, py: Python) => {
  let lease: BrokerLease | undefined;
  let w: CliWorker;
  let env: Record<string, string>;
  const call = async (task: string, args: unknown[] = [], options: Record<string, unknown> = {}): Promise<PyOutcome> =>
    (await pyClient(py, ["call", task, "--args", JSON.stringify(args), "--options", JSON.stringify({ queue: w.queue, ...options }), "--timeout", "30", "--no-propagate"], env)) as PyOutcome;
  const send = async (task: string, args: unknown[], options: Record<string, unknown>): Promise<string> =>
    ((await pyClient(py, ["send", task, "--args", JSON.stringify(args), "--options", JSON.stringify({ queue: w.queue, ...options })], env)) as { id: string }).id;
  const state = async (id: string): Promise<PyOutcome> => (await pyClient(py, ["state", id], env)) as PyOutcome;

  beforeAll(async () => {
    lease = await brokerCase.open(`careless-${py.label}`, 10);
    const broker = lease.url;
    w = startCliWorker(broker, BACKEND, "careless");
    env = { PYAPP_BROKER: broker, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: w.queue };
    await waitFor(() => w.output().includes("ready"), 30000, "worker ready");
  });

  afterAll(async () => {
    await w?.stop();
    await lease?.close();
  });

  test("a stray rejection, a throwing timer and an unheard 'error' event are logged against their task and the worker keeps serving", async () => {
    for (const task of ["ts.stray_rejection", "ts.stray_timer_throw", "ts.stray_emitter_error"]) {
      const r = await call(task);
      expect(r).toMatchObject({ state: "SUCCESS", result: "returned" });
      await waitFor(() => w.output().includes(`Task ${task}[${r.id}] left an error unhandled`), 10000, `${task} stray error logged`);
    }
    expect(w.output()).toMatch(/left an error unhandled \(unhandled promise rejection\); the worker carries on:\n[\s\S]*Error: nobody awaits me/);
    expect(w.output()).toMatch(/left an error unhandled \(uncaught exception\)[\s\S]*TypeError: thrown in a timer/);
    expect(w.output()).toContain("Error: no listener");
    expect(w.child.exitCode).toBeNull();
    expect(await call("ts.add", [20, 22])).toMatchObject({ state: "SUCCESS", result: 42 });
  });

  test("an ETA 30 days away and one in year 9999 stay PENDING, are listed by inspect scheduled, and a revoke discards them", async () => {
    const far = await send("ts.add", [1, 2], { countdown: 30 * 24 * 3600 });
    const y9999 = await send("ts.add", [3, 4], { eta: "9999-12-31T23:59:59+00:00" });
    let scheduled: Array<{ eta: string; request: { id: string } }> = [];
    await waitFor(async () => {
      scheduled = (await inspectCli(py, env, w, "scheduled"))[w.node] as typeof scheduled;
      return scheduled.length === 2;
    }, 30000, "both tasks scheduled");
    const byId = new Map(scheduled.map((s) => [s.request.id, s.eta]));
    expect(new Date(byId.get(far) as string).getTime()).toBeGreaterThan(Date.now() + 29 * 24 * 3600 * 1000);
    expect(byId.get(y9999)).toMatch(/^9999-12-31T23:59:59/);
    // Held, not run: a few seconds later both are still PENDING.
    await new Promise((r) => setTimeout(r, 3000));
    expect((await state(far)).state).toBe("PENDING");
    expect((await state(y9999)).state).toBe("PENDING");
    const revoke = await celeryCli(py, env, ["control", "revoke", far, y9999, "-d", w.node, "-t", "5"]);
    expect(revoke.code).toBe(0);
    await waitFor(async () => (await state(far)).state === "REVOKED" && (await state(y9999)).state === "REVOKED", 20000, "both REVOKED");
    expect((await inspectCli(py, env, w, "scheduled"))[w.node]).toEqual([]);
  });

  test("results that cannot be encoded are stored as FAILURE EncodeError, not left PENDING", async () => {
    const deep = await call("ts.deep_result", [100_000]);
    expect(deep).toMatchObject({ state: "FAILURE", exc_type: "EncodeError" });
    const symbol = await call("ts.symbol_result");
    expect(symbol).toMatchObject({ state: "FAILURE", exc_type: "EncodeError" });
    expect(symbol.exc_message).toContain("symbol");
    expect(w.child.exitCode).toBeNull();
  });

  test("the succeeded log line cuts a long result near resultrepr_maxsize (1024), as Celery does", async () => {
    const r = await call("ts.long_result", [5000]);
    expect(r).toMatchObject({ state: "SUCCESS" });
    await waitFor(() => w.output().includes(`Task ts.long_result[${r.id}] succeeded`), 10000, "succeeded line");
    const line = w.output().split("\n").find((l) => l.includes(`Task ts.long_result[${r.id}] succeeded`)) as string;
    const shown = line.slice(line.indexOf("s: ") + 3);
    // celery/app/trace.py logs saferepr(R, resultrepr_maxsize): the same call under Python
    const celery = execFileSync(PYTHONS[0].exe, ["-c", "from celery.utils.saferepr import saferepr; print(saferepr('x' * 5000, 1024))"], { encoding: "utf8" }).trimEnd();
    expect(shown).toBe(celery);
    expect(shown.length).toBeLessThan(1100);
    expect(shown.startsWith("'xxxx")).toBe(true);
  });
});

describe("an uncaught exception outside any task", () => {
  test("shuts the worker down warm (what it holds goes back) and exits 1", async () => {
    const py = PYTHONS[0];
    const broker = testRedisUrl(10);
    // -P eventloop on purpose: this is the main process's own crash guard (the exception is thrown
    // in the worker's process). On prefork it is thrown in a child: see the next test.
    const w = startCliWorker(broker, BACKEND, "unsafe", ["-P", "eventloop"]);
    const env = { PYAPP_BROKER: broker, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: w.queue };
    try {
      await waitFor(() => w.output().includes("ready"), 30000, "worker ready");
      // A task the worker holds (ETA in a minute): the warm shutdown must give it back to the queue.
      const held = ((await pyClient(py, ["send", "ts.add", "--args", "[1, 1]", "--options", JSON.stringify({ queue: w.queue, countdown: 60 })], env)) as { id: string }).id;
      await waitFor(() => w.output().includes(`Task ts.add[${held}] received`), 20000, "held task received");
      await pyClient(py, ["send", "ts.throw_outside_task", "--options", JSON.stringify({ queue: w.queue })], env);
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([w.exited, new Promise<string>((r) => (timer = setTimeout(() => r("still running"), 30000)))]);
      clearTimeout(timer);
      expect(code).toBe(1);
      const redis = rawRedis(10);
      try {
        const queued = await redis.lrange(w.queue, 0, -1);
        expect(queued.some((m) => m.includes(held))).toBe(true);
      } finally {
        redis.disconnect();
      }
      expect(w.output()).toMatch(/CRITICAL\/MainProcess\] Uncaught exception outside any task; the worker is no longer safe and shuts down:\n[\s\S]*Error: thrown outside any task/);
      expect(w.output()).toContain("stopped.");
    } finally {
      if (w.child.exitCode === null) w.child.kill("SIGKILL");
    }
  });
});

describe("an uncaught exception outside any task in a prefork child", () => {
  test("is logged CRITICAL, the child is replaced and the worker keeps serving", async () => {
    const py = PYTHONS[0];
    const broker = testRedisUrl(10);
    const w = startCliWorker(broker, BACKEND, "unsafe-child");
    const env = { PYAPP_BROKER: broker, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: w.queue };
    const call = async (task: string, args: unknown[] = []): Promise<PyOutcome> =>
      (await pyClient(py, ["call", task, "--args", JSON.stringify(args), "--options", JSON.stringify({ queue: w.queue }), "--timeout", "30", "--no-propagate"], env)) as PyOutcome;
    try {
      await waitFor(() => w.output().includes("ready"), 30000, "worker ready");
      expect(await call("ts.throw_outside_task")).toMatchObject({ state: "SUCCESS", result: "returned" });
      await waitFor(() => /CRITICAL\/MainProcess\] Uncaught exception outside any task in pool process 'ForkPoolWorker-\d+' pid:\d+; it is no longer safe and is replaced:\n[\s\S]*Error: thrown outside any task/.test(w.output()), 10000, "CRITICAL line");
      await waitFor(() => /Process 'ForkPoolWorker-\d+' pid:\d+ exited with 'exitcode 1'/.test(w.output()) || childPids(w.child.pid as number).length === 2, 10000, "child replaced");
      for (let i = 0; i < 4; i++) expect(await call("ts.add", [i, 1])).toMatchObject({ state: "SUCCESS", result: i + 1 });
      expect(w.child.exitCode).toBeNull();
    } finally {
      await w.stop();
    }
  });
});
