"""OpenTelemetry for both processes.

Traces go where the standard variable `OTEL_TRACES_EXPORTER` says (`otlp`, `console`, `none`;
default `none`), with the usual `OTEL_EXPORTER_OTLP_*`, `OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES` and `OTEL_TRACES_SAMPLER` variables read by the SDK itself. Metrics are
served for Prometheus on `SCIMTENANCY_METRICS_PORT` and, with `OTEL_METRICS_EXPORTER=otlp`,
pushed over OTLP as well."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.grpc.filters import health_check, negate
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from prometheus_client import CollectorRegistry

# Latency buckets in seconds, fine below 10 ms where most SCIM calls end.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
TRACES_EXPORTER_VARIABLE = "OTEL_TRACES_EXPORTER"
METRICS_EXPORTER_VARIABLE = "OTEL_METRICS_EXPORTER"


_Exporter = TypeVar("_Exporter")

# The RPCs the gRPC instrumentations make spans of, on either side: all but health checks.
# Those are no one's request (a probe every few seconds), and a replica pool's `Watch` stream
# is held open for its connection's life: its span could only be ended at shutdown, from
# another context ("Failed to detach context" on every stop).
TRACED_RPCS = negate(health_check())


class TelemetryConfigError(ValueError):
    """A standard OTel variable names an exporter we do not ship."""


class MetricsListenError(OSError):
    """The `/metrics` server could not bind its address (a port taken, a host not ours);
    the message names the address and why."""


def host_port(host: str, port: int) -> str:
    """`host:port`, an IPv6 address in brackets (`[::1]:9464`)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _otlp_exporter(make: Callable[[], _Exporter]) -> _Exporter:
    """An OTLP exporter; one whose certificate or key file cannot be read is a settings
    error that names the file, not a traceback."""
    try:
        return make()
    except OSError as error:
        raise TelemetryConfigError(f"OTEL_EXPORTER_OTLP_*: {error}") from None


def _span_exporters(names: str) -> list[SpanExporter]:
    exporters: list[SpanExporter] = []
    for name in filter(None, (n.strip() for n in names.split(","))):
        if name == "none":
            continue
        if name == "console":
            exporters.append(ConsoleSpanExporter())
        elif name == "otlp":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            exporters.append(_otlp_exporter(OTLPSpanExporter))
        else:
            raise TelemetryConfigError(
                f"{TRACES_EXPORTER_VARIABLE}={names!r}: use otlp, console or none"
            )
    return exporters


def _otlp_metric_readers(names: str) -> list[MetricReader]:
    readers: list[MetricReader] = []
    for name in filter(None, (n.strip() for n in names.split(","))):
        if name in ("none", "prometheus"):  # Prometheus is served on SCIMTENANCY_METRICS_PORT
            continue
        if name != "otlp":
            raise TelemetryConfigError(
                f"{METRICS_EXPORTER_VARIABLE}={names!r}: use otlp, prometheus or none"
            )
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        readers.append(PeriodicExportingMetricReader(_otlp_exporter(OTLPMetricExporter)))
    return readers


@dataclass
class Telemetry:
    """The providers one process uses; `registry` is what its `/metrics` endpoint serves."""

    meter_provider: MeterProvider
    registry: CollectorRegistry
    tracer_provider: TracerProvider | None = None
    _servers: list[object] = field(default_factory=list, repr=False)

    def shutdown(self) -> None:
        for server in self._servers:
            getattr(server, "shutdown", lambda: None)()
        self.meter_provider.shutdown()
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()


def build_telemetry(
    service_name: str,
    span_processors: list[SpanProcessor] | None = None,
    metric_readers: list[MetricReader] | None = None,
) -> Telemetry:
    """Providers for this process, not yet installed globally (see `install`)."""
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", service_name)})
    processors = list(span_processors or [])
    processors += [
        BatchSpanProcessor(exporter)
        for exporter in _span_exporters(os.environ.get(TRACES_EXPORTER_VARIABLE, "none"))
    ]
    tracer_provider = None
    if processors:
        tracer_provider = TracerProvider(resource=resource)
        for processor in processors:
            tracer_provider.add_span_processor(processor)

    from opentelemetry.exporter.prometheus import PrometheusMetricReader

    registry = CollectorRegistry()
    readers: list[MetricReader] = [
        PrometheusMetricReader(registry=registry),
        *_otlp_metric_readers(os.environ.get(METRICS_EXPORTER_VARIABLE, "")),
        *(metric_readers or []),
    ]
    meter_provider = MeterProvider(metric_readers=readers, resource=resource, views=_views())
    return Telemetry(meter_provider, registry, tracer_provider)


def _views() -> list[View]:
    """Millisecond-fine buckets, and HTTP attributes that stay few (no host: with the subdomain
    strategy it names the tenant)."""
    http_keys = {"http.method", "http.scheme", "http.status_code", "http.target"}
    return [
        View(
            instrument_name="scim.operation.duration",
            aggregation=ExplicitBucketHistogramAggregation(LATENCY_BUCKETS),
        ),
        View(
            instrument_name="http.server.request.duration",  # the transcoder's, in seconds
            aggregation=ExplicitBucketHistogramAggregation(LATENCY_BUCKETS),
        ),
        View(
            instrument_name="http.server.duration",  # milliseconds
            aggregation=ExplicitBucketHistogramAggregation([b * 1000 for b in LATENCY_BUCKETS]),
            attribute_keys=http_keys,
        ),
        View(instrument_name="http.server.active_requests", attribute_keys={"http.method"}),
        View(instrument_name="http.server.*.size", attribute_keys=http_keys),
    ]


def install(telemetry: Telemetry) -> None:
    """Makes the providers global, so instrumentations and `get_tracer`/`get_meter` use them.
    OpenTelemetry allows this once per process."""
    if telemetry.tracer_provider is not None:
        trace.set_tracer_provider(telemetry.tracer_provider)
    metrics.set_meter_provider(telemetry.meter_provider)


def serve_metrics(telemetry: Telemetry, host: str, port: int) -> int:
    """Serves `/metrics` for Prometheus on a thread; returns the bound port."""
    from prometheus_client import start_http_server

    try:
        server, _thread = start_http_server(port, addr=host, registry=telemetry.registry)
    except OSError as error:
        raise MetricsListenError(
            f"cannot listen for metrics on {host_port(host, port)}: {error.strerror or error}"
        ) from None
    telemetry._servers.append(server)
    bound: int = server.server_port
    return bound


def tracing_enabled() -> bool:
    """Whether this process records spans. The instrumentations that only make spans are
    installed when it does: even with nothing recorded, the ASGI one costs ~150 µs a request."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def exports_metrics(metrics_port: int) -> bool:
    """Whether anyone collects this process's metrics (worth counting resources for)."""
    return metrics_port > 0 or "otlp" in os.environ.get(METRICS_EXPORTER_VARIABLE, "")


def start_telemetry(service_name: str, metrics_host: str, metrics_port: int) -> Telemetry:
    """Builds and installs this process's providers and serves `/metrics` when asked to."""
    telemetry = build_telemetry(service_name)
    install(telemetry)
    if metrics_port:
        bound = serve_metrics(telemetry, metrics_host, metrics_port)
        logging.getLogger(__name__).info(
            "Prometheus metrics on http://%s/metrics", host_port(metrics_host, bound)
        )
    return telemetry
