/**
 * celeriac's spans, made as Python's `opentelemetry-instrumentation-celery` makes them, so that
 * one trace runs through Python and celeriac producers and workers alike:
 *
 * - publishing a task: a PRODUCER span `apply_async/<task>`, child of the active context (or of
 *   the task running here), whose context the global propagator injects into the message's
 *   headers (W3C `traceparent` / `tracestate`, as Python's `inject(headers)` in its
 *   before_task_publish receiver). Attributes: `celery.action` "apply_async",
 *   `messaging.message.id`, `celery.task_name`, `messaging.destination_kind` "queue",
 *   `celery.exchange` (when not the default exchange), `messaging.destination` (routing key).
 *   Ended once the broker accepted the message (an error status when it did not).
 * - running a task: a CONSUMER span `run/<task>` whose parent is the context extracted from the
 *   message's headers (Python reads them as request attributes: the same headers). The handler
 *   runs in it, so tasks it sends are its children. At the end: `celery.action` "run",
 *   `celery.state`, then what Python takes from the request (`messaging.conversation_id`,
 *   `messaging.destination`, `celery.delivery_info`, `celery.eta`, `celery.expires`,
 *   `celery.hostname` (the origin), `messaging.message.id`, `celery.reply_to`, `celery.retries`,
 *   `celery.timelimit`) and `celery.task_name`. A failure sets the error status (its message as
 *   description) and records the exception; a retry sets `celery.retry.reason`.
 *
 * Nothing is made when `@opentelemetry/api` is not installed (otel-api.ts).
 */
import { currentTask } from "../current-task";
import type { ExceptionInfo } from "../protocol/result-meta";
import { pyRepr, PyTuple } from "../protocol/repr";
import type { RequestInfo } from "../task-types";
import { otelApi } from "./otel-api";
import type { OtelApi, OtelAttributeValue, OtelContext, OtelSpan, OtelTracer } from "./otel-api";

/** The instrumentation scope of celeriac's spans. */
const SCOPE = "celeriac";

let cachedTracer: { api: OtelApi; tracer: OtelTracer } | null = null;

function tracerOf(api: OtelApi): OtelTracer {
  // getTracer goes through the global provider, which the application may register after the first task.
  if (cachedTracer?.api !== api) cachedTracer = { api, tracer: api.trace.getTracer(SCOPE) };
  return cachedTracer.tracer;
}

/** Where a published message goes, as Python's before_task_publish receiver sees it. */
export interface PublishTarget {
  id: string;
  task: string;
  exchange: string;
  routingKey: string;
}

/** A publish span: ended once the publish settled. */
export interface PublishSpan {
  end(error?: unknown): void;
}

/** The parent of a publish: the active context, or the running task's span when the active context has none. */
function publishParent(api: OtelApi): OtelContext {
  const active = api.context.active();
  if (api.trace.getSpan(active)) return active;
  const running = currentTask()?.traceContext;
  return running ?? active;
}

/**
 * Start the `apply_async/<task>` span of one message and inject its context into `headers`.
 * Null (nothing injected) without `@opentelemetry/api`, and when the span neither records (no
 * SDK) nor continues a trace.
 */
export function startPublishSpan(headers: Record<string, unknown>, target: PublishTarget): PublishSpan | null {
  const api = otelApi();
  if (!api) return null;
  const parent = publishParent(api);
  const attributes: Record<string, OtelAttributeValue> = {
    "celery.action": "apply_async",
    "messaging.message.id": target.id,
    "celery.task_name": target.task,
    "messaging.destination_kind": "queue",
    "messaging.destination": target.routingKey,
  };
  if (target.exchange) attributes["celery.exchange"] = target.exchange;
  const span = tracerOf(api).startSpan(`apply_async/${target.task}`, { kind: api.SpanKind.PRODUCER, attributes }, parent);
  // No SDK and no trace to continue: nothing to inject or end.
  if (!span.isRecording() && !api.trace.isSpanContextValid(span.spanContext())) return null;
  api.propagation.inject(api.trace.setSpan(parent, span), headers);
  return {
    end(error?: unknown) {
      if (error !== undefined) failSpan(api, span, error, null);
      span.end();
    },
  };
}

/** Python's `str(exc)` of a stored exception: its one argument, or the tuple of them. */
function excStr(info: ExceptionInfo): string {
  const args = Array.isArray(info.exc_message) ? info.exc_message : [info.exc_message];
  if (args.length === 1) return typeof args[0] === "string" ? args[0] : pyRepr(args[0]);
  return args.length === 0 ? "" : pyRepr(new PyTuple(args));
}

function failSpan(api: OtelApi, span: OtelSpan, error: unknown, info: ExceptionInfo | null): void {
  if (!span.isRecording()) return;
  const message = error instanceof Error ? error.message : info ? excStr(info) : String(error);
  span.setStatus({ code: api.SpanStatusCode.ERROR, message });
  if (error instanceof Error) span.recordException(error);
  else if (info) span.recordException({ name: info.exc_type, message });
}

/** Celery's timelimit attribute: skipped when unset, a missing limit as "". */
function timelimitValue([hard, soft]: RequestInfo["timelimit"]): OtelAttributeValue | null {
  if (hard === null && soft === null) return null;
  if (hard === null || soft === null) return [hard === null ? "" : String(hard), soft === null ? "" : String(soft)];
  return [String(hard), String(soft)];
}

/** The request's attributes as Python's `set_attributes_from_context(span, task.request)` sets them. */
function requestAttributes(info: RequestInfo): Record<string, OtelAttributeValue> {
  const out: Record<string, OtelAttributeValue> = {};
  const d = info.deliveryInfo;
  if (info.correlationId) out["messaging.conversation_id"] = info.correlationId;
  out["messaging.destination"] = d.routingKey;
  out["celery.delivery_info"] = pyRepr({ exchange: d.exchange, routing_key: d.routingKey, priority: d.priority, redelivered: d.redelivered });
  const h = info.headers;
  if (typeof h.eta === "string" && h.eta) out["celery.eta"] = h.eta;
  if (typeof h.expires === "string" && h.expires) out["celery.expires"] = h.expires;
  // Celery 4+ names the origin `celery.hostname` (it overrides the worker's hostname).
  out["celery.hostname"] = info.origin || info.hostname;
  out["messaging.message.id"] = info.id;
  if (info.replyTo) out["celery.reply_to"] = info.replyTo;
  if (info.retries) out["celery.retries"] = info.retries;
  const tl = timelimitValue(info.timelimit);
  if (tl !== null) out["celery.timelimit"] = tl;
  return out;
}

/** The span of one task run (see the module's comment). */
export interface RunSpan {
  /** The context with this span: the handler runs in it. */
  readonly context: OtelContext;
  /** The span's context as message headers (`traceparent`, ...): what a prefork child continues. */
  headers(): Record<string, string>;
  /** The task failed: error status and the exception recorded. */
  fail(error: unknown, info: ExceptionInfo | null): void;
  /** The task asked for a retry (Celery's Retry text). */
  retry(reason: string): void;
  /** The run is over: `state` as task_postrun gives it (null when the run was abandoned). */
  end(state: string | null): void;
}

/**
 * Start the `run/<task>` span of a request, child of the context its headers carry. Null without
 * `@opentelemetry/api`, and when the span neither records (no SDK) nor continues a trace.
 */
export function startRunSpan(request: { readonly info: RequestInfo }): RunSpan | null {
  const api = otelApi();
  if (!api || nothingRegistered(api)) return null;
  const info = request.info;
  const parent = api.propagation.extract(api.ROOT_CONTEXT, info.headers);
  const span = tracerOf(api).startSpan(`run/${info.task}`, { kind: api.SpanKind.CONSUMER }, parent);
  if (!span.isRecording() && !api.trace.isSpanContextValid(span.spanContext())) return null;
  const context = api.trace.setSpan(parent, span);
  let ended = false;
  return {
    context,
    headers() {
      const carrier: Record<string, string> = {};
      api.propagation.inject(context, carrier);
      return carrier;
    },
    fail: (error, info) => failSpan(api, span, error, info),
    retry(reason) {
      if (span.isRecording()) span.setAttribute("celery.retry.reason", reason);
    },
    end(state) {
      if (ended) return;
      ended = true;
      if (span.isRecording()) {
        span.setAttribute("celery.action", "run");
        if (state) span.setAttribute("celery.state", state);
        for (const [k, v] of Object.entries(requestAttributes(info))) span.setAttribute(k, v);
        span.setAttribute("celery.task_name", info.task);
      }
      span.end();
    },
  };
}

/** The no-op provider a ProxyTracerProvider delegates to until one is registered (of this copy of the API). */
let noopProvider: unknown;

/**
 * True when neither a tracer provider nor a propagator is registered globally: no span can record,
 * and none can be continued from a message's headers (nothing extracts them), so a run span would
 * be the API's invalid no-op one. Checked per run: the application may register its SDK later.
 * Any doubt (a provider from another copy of the API, an API without these) says false.
 */
function nothingRegistered(api: OtelApi): boolean {
  const Proxy = api.ProxyTracerProvider;
  if (typeof Proxy !== "function" || typeof api.trace.getTracerProvider !== "function" || typeof api.propagation.fields !== "function") return false;
  const provider = api.trace.getTracerProvider();
  if (!(provider instanceof Proxy)) return false;
  noopProvider ??= new Proxy().getDelegate();
  return provider.getDelegate() === noopProvider && api.propagation.fields().length === 0;
}

/** Run `fn` in `context` (the run span's), so what it starts is the span's child. */
export function inSpanContext<T>(context: OtelContext, fn: () => T): T {
  const api = otelApi();
  return api ? api.context.with(context, fn) : fn();
}

/**
 * Run `fn` in the context `headers` carry (a prefork child continuing the run span of the main
 * process), which also becomes `task.traceContext` (the parent of what the task publishes);
 * `fn` as it is when there are none or `@opentelemetry/api` is not installed.
 */
export function inRemoteContext<T>(headers: Record<string, string> | undefined, task: { traceContext?: OtelContext }, fn: () => T): T {
  if (!headers || Object.keys(headers).length === 0) return fn();
  const api = otelApi();
  if (!api) return fn();
  const context = api.propagation.extract(api.ROOT_CONTEXT, headers);
  task.traceContext = context;
  return api.context.with(context, fn);
}
