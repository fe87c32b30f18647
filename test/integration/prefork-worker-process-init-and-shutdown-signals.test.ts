/**
 * Celery's worker_process_init / worker_process_shutdown on prefork: listeners registered on the
 * app in the `-A` module run inside each child, `workerProcessInit` once it loaded the module
 * (before it takes a task), `workerProcessShutdown` when it exits cleanly (recycled by
 * maxTasksPerChild, or the worker stopping), with the worker's hostname and the child's pid; the
 * child waits for a promise its shutdown listener returns. Build first (children run dist/).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureLogger, perTestApp, startTsappWorker, TSAPP, unique } from "../support/app";
import { waitFor } from "../support/wait";

const dir = mkdtempSync(join(tmpdir(), "celeriac-process-signals-"));
const record = join(dir, "record.jsonl");
const appModule = join(dir, "app.js");
writeFileSync(
  appModule,
  `const { appendFileSync } = require("node:fs");
const { app } = require(${JSON.stringify(TSAPP)});
const write = (event, payload) => appendFileSync(${JSON.stringify(record)}, JSON.stringify({ event, payload, self: process.pid }) + "\\n");
app.signals.on("workerProcessInit", (payload) => write("init", payload));
app.signals.on("workerProcessShutdown", async (payload) => {
  await new Promise((resolve) => setTimeout(resolve, 100)); // closing a connection, say
  write("shutdown", payload);
});
module.exports = { app };
`,
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Entry {
  event: "init" | "shutdown";
  payload: { hostname: string; pid: number; exitcode?: number };
  self: number;
}
const entries = (): Entry[] => {
  try {
    return readFileSync(record, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Entry);
  } catch {
    return [];
  }
};
const of = (event: Entry["event"]) => entries().filter((e) => e.event === event);

const t = perTestApp();

test("one workerProcessInit per child pid, run in that child; workerProcessShutdown when a child is recycled and when the worker stops", async () => {
  const hostname = `${unique("signals")}@test`;
  const { app, worker } = await startTsappWorker(t, { pool: "prefork", concurrency: 2, maxTasksPerChild: 1, hostname, logger: captureLogger(), appModule });
  await waitFor(() => of("init").length === 2, 10000, "two children initialised");
  const first = worker.executor.info().processes;
  expect(of("init").map((e) => e.payload.pid).sort()).toEqual([...first].sort());
  for (const e of of("init")) {
    expect(e.self).toBe(e.payload.pid);
    expect(e.payload.hostname).toBe(hostname);
  }

  // maxTasksPerChild 1: the child that ran it exits cleanly (shutdown) and a new one starts (init).
  const pid = (await (await app.sendTask("ts.pid")).get({ timeout: 10000 })) as number;
  await waitFor(() => of("shutdown").length === 1 && of("init").length === 3, 10000, "the recycled child's shutdown and its replacement's init");
  expect(of("shutdown")[0]).toEqual({ event: "shutdown", payload: { hostname, pid, exitcode: 0 }, self: pid });

  await worker.stop();
  const inits = of("init").map((e) => e.payload.pid);
  expect(new Set(inits).size).toBe(3);
  expect(of("shutdown").map((e) => e.payload.pid).sort()).toEqual([...inits].sort());
  expect(of("shutdown").every((e) => e.self === e.payload.pid && e.payload.exitcode === 0)).toBe(true);
});
