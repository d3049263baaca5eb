"""The OpenTelemetry contrib instrumentations the server uses: a span for every RPC, and one
for every MongoDB command (command names only; statements carry resource values, so they are
never captured)."""

from __future__ import annotations

import grpc
from opentelemetry.instrumentation.grpc import aio_server_interceptor as _aio_server_interceptor
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

from scimtenancy_common.telemetry import TRACED_RPCS, tracing_enabled


def span_interceptors() -> list[grpc.aio.ServerInterceptor]:
    """When tracing: the server span of every RPC but health checks, continuing the
    caller's trace."""
    if not tracing_enabled():
        return []
    interceptor: grpc.aio.ServerInterceptor = _aio_server_interceptor(filter_=TRACED_RPCS)  # type: ignore[no-untyped-call]
    return [interceptor]


def instrument_mongodb_driver() -> None:
    """When tracing, registers the command listener; it must precede the first client."""
    instrumentor = PymongoInstrumentor()
    if tracing_enabled() and not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(capture_statement=False)
