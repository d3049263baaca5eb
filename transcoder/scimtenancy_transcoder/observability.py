"""The transcoder's part of a trace, of the metrics and of the logs: the HTTP server span
(OpenTelemetry's ASGI instrumentation, named by route template, when tracing), a request id for
every request, passed on to the server and returned as `X-Request-ID`, a latency histogram and
one access log line per request."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import metrics
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.grpc import aio_client_interceptors
from opentelemetry.instrumentation.starlette import _get_default_span_details
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scimtenancy_common.logs import (
    REQUEST_ID_KEY,
    SAFE_REQUEST_ID,
    bounded,
    request_id_var,
    tenant_var,
)
from scimtenancy_common.telemetry import TRACED_RPCS, tracing_enabled
from scimtenancy_transcoder.stopping import change_sent, stopped_answer

REQUEST_ID_HEADER = REQUEST_ID_KEY.encode()
# Probes and scrapes are not traced; they would drown the SCIM traffic.
UNTRACED_PATHS = "/healthz,/readyz,/metrics"
# Methods a client invents count as `_OTHER` (as OpenTelemetry's HTTP conventions say), so
# strangers cannot grow the label set.
KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)

access_log = logging.getLogger("scimtenancy_transcoder.access")
_duration = metrics.get_meter("scimtenancy_transcoder").create_histogram(
    "http.server.request.duration", unit="s", description="time to answer an HTTP request"
)


def _request_id(scope: Scope) -> str:
    """The caller's `X-Request-ID` when it is a safe token, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER and SAFE_REQUEST_ID.fullmatch(value.decode("latin-1")):
            return str(value.decode())
    return secrets.token_hex(16)


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        tenant_token = tenant_var.set("")  # the routes set the tenant the URL names
        sent_token = change_sent.set(False)
        started = time.perf_counter()
        status = 500
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except asyncio.CancelledError:
            # uvicorn cancels what still runs when its shutdown grace ends: answer a SCIM
            # 503 saying what is known (a response begun is cut: uvicorn closes it).
            _current_task().uncancel()
            access_log.warning("cut short by the end of the shutdown grace period")
            if not responded:
                await stopped_answer()(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            endpoint = getattr(scope.get("endpoint"), "__name__", "none")
            _duration.record(
                seconds,
                {
                    "http.request.method": _method_label(scope["method"]),
                    "http.response.status_code": status,
                    "scim.route": endpoint,
                },
            )
            if access_log.isEnabledFor(logging.INFO):
                fields = _access_fields(scope, status, seconds)
                access_log.info(
                    "%s %s %d",
                    fields["http.method"],
                    fields["http.path"],
                    status,
                    extra={"fields": fields},
                )
            request_id_var.reset(token)
            tenant_var.reset(tenant_token)
            change_sent.reset(sent_token)


def _current_task() -> asyncio.Task[Any]:
    task = asyncio.current_task()
    assert task is not None  # an ASGI application runs in the request's task
    return task


def _method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "_OTHER"


def _access_fields(scope: Scope, status: int, seconds: float) -> dict[str, Any]:
    """What the access line says; the client's method and path are scrubbed and cut, so a
    60 KB path costs one linear scrub and logs 512 characters (and never the query: filters
    carry attribute values)."""
    return {
        "http.method": bounded(scope["method"]),
        "http.path": bounded(scope["path"]),
        "http.status": status,
        "duration_ms": round(seconds * 1000, 3),
    }


def _span_details(routes: Starlette) -> Callable[[Scope], tuple[str, dict[str, Any]]]:
    """The span's name and attributes as OpenTelemetry's Starlette instrumentation gives them,
    from the application's routes (`GET /tenants/{tenant}/scim/v2` for every SCIM request of
    the path strategy)."""

    def details(scope: Scope) -> tuple[str, dict[str, Any]]:
        return _get_default_span_details({**scope, "app": routes})

    return details


def observed(app: ASGIApp, routes: Starlette) -> ASGIApp:
    """`app` with, outermost first, the span (when tracing), then the request id and access
    line; `routes` is the application whose route templates name the spans."""
    app = RequestIdMiddleware(app)
    if not tracing_enabled():
        return app
    return OpenTelemetryMiddleware(
        app,
        excluded_urls=UNTRACED_PATHS,
        default_span_details=_span_details(routes),
        exclude_spans=["receive", "send"],
    )


def client_interceptors() -> list[Any]:
    """When tracing: the gRPC client span of every RPC but health checks (the replica pool's
    probes and `Watch` streams are no request's), carrying the trace context on."""
    if not tracing_enabled():
        return []
    interceptors: list[Any] = aio_client_interceptors(filter_=TRACED_RPCS)  # type: ignore[no-untyped-call]
    return interceptors
