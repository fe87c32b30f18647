/**
 * A worker's `/metrics` (WorkerOptions.metricsPort) after a known set of tasks: celery-exporter's
 * counters by name, hostname (the node name's host part) and queue_name with the right values,
 * the others of each task's labels at 0, failures by exception class, the runtime histogram,
 * tasks sent (from handlers, retries and this process's client), the worker gauges, the length of a consumed queue read from the broker,
 * and Node's process metrics. On both brokers.
 */
import { Celery } from "../../src";
import type { Worker } from "../../src";
import { captureLogger, unique } from "../support/app";
import { BROKERS, type BrokerLease } from "../support/brokers";
import { testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";

/** The samples of a Prometheus text page: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

async function scrape(port: number): Promise<{ text: string; type: string | null; values: Map<string, number> }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, type: res.headers.get("content-type"), values: samples(text) };
}

describe.each(BROKERS)("on $name", (broker) => {
  let lease: BrokerLease;
  let app: Celery;
  let worker: Worker;
  const queue = unique("metrics");
  const host = `metrics-${queue}`;
  // m.wait runs until released (then every later one returns at once).
  let released = false;
  const waiting: Array<() => void> = [];
  const release = () => {
    released = true;
    waiting.splice(0).forEach((r) => r());
  };

  beforeAll(async () => {
    lease = await broker.open("metrics", 10);
    app = new Celery("metrics", { broker: lease.url, backend: testRedisUrl(11), taskDefaultQueue: queue });
    app.task("m.add", (x: number, y: number) => x + y);
    app.task("m.fail", () => {
      throw new TypeError("no");
    });
    app.task("m.retry_once", (ctx, x: number) => (ctx.request.retries === 0 ? ctx.retry({ countdown: 0 }) : x), { bind: true });
    app.task("m.spawn", async () => (await app.sendTask("m.add", [1, 1])).id);
    app.task("m.wait", () => (released ? undefined : new Promise<void>((r) => waiting.push(r))));
    worker = app.worker({ concurrency: 1, prefetchMultiplier: 1, hostname: `w1@${host}`, metricsPort: 0, logger: captureLogger() });
    await worker.start();
  }, 60_000);

  afterAll(async () => {
    release();
    await worker?.stop();
    await app?.close();
    await lease?.close();
  });

  test("after 5 successes, 2 failures, a retry and a sent task, the counters and the histogram say so with the exporter's labels", async () => {
    const port = worker.metricsServer!.port!;
    const adds = await Promise.all([1, 2, 3, 4, 5].map((i) => app.sendTask("m.add", [i, i])));
    for (const r of adds) await r.get({ timeout: 15_000 });
    const fails = await Promise.all([1, 2].map(() => app.sendTask("m.fail")));
    for (const r of fails) await expect(r.get({ timeout: 15_000 })).rejects.toThrow("no");
    expect(await (await app.sendTask("m.retry_once", [7])).get({ timeout: 15_000 })).toBe(7);
    const spawned = (await (await app.sendTask("m.spawn")).get({ timeout: 15_000 })) as string;
    await app.AsyncResult(spawned).get({ timeout: 15_000 });

    const l = (name: string, extra = "") => `{name="${name}",hostname="${host}",queue_name="${queue}"${extra}}`;
    // The counters follow the signals, which fire just after the result is stored.
    await waitFor(async () => (await scrape(port)).values.get(`celery_task_succeeded_total${l("m.add")}`) === 6, 10_000, "6 successes of m.add");
    const { values, type, text } = await scrape(port);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    const v = (metric: string) => values.get(metric);
    // m.add: 5 sent here + 1 sent by m.spawn's handler.
    expect(v(`celery_task_received_total${l("m.add")}`)).toBe(6);
    expect(v(`celery_task_started_total${l("m.add")}`)).toBe(6);
    expect(v(`celery_task_failed_total${l("m.add", ',exception=""')}`)).toBe(0);
    expect(v(`celery_task_retried_total${l("m.add")}`)).toBe(0);
    expect(v(`celery_task_revoked_total${l("m.add")}`)).toBe(0);
    expect(v(`celery_task_rejected_total${l("m.add")}`)).toBe(0);
    expect(v(`celery_task_received_total${l("m.fail")}`)).toBe(2);
    expect(v(`celery_task_failed_total${l("m.fail", ',exception="TypeError"')}`)).toBe(2);
    expect(v(`celery_task_succeeded_total${l("m.fail")}`)).toBe(0);
    // The retry is a second message of the same task: received and started twice, retried once.
    expect(v(`celery_task_received_total${l("m.retry_once")}`)).toBe(2);
    expect(v(`celery_task_retried_total${l("m.retry_once")}`)).toBe(1);
    expect(v(`celery_task_succeeded_total${l("m.retry_once")}`)).toBe(1);
    // Sent by this process's app (the test's client is the worker's app): 5 + m.spawn's one, the retry's second message.
    expect(v(`celery_task_sent_total${l("m.add")}`)).toBe(6);
    expect(v(`celery_task_sent_total${l("m.retry_once")}`)).toBe(2);
    expect(v(`celery_task_sent_total${l("m.fail")}`)).toBe(2);
    // Runtime histogram of successes, prometheus_client's default buckets.
    expect(v(`celery_task_runtime_count${l("m.add")}`)).toBe(6);
    expect(v(`celery_task_runtime_bucket{le="10",name="m.add",hostname="${host}",queue_name="${queue}"}`)).toBe(6);
    expect(v(`celery_task_runtime_bucket{le="+Inf",name="m.add",hostname="${host}",queue_name="${queue}"}`)).toBe(6);
    expect(text).toContain(`celery_task_runtime_bucket{le="0.075",name="m.add"`);
    expect(v(`celery_task_runtime_sum${l("m.add")}`)).toBeGreaterThan(0);
    expect(v(`celery_task_runtime_count${l("m.fail")}`)).toBeUndefined();
    expect(v(`celery_worker_up{hostname="${host}"}`)).toBe(1);
    expect(v(`celery_worker_tasks_active{hostname="${host}"}`)).toBe(0);
    expect(v(`celery_queue_length{queue_name="${queue}"}`)).toBe(0);
    // Node's process metrics.
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  }, 90_000);

  test("the active gauge and the queue length follow a busy worker: one running, the rest waiting in the broker", async () => {
    const port = worker.metricsServer!.port!;
    const waits = await Promise.all([1, 2, 3, 4, 5].map(() => app.sendTask("m.wait")));
    await waitFor(async () => (await scrape(port)).values.get(`celery_worker_tasks_active{hostname="${host}"}`) === 1, 10_000, "one active task");
    // -c 1 with prefetch multiplier 1: one message held by the worker, at least 3 still in the queue.
    const { values } = await scrape(port);
    expect(values.get(`celery_queue_length{queue_name="${queue}"}`)).toBeGreaterThanOrEqual(3);
    release();
    for (const r of waits) await r.get({ timeout: 15_000 });
    await waitFor(async () => (await scrape(port)).values.get(`celery_queue_length{queue_name="${queue}"}`) === 0, 10_000, "an empty queue");
  }, 90_000);
});
