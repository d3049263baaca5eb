"""In-memory trace and metric capture for tests. OpenTelemetry lets a process install its
providers once, so the session installs them on first use and tests read what was recorded
while they captured."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from scimtenancy_common.telemetry import Telemetry, build_telemetry, install


class _WhileCapturing(SpanProcessor):
    """Passes spans on only while a test captures, so other tests leave nothing behind."""

    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner
        self.capturing = False

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.capturing:
            self.inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if self.capturing:
            self.inner.on_end(span)


@dataclass
class Capture:
    telemetry: Telemetry
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    _processor: _WhileCapturing

    @contextmanager
    def tracing(self) -> Iterator[InMemorySpanExporter]:
        self.spans.clear()
        self._processor.capturing = True
        try:
            yield self.spans
        finally:
            self._processor.capturing = False

    def points(self, metric_name: str) -> list[tuple[dict[str, Any], Any]]:
        """(attributes, data point) of every point of the metric, as collected now."""
        data = self.metrics.get_metrics_data()
        found: list[tuple[dict[str, Any], Any]] = []
        for resource_metrics in data.resource_metrics if data else ():
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == metric_name:
                        found += [(dict(p.attributes or {}), p) for p in metric.data.data_points]
        return found


_capture: Capture | None = None


def telemetry_capture() -> Capture:
    global _capture
    if _capture is None:
        spans = InMemorySpanExporter()
        processor = _WhileCapturing(SimpleSpanProcessor(spans))
        reader = InMemoryMetricReader()
        telemetry = build_telemetry("scimtenancy-tests", [processor], [reader])
        install(telemetry)
        _capture = Capture(telemetry, spans, reader, processor)
    return _capture


def children_of(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    parent_id = parent.context.span_id if parent.context else None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent_id]
