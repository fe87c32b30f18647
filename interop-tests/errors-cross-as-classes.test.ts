/**
 * Exceptions cross as classes, both ways (Redis broker and backend; newest Celery and 5.2):
 * - results a Python worker stored are thrown by celeriac's `get()` as instances of the exported
 *   classes (TimeLimitExceeded, TaskRevokedError), of a class registered with
 *   `app.registerError` (pyerrors.PaymentDeclined, with its args), or as a RemoteError (a
 *   CeleryError) for the others;
 * - what a celeriac worker (CLI, prefork children) stored for a registered class is caught by
 *   Python's `except pyerrors.PaymentDeclined`, and a JS TypeError by `except TypeError`.
 */
import { Celery, CeleryError, NotRegistered, RemoteError, TaskRevokedError, TimeLimitExceeded } from "../src";
import { unique } from "../test/support/app";
import { startCliWorker, type CliWorker } from "../test/support/cli-worker";
import { pyInline, PYTHONS, startPythonWorker, type PythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";

jest.setTimeout(120_000);

/** The test's own mapping of pyerrors.PaymentDeclined. */
class PaymentDeclined extends Error {
  constructor(
    message: string,
    readonly amount?: number,
  ) {
    super(message);
    this.name = "PaymentDeclined";
  }
}

const BROKER = testRedisUrl(10);
const BACKEND = testRedisUrl(9);

const PY_CATCH = String.raw`
import json, sys
import pyerrors
from pyapp import app
req = json.load(sys.stdin)
out = []
for task in req['tasks']:
    r = app.send_task(task, args=req['args'], queue=req['queue'])
    try:
        r.get(timeout=30)
        out.append({'task': task, 'caught': None})
    except pyerrors.PaymentDeclined as e:
        out.append({'task': task, 'caught': 'pyerrors.PaymentDeclined', 'args': list(e.args)})
    except TypeError as e:
        out.append({'task': task, 'caught': 'builtins.TypeError', 'args': list(e.args)})
    except Exception as e:
        out.append({'task': task, 'caught': type(e).__module__ + '.' + type(e).__name__})
print(json.dumps(out))
`;

describe.each(PYTHONS)("exceptions cross as classes with $label", (py) => {
  let pyWorker: PythonWorker;
  let tsWorker: CliWorker;
  let app: Celery;
  const pyQueue = unique("err-py");

  beforeAll(async () => {
    app = new Celery("errors", { broker: BROKER, backend: BACKEND });
    app.registerError("pyerrors.PaymentDeclined", PaymentDeclined);
    tsWorker = startCliWorker(BROKER, BACKEND, "errors");
    pyWorker = await startPythonWorker(py, { broker: BROKER, backend: BACKEND, queues: [pyQueue], concurrency: 1 });
  });
  afterAll(async () => {
    await pyWorker?.stop();
    await tsWorker?.stop();
    await app?.close();
  });

  test("a Python worker's failures are thrown as the exported classes, a registered class, or RemoteError", async () => {
    const hard = await app.sendTask("py.hard_limited", [], {}, { queue: pyQueue });
    const declined = await app.sendTask("py.decline", [12], {}, { queue: pyQueue });
    const failed = await app.sendTask("py.fail", ["boom"], {}, { queue: pyQueue });
    const expired = await app.sendTask("py.add", [1, 2], {}, { queue: pyQueue, expires: new Date(Date.now() - 60_000) });

    const hardErr = await hard.get({ timeout: 30_000 }).catch((e: unknown) => e);
    expect(hardErr).toBeInstanceOf(TimeLimitExceeded);
    expect(hardErr).toBeInstanceOf(CeleryError);
    expect(hardErr).toMatchObject({ excType: "TimeLimitExceeded", excModule: "billiard.exceptions" });

    const declinedErr = await declined.get({ timeout: 30_000 }).catch((e: unknown) => e);
    expect(declinedErr).toBeInstanceOf(PaymentDeclined);
    expect(declinedErr).toMatchObject({ message: "declined", amount: 12, excType: "PaymentDeclined", excModule: "pyerrors", excMessage: ["declined", 12] });
    expect((declinedErr as PaymentDeclined & { traceback: string }).traceback).toMatch(/PaymentDeclined/);

    const failedErr = await failed.get({ timeout: 30_000 }).catch((e: unknown) => e);
    expect(failedErr).toBeInstanceOf(RemoteError);
    expect(failedErr).toBeInstanceOf(CeleryError);
    expect(failedErr).toMatchObject({ name: "ValueError", excType: "ValueError", excModule: "builtins", excMessage: ["boom", 42] });

    const expiredErr = await expired.get({ timeout: 30_000 }).catch((e: unknown) => e);
    expect(expiredErr).toBeInstanceOf(TaskRevokedError);
    expect(expiredErr).toMatchObject({ excMessage: ["expired"] });
  });

  test("a task no worker knows is thrown as NotRegistered", async () => {
    const r = await app.sendTask("ts.no_such_task", [], {}, { queue: tsWorker.queue });
    await expect(r.get({ timeout: 30_000 })).rejects.toBeInstanceOf(NotRegistered);
  });

  test("Python's except catches what a celeriac worker stored for a registered class and for a JS TypeError", async () => {
    const out = await pyInline(py, PY_CATCH, { tasks: ["ts.decline", "ts.type_error"], args: [7], queue: tsWorker.queue }, { PYAPP_BROKER: BROKER, PYAPP_BACKEND: BACKEND });
    expect(out).toEqual([
      { task: "ts.decline", caught: "pyerrors.PaymentDeclined", args: ["declined", 7] },
      { task: "ts.type_error", caught: "builtins.TypeError", args: ["not a number"] },
    ]);
  });
});
