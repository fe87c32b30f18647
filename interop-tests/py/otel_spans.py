"""OpenTelemetry in the interop tests (newest Celery only: the venv has opentelemetry-sdk and
opentelemetry-instrumentation-celery, Debian's Python has neither).

``install(path=None)`` sets a TracerProvider with an InMemorySpanExporter as the global one and
instruments Celery with ``CeleryInstrumentor`` (whose signals inject and extract the context);
with ``path``, every finished span is also appended to that file as one JSON line, so that a
worker's spans can be read by the test while the worker runs. ``span_dict(span)`` is the JSON
form: name, kind, trace_id, span_id, parent_span_id (32 and 16 hex digits, or None), attributes,
status.
"""
import json
import threading

from opentelemetry import trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


def span_dict(span):
    parent = span.parent
    return {
        'name': span.name,
        'kind': span.kind.name,
        'trace_id': format(span.context.trace_id, '032x'),
        'span_id': format(span.context.span_id, '016x'),
        'parent_span_id': format(parent.span_id, '016x') if parent is not None else None,
        'attributes': {k: (list(v) if isinstance(v, tuple) else v) for k, v in span.attributes.items()},
        'status': span.status.status_code.name,
        'status_description': span.status.description,
    }


class JsonLinesExporter(SpanExporter):
    """Appends each span as a JSON line to a file."""

    def __init__(self, path):
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans):
        with self._lock, open(self._path, 'a', encoding='utf-8') as out:
            for span in spans:
                out.write(json.dumps(span_dict(span)) + '\n')
        return SpanExportResult.SUCCESS

    def shutdown(self):
        pass


def install(path=None):
    """Global TracerProvider with an in-memory exporter (returned), Celery instrumented."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    if path:
        provider.add_span_processor(SimpleSpanProcessor(JsonLinesExporter(path)))
    trace.set_tracer_provider(provider)
    CeleryInstrumentor().instrument(tracer_provider=provider)
    return memory
