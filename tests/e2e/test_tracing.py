"""One trace per request, from the HTTP request through the transcoder, across the gRPC hop
(carried by the `traceparent` metadata, not by shared memory) into the server's services and
MongoDB commands; with tenant and operation attributes and without credentials or values."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from e2e.stack import Stack
from helpers import user_body
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from telemetry_capture import children_of, telemetry_capture

from scimtenancy_server.domain.tenant import IsolationLevel

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN_ID}-01"
CREATE_RPC = "/scimtenancy.resources.v1.ResourceService/CreateResource"


def _one(spans: Sequence[ReadableSpan], name: str, kind: SpanKind) -> ReadableSpan:
    found = [s for s in spans if s.name == name and s.kind == kind]
    assert len(found) == 1, sorted({(s.name, s.kind.name) for s in spans})
    return found[0]


def _descendants(spans: Sequence[ReadableSpan], root: ReadableSpan) -> list[ReadableSpan]:
    found, frontier = [], [root]
    while frontier:
        children = [c for parent in frontier for c in children_of(spans, parent)]
        found += children
        frontier = children
    return found


@pytest.mark.parametrize("isolation", [IsolationLevel.STRICT, IsolationLevel.STANDARD])
async def test_a_create_is_one_trace_from_http_to_mongodb(
    mongodb_stack: Stack, isolation: IsolationLevel
) -> None:
    capture = telemetry_capture()
    scim = await mongodb_stack.tenant(isolation)
    with capture.tracing() as exporter:
        created = await scim.post(
            "/Users", user_body("trace.person@example.com"), headers={"traceparent": TRACEPARENT}
        )
        assert created.status_code == 201, created.text
        spans = exporter.get_finished_spans()

    assert {format(s.context.trace_id, "032x") for s in spans if s.context} == {TRACE_ID}
    http = _one(spans, "POST /tenants/{tenant}/scim/v2", SpanKind.SERVER)
    assert http.parent is not None
    assert format(http.parent.span_id, "016x") == CALLER_SPAN_ID
    client = _one(spans, CREATE_RPC, SpanKind.CLIENT)
    assert client.parent is not None
    assert http.context is not None
    assert client.parent.span_id == http.context.span_id
    server = _one(spans, CREATE_RPC, SpanKind.SERVER)
    assert server.parent is not None
    assert client.context is not None
    assert server.parent.span_id == client.context.span_id
    assert server.parent.is_remote, "the server span must come from the propagated context"
    attributes = dict(server.attributes or {})
    assert attributes["tenant.id"] == scim.tenant_id
    assert attributes["scim.operation"] == "create"
    assert attributes["scim.resource_type"] == "User"
    assert attributes["scim.outcome"] == "ok"

    under_server = {s.name for s in children_of(spans, server)}
    assert {"tenant.resolve", "scim.create"} <= under_server
    service = _one(spans, "scim.create", SpanKind.INTERNAL)
    assert dict(service.attributes or {})["tenant.id"] == scim.tenant_id
    database = [
        s
        for s in _descendants(spans, service)
        if (s.attributes or {}).get("db.system") == "mongodb"
    ]
    assert database, "the MongoDB commands of the create must be spans under scim.create"
    assert any("insert" in s.name for s in database), [s.name for s in database]

    everything = repr([(s.name, dict(s.attributes or {})) for s in spans])
    assert scim.api_key not in everything
    assert "trace.person" not in everything  # attribute values never reach a span


async def test_a_failed_operation_names_its_scim_error_type(memory_stack: Stack) -> None:
    capture = telemetry_capture()
    scim = await memory_stack.tenant(IsolationLevel.STANDARD)
    assert (await scim.post("/Users", user_body("twice"))).status_code == 201
    with capture.tracing() as exporter:
        again = await scim.post("/Users", user_body("twice"))
        assert again.status_code == 409
        spans = exporter.get_finished_spans()
    server = _one(spans, CREATE_RPC, SpanKind.SERVER)
    attributes = dict(server.attributes or {})
    assert attributes["scim.outcome"] == "client_error"
    assert attributes["scim.error_type"] == "uniqueness"
    assert attributes["tenant.id"] == scim.tenant_id


async def test_without_a_caller_trace_the_transcoder_starts_one(memory_stack: Stack) -> None:
    capture = telemetry_capture()
    scim = await memory_stack.tenant(IsolationLevel.STANDARD)
    with capture.tracing() as exporter:
        assert (await scim.get("/Users")).status_code == 200
        spans = exporter.get_finished_spans()
    http = _one(spans, "GET /tenants/{tenant}/scim/v2", SpanKind.SERVER)
    assert http.parent is None
    assert len({s.context.trace_id for s in spans if s.context}) == 1
