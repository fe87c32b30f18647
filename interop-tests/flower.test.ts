/**
 * Flower (newest from PyPI, in interop-tests/.venv) watching a celeriac CLI worker started with -E,
 * on Redis and on RabbitMQ: the worker is listed online with its processed count (events) and its
 * inspect data (stats.total, registered, active_queues: Flower's inspect broadcasts); celeriac
 * tasks show state SUCCESS and their runtime in /api/tasks and /api/task/info; the workers page,
 * rendered by headless Chromium, shows the worker "Online" with its counts (screenshot saved to
 * .tmp/flower-<broker>-workers.png); the worker's warm shutdown turns it offline; Flower logs no
 * error about anything the worker sent.
 * Build first: npm run build. Flower and Chromium come from scripts/ensure-deps.sh.
 */
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { Celery } from "../src";
import { amqpUrl, createVhost, deleteVhost } from "../test/support/amqp";
import { assertChromium, dumpDom, pngSize, screenshot } from "../test/support/chromium";
import { type CliWorker, startCliWorker } from "../test/support/cli-worker";
import { type Flower, startFlower } from "../test/support/flower";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

jest.setTimeout(120_000);

const TMP = path.resolve(__dirname, "..", ".tmp");
/** Redis db 1 of the private test Redis: no other test file uses it. */
const REDIS = () => testRedisUrl(1);

/** One row of Flower's /workers?json=1: event counters per type plus the worker's state. */
interface FlowerWorkerRow {
  hostname: string;
  status: boolean;
  active?: number;
  processed?: number;
  freq?: number;
  sw_ident?: string;
  "task-received"?: number;
  "task-succeeded"?: number;
  "task-failed"?: number;
  "worker-heartbeat"?: number;
}

/** A task as Flower's /api/tasks and /api/task/info show it. */
interface FlowerTask {
  uuid: string;
  name: string | null;
  state: string;
  worker: string | null;
  args: string | null;
  result: string | null;
  received: number | null;
  started: number | null;
  succeeded: number | null;
  runtime: number | null;
}

interface BrokerCase {
  label: "redis" | "amqp";
  /** Broker URL of this case (a fresh vhost on RabbitMQ), and a cleanup. */
  setUp(): Promise<{ broker: string; tearDown: () => Promise<void> }>;
}

const CASES: BrokerCase[] = [
  { label: "redis", setUp: async () => ({ broker: REDIS(), tearDown: async () => undefined }) },
  {
    label: "amqp",
    setUp: async () => {
      const vhost = await createVhost("flower");
      return { broker: amqpUrl(vhost), tearDown: () => deleteVhost(vhost) };
    },
  },
];

/** The cells' text of the workers-table row of `node` in Flower's rendered /workers page. */
function workerRowCells(dom: string, node: string): string[] | null {
  const rows = dom.match(/<tr[\s>][\s\S]*?<\/tr>/g) ?? [];
  const row = rows.find((r) => r.includes(`title="${node}"`));
  if (!row) return null;
  return (row.match(/<td[\s\S]*?<\/td>/g) ?? []).map((td) => td.replace(/<[^>]+>/g, "").replace(/&amp;/g, "&").trim());
}

describe.each(CASES.map((c) => [c.label, c] as const))("Flower sees a celeriac worker on %s", (label, brokerCase) => {
  let flower: Flower;
  let w: CliWorker;
  let client: Celery;
  let tearDown: () => Promise<void> = async () => undefined;
  const ids: { add: string[]; sleep: string } = { add: [], sleep: "" };

  const row = async (): Promise<FlowerWorkerRow | undefined> =>
    (await flower.getJson<{ data: FlowerWorkerRow[] }>("/workers?json=1")).data.find((r) => r.hostname === w.node);

  beforeAll(async () => {
    const setup = await brokerCase.setUp();
    tearDown = setup.tearDown;
    // Flower first, so that its event receiver sees the worker come online.
    flower = await startFlower(setup.broker);
    w = startCliWorker(setup.broker, REDIS(), `flower-${label}`, ["-E", "--heartbeat-interval", "1"]);
    await waitFor(() => w.output().includes("ready"), 20000, "worker ready");
    client = new Celery("flower-client", { broker: setup.broker, backend: REDIS(), taskDefaultQueue: w.queue });
  });

  afterAll(async () => {
    await client?.close();
    await w?.stop();
    await flower?.stop();
    await tearDown();
  });

  test("the worker is listed online (worker-online / worker-heartbeat events)", async () => {
    let r: FlowerWorkerRow | undefined;
    await waitFor(async () => (r = await row())?.status === true, 20000, `Flower listing ${w.node} online\n${flower.output()}`);
    expect(r).toMatchObject({ hostname: w.node, status: true, freq: 1, sw_ident: "celeriac", active: 0 });
    expect(await flower.getJson("/api/workers?status=1")).toMatchObject({ [w.node]: true });
  });

  test("celeriac tasks: SUCCESS with a numeric runtime in /api/tasks and /api/task/info", async () => {
    const adds = await Promise.all([1, 2, 3].map((i) => client.sendTask("ts.add", [i, 2])));
    const sleep = await client.sendTask("ts.sleep", [0.3, "slow"]);
    expect(await Promise.all(adds.map((r) => r.get({ timeout: 20_000 })))).toEqual([3, 4, 5]);
    expect(await sleep.get({ timeout: 20_000 })).toBe("slow");
    ids.add = adds.map((r) => r.id);
    ids.sleep = sleep.id;
    const all = [...ids.add, ids.sleep];

    let tasks: Record<string, FlowerTask> = {};
    await waitFor(
      async () => {
        tasks = await flower.getJson(`/api/tasks?workername=${encodeURIComponent(w.node)}`);
        return all.every((id) => tasks[id]?.state === "SUCCESS");
      },
      20000,
      "Flower's /api/tasks showing the four tasks SUCCESS",
    );
    ids.add.forEach((id, i) => {
      const t = tasks[id];
      expect(t).toMatchObject({ uuid: id, name: "ts.add", state: "SUCCESS", worker: w.node, args: `(${i + 1}, 2)`, result: String(i + 3) });
      expect(typeof t.runtime).toBe("number");
      expect(t.runtime).toBeGreaterThan(0);
      expect(t.runtime).toBeLessThan(1);
      for (const at of [t.received, t.started, t.succeeded]) expect(typeof at).toBe("number");
      expect(t.started as number).toBeLessThanOrEqual(t.succeeded as number);
    });
    // The runtime is the task's own: a 0.3 s sleep shows 0.3 s, not a rounded or wall-clock figure.
    const slow = await flower.getJson<FlowerTask>(`/api/task/info/${ids.sleep}`);
    expect(slow).toMatchObject({ uuid: ids.sleep, name: "ts.sleep", state: "SUCCESS", worker: w.node, result: "'slow'" });
    expect(slow.runtime).toBeGreaterThanOrEqual(0.29);
    expect(slow.runtime).toBeLessThan(3);
    // ... and the very number the worker logged (Celery's T is both logged and sent in task-succeeded).
    expect(w.output()).toContain(`Task ts.sleep[${ids.sleep}] succeeded in ${slow.runtime}s: 'slow'`);
  });

  test("processed count and inspect data (/workers?json=1, /api/workers?refresh=1, the worker page)", async () => {
    let r: FlowerWorkerRow | undefined;
    // `processed` comes with the next heartbeat (1 s); the task-* counters with the task events.
    await waitFor(async () => (r = await row())?.processed === 4, 10000, "processed = 4 in a heartbeat");
    expect(r).toMatchObject({ status: true, active: 0, processed: 4, "task-received": 4, "task-succeeded": 4 });
    expect(r?.["task-failed"] ?? 0).toBe(0);

    type Inspected = Record<string, { stats?: { total?: Record<string, number>; pool?: Record<string, unknown>; broker?: { transport?: string } }; registered?: string[]; active_queues?: Array<{ name: string }> }>;
    // A refresh joins the inspect round still in flight (Flower's own at its start, broadcast before
    // the worker listened), so ask again until a round includes the worker.
    let inspected: Inspected = {};
    await waitFor(async () => (inspected = await flower.getJson<Inspected>("/api/workers?refresh=1"))[w.node]?.stats !== undefined, 20000, "the worker in /api/workers?refresh=1");
    const mine = inspected[w.node];
    expect(mine.stats?.total).toEqual({ "ts.add": 3, "ts.sleep": 1 });
    expect(mine.stats?.pool).toMatchObject({ "max-concurrency": 2 });
    expect(mine.stats?.broker?.transport).toBe(label);
    expect(mine.registered).toEqual(expect.arrayContaining(["ts.add", "ts.sleep"]));
    expect(mine.active_queues?.map((q) => q.name)).toEqual([w.queue]);
    // Without refresh Flower answers from its cache, which now holds the worker.
    expect(Object.keys(await flower.getJson("/api/workers"))).toContain(w.node);

    // The worker page inspects the task lists too (one worker: active/reserved/scheduled/revoked).
    const one = await flower.getJson<Record<string, Record<string, unknown>>>(`/api/workers?workername=${encodeURIComponent(w.node)}&refresh=1`);
    expect(one[w.node]).toMatchObject({ active: [], reserved: [], scheduled: [], revoked: [] });
    const page = await flower.get(`/worker/${encodeURIComponent(w.node)}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(w.node);
  });

  test("headless Chromium: the workers page shows the worker Online with its counts; screenshot", async () => {
    assertChromium();
    const url = `${flower.url}/workers`;
    const cells = workerRowCells(await dumpDom(url), w.node);
    // Worker, Status, Active, Processed, Failed, Succeeded, Load Average
    expect(cells?.slice(0, 6)).toEqual([w.node, "Online", "0", "4", "0", "4"]);

    mkdirSync(TMP, { recursive: true });
    const file = path.join(TMP, `flower-${label}-workers.png`);
    await screenshot(url, file);
    const png = pngSize(file);
    expect(png).toMatchObject({ width: 1400, height: 900 });
    // A blank 1400x900 PNG is a few kB; a rendered page with text and a table is tens of kB.
    expect(png.bytes).toBeGreaterThan(20_000);
  });

  test("Flower logged no error about the worker's events or inspect replies", () => {
    expect(flower.output()).not.toMatch(/Traceback|ERROR|\[E /);
  });

  test("warm shutdown: worker-offline turns the worker offline in Flower", async () => {
    w.child.kill("SIGTERM");
    expect(await w.exited).toBe(0);
    await waitFor(async () => (await row())?.status === false, 10000, "Flower listing the worker offline");
    expect(await flower.getJson("/api/workers?status=1")).toMatchObject({ [w.node]: false });
    expect(flower.output()).not.toMatch(/Traceback|ERROR|\[E /);
  });
});
