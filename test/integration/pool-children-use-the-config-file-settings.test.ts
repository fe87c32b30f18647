/**
 * `celeriac worker -A app --config FILE -P prefork` (or `-P threads`): the pool processes (threads)
 * that run the tasks load the app module again; they must see the settings the main process resolved (the file's broker,
 * result backend, timezone, default queue, ...), not the module's bare defaults. A task reports
 * what it sees, and a task sends another one from its child, which only arrives through the
 * file's broker and queue. Build first (npm run build).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Celery } from "../../src";
import { unique } from "../support/app";
import { startCliWorker, type CliWorker } from "../support/cli-worker";
import { testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";

jest.setTimeout(90_000);

const APP = "test/fixtures/config-file-app.js";

describe.each(["prefork", "threads"])("-P %s", (pool) => {
  let worker: CliWorker;
  let client: Celery;
  const queue = unique("cfg");

  beforeAll(async () => {
    const file = join(mkdtempSync(join(tmpdir(), "celeriac-cfg-")), "celeriac.json");
    writeFileSync(
      file,
      JSON.stringify({
        broker_url: testRedisUrl(10),
        result_backend: testRedisUrl(11),
        timezone: "Europe/Berlin",
        result_extended: true,
        task_default_queue: queue,
      }),
    );
    worker = startCliWorker("unused", "unused", "cfg", ["--config", file, "-P", pool, "-Q", queue], {}, APP);
    await waitFor(() => /@\S+ ready\./.test(worker.output()), 30_000, `the ${pool} worker ready`);
    client = new Celery("client", { broker: testRedisUrl(10), backend: testRedisUrl(11), taskDefaultQueue: queue });
  });

  afterAll(async () => {
    await worker?.stop();
    await client?.close();
  });

  test("a task run in a pool child sees the config file's settings", async () => {
    const seen = (await (await client.sendTask("cfg.settings")).get({ timeout: 20_000 })) as Record<string, unknown>;
    if (pool === "prefork") expect(seen.pid).not.toBe(worker.child.pid);
    expect(seen).toMatchObject({ broker: testRedisUrl(10), timezone: "Europe/Berlin", resultExtended: true, defaultQueue: queue });
  });

  test("a task sent from a pool child goes through the config file's broker and queue", async () => {
    const id = (await (await client.sendTask("cfg.relay")).get({ timeout: 20_000 })) as string;
    const seen = (await client.AsyncResult(id).get({ timeout: 20_000 })) as Record<string, unknown>;
    expect(seen).toMatchObject({ timezone: "Europe/Berlin", defaultQueue: queue });
  });
});
