/**
 * A task run's span: none when the application registered neither a tracer provider nor a
 * propagator (the request's info is not even built: nothing could record or continue a span);
 * with a propagator alone, the run continues the trace its message's headers carry (a non-recording
 * span whose context goes into what the task sends); with an SDK, a recorded span. Registration
 * is seen per run, so an SDK set up after the first task counts.
 */
import { propagation } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { installTracing } from "../support/otel";
import { startRunSpan } from "../../src/telemetry/spans";
import type { RequestInfo } from "../../src/task-types";

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const PARENT = "b7ad6b7169203331";

/** A request whose info counts its reads. */
function request(): { readonly info: RequestInfo; reads: number } {
  const info = {
    task: "tasks.add",
    id: "id-1",
    headers: { traceparent: `00-${TRACE_ID}-${PARENT}-01` },
    deliveryInfo: { exchange: "", routingKey: "celery", priority: 0, redelivered: false },
    timelimit: [null, null],
    hostname: "w@h",
  } as Partial<RequestInfo> as RequestInfo;
  return {
    reads: 0,
    get info() {
      this.reads++;
      return info;
    },
  };
}

// The tests run in order, each registering more (the API's globals stay registered for the process).

test("nothing registered: no run span, and the request's info is not read", () => {
  const r = request();
  expect(startRunSpan(r)).toBeNull();
  expect(r.reads).toBe(0);
});

test("a propagator alone: the run continues the trace of the message's headers", () => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const span = startRunSpan(request());
  expect(span).not.toBeNull();
  expect(span?.headers().traceparent).toBe(`00-${TRACE_ID}-${PARENT}-01`);
});

test("an SDK registered after the first runs: the next run's span is recorded, child of the message's", () => {
  const exporter = installTracing();
  const span = startRunSpan(request());
  expect(span).not.toBeNull();
  span?.end("SUCCESS");
  const [recorded] = exporter.getFinishedSpans();
  expect(recorded.name).toBe("run/tasks.add");
  expect(recorded.spanContext().traceId).toBe(TRACE_ID);
  expect(recorded.parentSpanContext?.spanId).toBe(PARENT);
});
