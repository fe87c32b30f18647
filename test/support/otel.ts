/**
 * OpenTelemetry in the tests: the SDK of this process (a BasicTracerProvider with an in-memory
 * exporter, the async-hooks context manager and the W3C propagator, registered globally, as an
 * application's set-up does), and spans in one shape whatever made them: this process, a JSON-lines
 * file (interop-tests/apps/otel-app.js, interop-tests/py/otel_spans.py) or Python's printout.
 */
import { readFileSync } from "node:fs";
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";

/** A finished span, as interop-tests/py/otel_spans.py's `span_dict` writes it. */
export interface SpanRecord {
  name: string;
  kind: "INTERNAL" | "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER";
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  attributes: Record<string, unknown>;
  status: "UNSET" | "OK" | "ERROR";
  status_description: string | null;
}

const STATUS = ["UNSET", "OK", "ERROR"] as const;

/** A span of this process's SDK as a SpanRecord. */
export function spanRecord(span: ReadableSpan): SpanRecord {
  return {
    name: span.name,
    kind: SpanKind[span.kind] as SpanRecord["kind"],
    trace_id: span.spanContext().traceId,
    span_id: span.spanContext().spanId,
    parent_span_id: span.parentSpanContext?.spanId ?? null,
    attributes: { ...span.attributes },
    status: STATUS[span.status.code],
    status_description: span.status.message ?? null,
  };
}

/** Register this process's SDK globally; returns its exporter (spans ended so far). */
export function installTracing(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return exporter;
}

/** The spans this process's exporter holds. */
export function finishedSpans(exporter: InMemorySpanExporter): SpanRecord[] {
  return exporter.getFinishedSpans().map(spanRecord);
}

/** The spans a JSON-lines file holds (none when it does not exist yet). */
export function spansInFile(file: string): SpanRecord[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as SpanRecord);
}

/** The one span named `name` in `spans` (throws when there is none or several). */
export function theSpan(spans: SpanRecord[], name: string): SpanRecord {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) throw new Error(`${found.length} spans named ${name} in:\n${spans.map((s) => `${s.name} ${s.span_id} <- ${s.parent_span_id}`).join("\n")}`);
  return found[0];
}
