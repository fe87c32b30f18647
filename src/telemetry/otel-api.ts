/**
 * `@opentelemetry/api`, an optional peer dependency: required the first time a span could be
 * made, and null when it is not installed (then celeriac makes no spans and injects nothing).
 * Only the API is loaded: what records and exports spans is the application's SDK, registered
 * globally (NodeSDK, or a TracerProvider with a context manager and a propagator); without one the
 * API's no-op tracer is used. The types below are the subset of the API celeriac calls, written
 * out so that celeriac's own types never name the package.
 */

/** An OpenTelemetry `Context` (opaque here). */
export type OtelContext = object;

/** What a span says of itself (`SpanContext`). */
export interface OtelSpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

/** An attribute value as the API takes it. */
export type OtelAttributeValue = string | number | boolean | string[];

/** The span methods celeriac calls. */
export interface OtelSpan {
  spanContext(): OtelSpanContext;
  setAttribute(key: string, value: OtelAttributeValue): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: Error | string): void;
  isRecording(): boolean;
  end(): void;
}

/** The tracer methods celeriac calls. */
export interface OtelTracer {
  startSpan(name: string, options: { kind: number; attributes?: Record<string, OtelAttributeValue> }, context?: OtelContext): OtelSpan;
}

/** The parts of `@opentelemetry/api` celeriac uses. */
export interface OtelApi {
  trace: {
    getTracer(name: string, version?: string): OtelTracer;
    getSpan(context: OtelContext): OtelSpan | undefined;
    setSpan(context: OtelContext, span: OtelSpan): OtelContext;
    isSpanContextValid(spanContext: OtelSpanContext): boolean;
    /** The global provider: a ProxyTracerProvider (API 1.x). */
    getTracerProvider?(): unknown;
  };
  context: {
    active(): OtelContext;
    with<T>(context: OtelContext, fn: () => T): T;
  };
  propagation: {
    inject(context: OtelContext, carrier: Record<string, unknown>): void;
    extract(context: OtelContext, carrier: Record<string, unknown>): OtelContext;
    /** The header names the global propagator reads and writes (none without one). */
    fields?(): string[];
  };
  /** What the global provider is: it delegates to the registered one, or to a no-op provider. */
  ProxyTracerProvider?: new () => { getDelegate(): unknown };
  ROOT_CONTEXT: OtelContext;
  SpanKind: { PRODUCER: number; CONSUMER: number };
  SpanStatusCode: { ERROR: number };
}

let loaded: OtelApi | null | undefined;

/** `@opentelemetry/api` when it is installed, else null (looked up once). */
export function otelApi(): OtelApi | null {
  if (loaded === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer dependency, loaded on first use
      loaded = require("@opentelemetry/api") as OtelApi;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}
