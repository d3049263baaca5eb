"""Exporters come from the standard OTel variables; a name we do not ship stops the process."""

from __future__ import annotations

from pathlib import Path

import pytest

from scimtenancy_common.telemetry import TelemetryConfigError, build_telemetry
from scimtenancy_server.rpc.observability import operation_name


def test_an_unknown_traces_exporter_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(TelemetryConfigError, match="OTEL_TRACES_EXPORTER='zipkin'"):
        build_telemetry("test")


def test_an_unknown_metrics_exporter_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "statsd")
    with pytest.raises(TelemetryConfigError, match="OTEL_METRICS_EXPORTER='statsd'"):
        build_telemetry("test")


def test_tracing_is_off_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    telemetry = build_telemetry("test")
    try:
        assert telemetry.tracer_provider is None
    finally:
        telemetry.shutdown()


def test_console_tracing_builds_a_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    telemetry = build_telemetry("test")
    try:
        assert telemetry.tracer_provider is not None
    finally:
        telemetry.shutdown()


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("/scimtenancy.resources.v1.ResourceService/GetResource", "get"),
        ("/scimtenancy.resources.v1.ResourceService/Bulk", "bulk"),
        ("/scimtenancy.admin.v1.TenantAdminService/IssueApiKey", "issue_api_key"),
    ],
)
def test_operations_are_named_for_people(method: str, name: str) -> None:
    assert operation_name(method) == name


@pytest.mark.parametrize("variable", ["OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER"])
def test_an_unreadable_otlp_certificate_is_refused_naming_the_file(
    variable: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(variable, "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://127.0.0.1:4317")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", str(tmp_path))  # a directory
    with pytest.raises(TelemetryConfigError, match=f"OTEL_EXPORTER_OTLP_.*{tmp_path}"):
        build_telemetry("test")
