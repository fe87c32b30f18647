/**
 * One OpenTelemetry trace across Python and celeriac: Python's opentelemetry-instrumentation-celery
 * (newest Celery; interop-tests/py/otel_spans.py, in-memory and JSON-lines exporters) on the Python
 * producer and worker, celeriac's spans (src/telemetry/spans.ts) in this process's SDK
 * (test/support/otel.ts, in-memory exporter) on a celeriac worker (event loop, in this process).
 * Both directions: Python producer → celeriac task → Python task, and celeriac producer → Python
 * task → celeriac task. Every span carries one trace id, each hop's parent is the span before it,
 * and celeriac's spans have the names, kinds and attribute keys of Python's. On Redis and on
 * RabbitMQ (the context rides in the message headers, an AMQP table there).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { trace } from "@opentelemetry/api";
import type { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { Celery } from "../src";
import type { Worker } from "../src";
import { captureLogger, unique } from "../test/support/app";
import { BROKERS, type BrokerLease } from "../test/support/brokers";
import { finishedSpans, installTracing, spansInFile, theSpan, type SpanRecord } from "../test/support/otel";
import { PYTHONS, pyInline, type PythonWorker, startPythonWorker } from "../test/support/python";
import { testRedisUrl } from "../test/support/redis";
import { waitFor } from "../test/support/wait";

// Only the newest Celery's venv has the OpenTelemetry packages (interop-tests/requirements.txt).
const PY = PYTHONS[0];

/** Python: sends stdin's task (registered here as a stub) inside a `py.client` span; prints its id and the spans. */
const PY_TRACED_SEND = `
import json, sys
import otel_spans
from opentelemetry import trace
from pyapp import app
req = json.load(sys.stdin)
memory = otel_spans.install()

@app.task(name=req['task'])
def stub(*args):
    raise NotImplementedError('runs on celeriac')

with trace.get_tracer('interop').start_as_current_span('py.client'):
    r = stub.apply_async(args=req['args'], queue=req['queue'])
print(json.dumps({'id': r.id, 'spans': [otel_spans.span_dict(s) for s in memory.get_finished_spans()]}))
`;

let exporter: InMemorySpanExporter;
beforeAll(() => {
  exporter = installTracing();
});

const keys = (s: SpanRecord) => Object.keys(s.attributes).sort();

describe.each(BROKERS)("on $name", (broker) => {
  let lease: BrokerLease;
  let app: Celery;
  let worker: Worker;
  let pyWorker: PythonWorker;
  let dir: string;
  let pySpansFile: string;
  const nodeQueue = unique("otel-node");
  const pyQueue = unique("otel-py");

  beforeAll(async () => {
    lease = await broker.open("otel", 12);
    dir = mkdtempSync(path.join(tmpdir(), "celeriac-otel-"));
    pySpansFile = path.join(dir, "python-worker-spans.jsonl");
    app = new Celery("otel", { broker: lease.url, backend: testRedisUrl(13), taskDefaultQueue: nodeQueue });
    // Python producer → here → Python: returns the id of the py.add it sent.
    app.task("otel.hop", async (x: number) => (await app.sendTask("py.add", [x, 1], {}, { queue: pyQueue })).id);
    // Python → here: the end of the reverse chain.
    app.task("otel.leaf", (x: number) => x * 2);
    worker = app.worker({ concurrency: 2, logger: captureLogger() });
    await worker.start();
    pyWorker = await startPythonWorker(PY, {
      broker: lease.url,
      backend: testRedisUrl(13),
      queues: [pyQueue],
      pool: "solo",
      env: { PYAPP_OTEL_SPANS: pySpansFile },
    });
  }, 120_000);

  afterAll(async () => {
    await pyWorker?.stop();
    await worker?.stop();
    await app?.close();
    await lease?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  test("Python producer → celeriac task → Python task: one trace, each span the child of the one before", async () => {
    const sent = (await pyInline(PY, PY_TRACED_SEND, { task: "otel.hop", args: [41], queue: nodeQueue }, { PYAPP_BROKER: lease.url, PYAPP_BACKEND: testRedisUrl(13) })) as {
      id: string;
      spans: SpanRecord[];
    };
    const producer = theSpan(sent.spans, "apply_async/otel.hop");
    const client = theSpan(sent.spans, "py.client");
    const hopRun = () => finishedSpans(exporter).filter((s) => s.name === "run/otel.hop" && s.attributes["messaging.message.id"] === sent.id);
    await waitFor(() => hopRun().length === 1, 20_000, "celeriac's run/otel.hop span");
    const run = hopRun()[0];
    const publish = finishedSpans(exporter).find((s) => s.name === "apply_async/py.add" && s.parent_span_id === run.span_id);
    expect(publish).toBeDefined();
    const pyAddRun = () => spansInFile(pySpansFile).filter((s) => s.name === "run/py.add" && s.parent_span_id === publish?.span_id);
    await waitFor(() => pyAddRun().length === 1, 20_000, "the Python worker's run/py.add span");
    const pyRun = pyAddRun()[0];

    // One trace, parent by parent: py.client → apply_async (Python) → run (celeriac) → apply_async (celeriac) → run (Python).
    for (const s of [producer, run, publish!, pyRun]) expect(s.trace_id).toBe(client.trace_id);
    expect(producer.parent_span_id).toBe(client.span_id);
    expect(run.parent_span_id).toBe(producer.span_id);
    expect(publish!.parent_span_id).toBe(run.span_id);
    expect(pyRun.parent_span_id).toBe(publish!.span_id);

    // celeriac's spans as Python's: kinds, and the attributes Python sets on the same kind of span.
    expect([producer.kind, run.kind, publish!.kind, pyRun.kind]).toEqual(["PRODUCER", "CONSUMER", "PRODUCER", "CONSUMER"]);
    expect(keys(publish!)).toEqual(keys(producer));
    expect(keys(run)).toEqual(keys(pyRun));
    expect(run.attributes).toMatchObject({ "celery.action": "run", "celery.state": "SUCCESS", "celery.task_name": "otel.hop", "messaging.message.id": sent.id, "messaging.destination": nodeQueue });
    expect(publish!.attributes).toMatchObject({ "celery.action": "apply_async", "celery.task_name": "py.add", "messaging.destination": pyQueue, "messaging.destination_kind": "queue" });
    // Python's repr of the request's delivery_info, as Python's worker writes it (priority: what the
    // message carried; Python's producer sets none on RabbitMQ, Redis's envelope always has one).
    expect(pyRun.attributes["celery.delivery_info"]).toBe(`{'exchange': '', 'routing_key': '${pyQueue}', 'priority': 0, 'redelivered': False}`);
    const priority = broker.transport === "redis" ? "0" : "None";
    expect(run.attributes["celery.delivery_info"]).toBe(`{'exchange': '', 'routing_key': '${nodeQueue}', 'priority': ${priority}, 'redelivered': False}`);
  }, 90_000);

  test("celeriac producer → Python task → celeriac task: one trace the other way", async () => {
    const tracer = trace.getTracer("interop");
    const sent = await tracer.startActiveSpan("node.client", async (span) => {
      try {
        return await app.sendTask("py.send_on", ["otel.leaf", [21], nodeQueue], {}, { queue: pyQueue });
      } finally {
        span.end();
      }
    });
    const leafId = (await sent.get({ timeout: 20_000 })) as string;
    const leafRun = () => finishedSpans(exporter).filter((s) => s.name === "run/otel.leaf" && s.attributes["messaging.message.id"] === leafId);
    await waitFor(() => leafRun().length === 1, 20_000, "celeriac's run/otel.leaf span");
    const nodeSpans = finishedSpans(exporter);
    const client = nodeSpans.find((s) => s.name === "node.client" && s.span_id !== undefined && nodeSpans.some((p) => p.parent_span_id === s.span_id && p.attributes["messaging.message.id"] === sent.id));
    expect(client).toBeDefined();
    const publish = nodeSpans.find((s) => s.name === "apply_async/py.send_on" && s.attributes["messaging.message.id"] === sent.id)!;
    // Python's worker ends its run span in task_postrun, after the result was stored.
    const pyRunOf = () => spansInFile(pySpansFile).find((s) => s.name === "run/py.send_on" && s.attributes["messaging.message.id"] === sent.id);
    await waitFor(() => pyRunOf() !== undefined, 20_000, "the Python worker's run/py.send_on span");
    const pySpans = spansInFile(pySpansFile);
    const pyRun = pyRunOf()!;
    const pyPublish = pySpans.find((s) => s.name === "apply_async/otel.leaf" && s.attributes["messaging.message.id"] === leafId)!;
    const run = leafRun()[0];

    for (const s of [publish, pyRun, pyPublish, run]) expect(s.trace_id).toBe(client!.trace_id);
    expect(publish.parent_span_id).toBe(client!.span_id);
    expect(pyRun.parent_span_id).toBe(publish.span_id);
    expect(pyPublish.parent_span_id).toBe(pyRun.span_id);
    expect(run.parent_span_id).toBe(pyPublish.span_id);
    expect(keys(publish)).toEqual(keys(pyPublish));
    expect(run.attributes).toMatchObject({ "celery.state": "SUCCESS", "celery.task_name": "otel.leaf" });
  }, 90_000);
});
