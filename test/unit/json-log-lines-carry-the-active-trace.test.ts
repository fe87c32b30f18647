/**
 * `--log-format json` with tracing on: a line written while a span is active carries its trace_id
 * and span_id (OpenTelemetry's log correlation names), so log lines join the trace; a line written
 * outside any span carries none.
 */
import { context, trace } from "@opentelemetry/api";
import { installTracing } from "../support/otel";
import { Logger } from "../../src/logging";

test("a JSON log line written inside an active span carries its trace_id and span_id; one outside carries none", () => {
  installTracing();
  const lines: string[] = [];
  const logger = new Logger("INFO", (line) => lines.push(line), { format: "json" });
  const span = trace.getTracer("test").startSpan("run/tasks.add");
  context.with(trace.setSpan(context.active(), span), () => logger.info("inside"));
  span.end();
  logger.info("outside");
  const [inside, outside] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(inside).toMatchObject({ message: "inside", trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId });
  expect(outside).toMatchObject({ message: "outside" });
  expect(outside.trace_id).toBeUndefined();
});
