/**
 * celeriac's `get({ onMessage })` receives the state messages Python's `get(on_message=...)`
 * receives (newest Celery and 5.2; Redis broker; Redis and rpc:// backends): for a task a
 * celeriac worker runs (ts.progress, CLI worker) both clients see the same messages in the same
 * order, and for a task a Python worker runs (py.progress) celeriac sees each PROGRESS push.
 */
import { Celery } from "../src";
import type { ResultMeta } from "../src/protocol/result-meta";
import { unique } from "../test/support/app";
import { startCliWorker, type CliWorker } from "../test/support/cli-worker";
import { pyClient, type PyOutcome, PYTHONS, startPythonWorker, type PythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";

jest.setTimeout(120_000);

const BROKER = testRedisUrl(10);
const PROGRESS_3 = [
  ["PROGRESS", { current: 1, total: 3 }],
  ["PROGRESS", { current: 2, total: 3 }],
  ["PROGRESS", { current: 3, total: 3 }],
  ["SUCCESS", 3],
];

describe.each(PYTHONS)("onMessage as $label's on_message", (py) => {
  describe.each([
    ["Redis backend", testRedisUrl(9)],
    ["rpc:// backend", "rpc://"],
  ])("%s", (_label, backend) => {
    let tsWorker: CliWorker;
    let pyWorker: PythonWorker;
    let app: Celery;
    const pyQueue = unique("progress-py");

    beforeAll(async () => {
      tsWorker = startCliWorker(BROKER, backend, "progress");
      pyWorker = await startPythonWorker(py, { broker: BROKER, backend, queues: [pyQueue], concurrency: 1 });
      app = new Celery("progress", { broker: BROKER, backend });
    });
    afterAll(async () => {
      await pyWorker?.stop();
      await tsWorker?.stop();
      await app?.close();
    });

    const celeriacSees = async (task: string, queue: string): Promise<unknown[]> => {
      const r = await app.sendTask(task, [3], {}, { queue });
      const seen: unknown[] = [];
      await r.get({ timeout: 30_000, onMessage: (meta: ResultMeta) => seen.push([meta.status, meta.result]) });
      return seen;
    };

    test("for a celeriac task, both clients see the same messages", async () => {
      const env = { PYAPP_BROKER: BROKER, PYAPP_BACKEND: backend };
      const python = (await pyClient(py, ["call", "ts.progress", "--args", "[3]", "--options", JSON.stringify({ queue: tsWorker.queue }), "--timeout", "30", "--states"], env)) as PyOutcome;
      expect(python.states).toEqual(PROGRESS_3);
      expect(await celeriacSees("ts.progress", tsWorker.queue)).toEqual(python.states);
    });

    test("for a Python task, celeriac sees every PROGRESS push", async () => {
      expect(await celeriacSees("py.progress", pyQueue)).toEqual(PROGRESS_3);
    });
  });
});
