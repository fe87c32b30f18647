/**
 * `/healthz` and `/readyz` of `celeriac worker --metrics-port` (a CLI worker, event loop pool): the
 * liveness probe says 503 while a CPU-bound task blocks the event loop beyond
 * `--health-max-blocked` (the endpoints are served by a thread of their own, so it answers), and
 * 200 again once the loop turns; the readiness probe says 503 while the broker is gone and 200 once
 * it is back. The broker is a Redis of this file's own (its port: the test Redis port + 9), stopped
 * and started; the shared test brokers are not touched.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { Celery } from "../../src";
import { startCliWorker, type CliWorker } from "../support/cli-worker";
import { freePort } from "../support/flower";
import { waitFor } from "../support/wait";

const ROOT = path.resolve(__dirname, "../..");
const run = promisify(execFile);
const REDIS_PORT = Number(process.env.CELERIAC_TEST_REDIS_PORT || 16379) + 9;
const REDIS_DIR = path.join(ROOT, ".tmp", `redis-${REDIS_PORT}-health`);
const privateRedis = (cmd: "start" | "stop") => run("bash", [path.join(ROOT, "scripts/private-redis.sh"), cmd, String(REDIS_PORT), REDIS_DIR], { timeout: 30_000 });
const url = (db: number) => `redis://127.0.0.1:${REDIS_PORT}/${db}`;

async function probe(port: number, what: "healthz" | "readyz"): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/${what}`, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, text: await res.text() };
}

/** Probe until it answers `status`; resolves with that answer. */
async function until(what: "healthz" | "readyz", status: number, ms: number): Promise<{ status: number; text: string }> {
  let last: { status: number; text: string } | null = null;
  await waitFor(
    async () => {
      last = await probe(port, what);
      return last.status === status;
    },
    ms,
    `/${what} to say ${status}`,
  );
  return last!;
}

let worker: CliWorker | null = null;
let app: Celery | null = null;
let port = 0;

beforeAll(async () => {
  await privateRedis("start");
  port = await freePort();
  worker = startCliWorker(url(0), url(1), "health", ["-P", "eventloop", "--metrics-port", String(port), "--health-max-blocked", "1"]);
  await waitFor(() => worker!.output().includes(" ready."), 30_000, "the worker to be ready");
  app = new Celery("health", { broker: url(0), backend: url(1), taskDefaultQueue: worker.queue });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await privateRedis("stop");
}, 60_000);

test("/healthz: 200, then 503 while a task blocks the event loop for 4 s, then 200 again", async () => {
  expect(await probe(port, "healthz")).toEqual({ status: 200, text: "ok\n" });
  const r = await app!.sendTask("ts.spin", [4]);
  const blocked = await until("healthz", 503, 10_000);
  expect(blocked.text).toMatch(/^unhealthy: the event loop has been blocked for \d+\.\d s\n$/);
  expect(await r.get({ timeout: 20_000 })).toBe(4);
  // the result can be stored (and read here) before the freed event loop writes its next
  // heartbeat (every 250 ms): healthy again within a beat or two
  expect((await until("healthz", 200, 1_000)).text).toBe("ok\n");
}, 60_000);

test("/readyz: 200 while consuming, 503 naming the broker once it is gone, 200 once it is back and the worker consumes again", async () => {
  expect(await probe(port, "readyz")).toEqual({ status: 200, text: "ready\n" });
  await privateRedis("stop");
  const down = await until("readyz", 503, 20_000);
  expect(down.text).toContain(`not ready: broker connection lost (redis://127.0.0.1:${REDIS_PORT}/0`);
  // Liveness is not readiness: the worker's event loop is fine.
  expect((await probe(port, "healthz")).status).toBe(200);
  await privateRedis("start");
  await until("readyz", 200, 30_000);
  expect(await (await app!.sendTask("ts.add", [2, 3])).get({ timeout: 20_000 })).toBe(5);
}, 90_000);
