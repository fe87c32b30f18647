// A celeriac app module with OpenTelemetry's SDK registered as an application registers it (the
// async-hooks context manager, the W3C propagator, a tracer provider), loaded by the CLI worker's
// main process and by each prefork child alike: every finished span is appended to TRACED_SPANS as
// a JSON line with the pid that made it. TRACED_BROKER, TRACED_BACKEND, TRACED_QUEUE configure it.
// traced.hop sends traced.leaf from its handler (in a prefork child: the child continues the trace);
// traced.leaf returns the log fields of its run.
const fs = require("node:fs");
const { context, propagation, trace, SpanKind } = require("@opentelemetry/api");
const { AsyncLocalStorageContextManager } = require("@opentelemetry/context-async-hooks");
const { W3CTraceContextPropagator } = require("@opentelemetry/core");
const { BasicTracerProvider, SimpleSpanProcessor } = require("@opentelemetry/sdk-trace-base");
const { Celery, taskLogFields } = require("../../dist");

const file = process.env.TRACED_SPANS;
const toFile = {
  export(spans, done) {
    for (const s of spans) {
      const c = s.spanContext();
      const line = { pid: process.pid, name: s.name, kind: SpanKind[s.kind], trace_id: c.traceId, span_id: c.spanId, parent_span_id: s.parentSpanContext?.spanId ?? null, attributes: s.attributes };
      fs.appendFileSync(file, JSON.stringify(line) + "\n");
    }
    done({ code: 0 });
  },
  shutdown: async () => undefined,
};
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(toFile)] }));

const app = new Celery("traced", { broker: process.env.TRACED_BROKER, backend: process.env.TRACED_BACKEND, taskDefaultQueue: process.env.TRACED_QUEUE });
app.task("traced.hop", async (x) => (await app.sendTask("traced.leaf", [x])).id);
// What a JSON log line written by the handler would carry (taskLogFields).
app.task("traced.leaf", (x) => ({ x, fields: taskLogFields() }));
module.exports = { app };
