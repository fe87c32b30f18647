/**
 * Python (newest Celery and 5.2) sends `time_limit=1` to a never-ending CPU-bound task on a
 * `celeriac worker -P prefork`, on Redis and on RabbitMQ: the main process SIGKILLs the child,
 * Python reads FAILURE TimeLimitExceeded within seconds, the worker logs Celery's lines, and the
 * next task runs on the new child. Needs `npm run build` (spawns dist/cli/main.js with
 * interop-tests/apps/tsapp.js).
 */
import { unique } from "../test/support/app";
import { BROKERS, type BrokerLease } from "../test/support/brokers";
import { type CliWorker, startCliWorker } from "../test/support/cli-worker";
import { pyClient, type PyOutcome, PYTHONS } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

jest.setTimeout(120_000);

/** Unix ms of the worker's log line containing `text` (Celery's `[YYYY-MM-DD HH:MM:SS,mmm: LEVEL/...]`). */
function logTime(output: string, text: string): number {
  const line = output.split("\n").find((l) => l.includes(text));
  const m = line?.match(/^\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3}):/);
  if (!m) throw new Error(`no log line with ${text}`);
  return Date.parse(`${m[1]}T${m[2]}.${m[3]}`);
}
const BACKEND = testRedisUrl(13);

describe.each(BROKERS)("on $name", (broker) => {
  let lease: BrokerLease;
  let worker: CliWorker;
  let queue: string;
  beforeAll(async () => {
    lease = await broker.open("prefork-limit", 12);
    queue = unique("prefork");
    worker = startCliWorker(lease.url, BACKEND, "prefork", ["-P", "prefork"], { TSAPP_QUEUE: queue });
    await waitFor(() => worker.output().includes("ready."), 20000, "worker ready");
  });
  afterAll(async () => {
    await worker?.stop();
    await lease?.close();
  });

  test.each(PYTHONS)("time_limit=1 from Python $label: FAILURE TimeLimitExceeded, the child replaced, the next task runs", async (py) => {
    const env = { PYAPP_BROKER: lease.url, PYAPP_BACKEND: BACKEND, PYAPP_QUEUES: queue };
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
    const ok = (await pyClient(py, ["send", "ts.add", "--args", "[2, 3]", "--options", JSON.stringify({ queue })], env)) as { id: string };
    expect(await pyClient(py, ["get", ok.id, "--timeout", "20"], env)).toMatchObject({ state: "SUCCESS", result: 5 });
  });
});
