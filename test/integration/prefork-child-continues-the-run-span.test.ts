/**
 * OpenTelemetry on `-P prefork`: the main process makes a task's `run/<task>` span and the child
 * running its handler continues it (the job carries its context), so a task sent from the handler
 * in the child is the run span's child, and the task it sent runs in the same trace. The worker's
 * app module (interop-tests/apps/traced-app.js) registers the SDK in the main process and in each
 * child, writing spans to a file; this process's SDK (test/support/otel.ts) holds the first publish.
 * A handler's `taskLogFields()` (what JSON log lines carry) names its task and its run span.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { Celery } from "../../src";
import { unique } from "../support/app";
import { startCliWorker, type CliWorker } from "../support/cli-worker";
import { finishedSpans, installTracing, spansInFile, theSpan, type SpanRecord } from "../support/otel";

/** traced-app.js's lines carry the pid of the process that made the span. */
type SpanOfPid = SpanRecord & { pid: number };
import { testRedisUrl } from "../support/redis";
import { waitFor } from "../support/wait";

let exporter: InMemorySpanExporter;
let worker: CliWorker;
let app: Celery;
let dir: string;
let file: string;
const queue = unique("traced");

beforeAll(async () => {
  exporter = installTracing();
  dir = mkdtempSync(path.join(tmpdir(), "celeriac-traced-"));
  file = path.join(dir, "spans.jsonl");
  const env = { TRACED_BROKER: testRedisUrl(10), TRACED_BACKEND: testRedisUrl(11), TRACED_QUEUE: queue, TRACED_SPANS: file };
  worker = startCliWorker(testRedisUrl(10), testRedisUrl(11), "traced", ["-P", "prefork", "-c", "1", "-Q", queue], env, "interop-tests/apps/traced-app.js");
  await waitFor(() => worker.output().includes(" ready."), 30_000, "the worker to be ready");
  app = new Celery("traced", { broker: testRedisUrl(10), backend: testRedisUrl(11), taskDefaultQueue: queue });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await worker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

test("producer → run (main process) → publish (child) → run: one trace, each span the child of the one before; the leaf's log fields name it", async () => {
  const r = await app.sendTask("traced.hop", [3]);
  const leafId = (await r.get({ timeout: 20_000 })) as string;
  // Each run span is written when its run ends: hop's after its result is stored, which may come
  // after the leaf's whole run (its slot is free once its handler returned), so wait for all three.
  const names = ["run/traced.hop", "apply_async/traced.leaf", "run/traced.leaf"];
  await waitFor(() => names.every((n) => spansInFile(file).some((s) => s.name === n)), 20_000, names.join(", "));
  const produced = theSpan(finishedSpans(exporter), "apply_async/traced.hop");
  const spans = spansInFile(file);
  const run = theSpan(spans, "run/traced.hop") as SpanOfPid;
  const publish = theSpan(spans, "apply_async/traced.leaf") as SpanOfPid;
  const leaf = theSpan(spans, "run/traced.leaf");
  for (const s of [run, publish, leaf]) expect(s.trace_id).toBe(produced.trace_id);
  expect(run.parent_span_id).toBe(produced.span_id);
  expect(publish.parent_span_id).toBe(run.span_id);
  expect(leaf.parent_span_id).toBe(publish.span_id);
  expect(leaf.attributes["messaging.message.id"]).toBe(leafId);
  expect(await app.AsyncResult(leafId).get({ timeout: 20_000 })).toEqual({
    x: 3,
    fields: { task_id: leafId, task_name: "traced.leaf", trace_id: produced.trace_id, span_id: leaf.span_id },
  });
  // The run span is the main process's, the publish the child's.
  expect(run.pid).toBe(worker.child.pid);
  expect(publish.pid).not.toBe(worker.child.pid);
}, 60_000);
