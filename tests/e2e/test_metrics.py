"""Per-tenant operation metrics, resource and limit gauges and tenant-cache counters, read
from an in-memory metric reader after real HTTP requests."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from e2e.stack import ADMIN_TOKEN, Stack, running_stack, server_settings
from helpers import unique_id, user_body
from telemetry_capture import telemetry_capture

from scimtenancy.admin.v1 import admin_pb2, admin_pb2_grpc
from scimtenancy.resources.v1 import resources_pb2, resources_pb2_grpc
from scimtenancy_common.wire import TENANT_HINT_KEY
from scimtenancy_server.domain.tenant import IsolationLevel

ADMIN = (("authorization", f"Bearer {ADMIN_TOKEN}"),)


def _total(points: list[tuple[dict[str, Any], Any]], **attributes: str) -> float:
    """Sum of counter values (or histogram counts) over points carrying the attributes."""
    total = 0.0
    for found, point in points:
        if all(found.get(key) == value for key, value in attributes.items()):
            value = point.value if hasattr(point, "value") else point.count
            total += float(value)
    return total


async def test_operations_are_counted_and_timed_per_tenant_and_outcome(
    memory_stack: Stack,
) -> None:
    capture = telemetry_capture()
    first = await memory_stack.tenant(IsolationLevel.STANDARD)
    second = await memory_stack.tenant(IsolationLevel.STRICT)
    for name in ("a", "b", "c"):
        assert (await first.post("/Users", user_body(name))).status_code == 201
    assert (await first.get("/Users/missing")).status_code == 404
    assert (await second.post("/Users", user_body("a"))).status_code == 201

    count = capture.points("scim.operations")
    mine = {"tenant.id": first.tenant_id, "scim.resource_type": "User"}
    assert _total(count, **mine, **{"scim.operation": "create", "scim.outcome": "ok"}) == 3
    missing = {"scim.operation": "get", "scim.outcome": "client_error", "scim.error_type": "404"}
    assert _total(count, **mine, **missing) == 1
    # The other tenant's create is its own, and never counted as the first tenant's.
    assert _total(count, **{"tenant.id": second.tenant_id, "scim.operation": "create"}) == 1
    duration = capture.points("scim.operation.duration")
    timed = _total(duration, **mine, **{"scim.operation": "create"})
    assert timed == 3
    histogram = next(p for a, p in duration if a.get("tenant.id") == first.tenant_id)
    assert histogram.explicit_bounds[0] == 0.0005  # millisecond-fine buckets


async def test_an_unresolved_credential_is_counted_without_a_tenant(memory_stack: Stack) -> None:
    capture = telemetry_capture()
    scim = await memory_stack.tenant(IsolationLevel.STANDARD)
    before = _total(capture.points("scim.operations"), **{"tenant.id": "unresolved"})
    scim.api_key = "not-a-key"
    assert (await scim.get("/Users")).status_code == 401
    after = _total(capture.points("scim.operations"), **{"tenant.id": "unresolved"})
    assert after == before + 1


async def test_tenant_labels_can_be_switched_off() -> None:
    capture = telemetry_capture()
    settings = server_settings("memory").model_copy(update={"metrics_tenant_labels": False})
    async with running_stack(settings) as stack:
        scim = await stack.tenant(IsolationLevel.STANDARD)
        marker = unique_id()
        assert (await scim.post("/Users", user_body(marker))).status_code == 201
        await stack.app.usage_gauges.refresh()
        points = capture.points("scim.operations")
        assert not [a for a, _ in points if a.get("tenant.id") == scim.tenant_id]
        unlabelled = [a for a, _ in points if "tenant.id" not in a]
        assert {"scim.operation": "create", "scim.outcome": "ok"}.items() <= unlabelled[0].items()
        resources = [a for a, _ in capture.points("scim.resources") if "tenant.id" not in a]
        assert {"scim.resource_type": "User"} in resources


async def test_gauges_count_each_tenants_resources_and_limit_use(memory_stack: Stack) -> None:
    capture = telemetry_capture()
    administration = memory_stack.app.administration
    limited = unique_id()
    await administration.create_tenant(limited, "Limited", IsolationLevel.STRICT, {"User": 4})
    _, key = await administration.issue_api_key(limited)
    other = await memory_stack.tenant(IsolationLevel.STANDARD)
    scim = other.__class__(memory_stack, "path", limited, key)
    for name in ("one", "two", "three"):
        assert (await scim.post("/Users", user_body(name))).status_code == 201
    assert (await other.post("/Users", user_body("solo"))).status_code == 201

    await memory_stack.app.usage_gauges.refresh()
    counts = {
        (a["tenant.id"], a["scim.resource_type"]): p.value
        for a, p in capture.points("scim.resources")
        if "tenant.id" in a
    }
    assert counts[(limited, "User")] == 3
    assert counts[(other.tenant_id, "User")] == 1
    assert counts[(limited, "Group")] == 0
    utilisation = {
        (a["tenant.id"], a["scim.resource_type"]): p.value
        for a, p in capture.points("scim.limit.utilization")
        if "tenant.id" in a
    }
    assert utilisation[(limited, "User")] == 0.75
    assert (other.tenant_id, "User") not in utilisation  # no limit, no utilisation


async def test_tenant_cache_hits_and_misses_are_counted(memory_stack: Stack) -> None:
    capture = telemetry_capture()
    scim = await memory_stack.tenant(IsolationLevel.STANDARD)

    def lookups(result: str) -> float:
        return _total(capture.points("scim.tenant_cache.lookups"), result=result)

    hits, misses = lookups("hit"), lookups("miss")
    for _ in range(3):
        assert (await scim.get("/Users")).status_code == 200
    assert lookups("miss") >= misses + 1
    assert lookups("hit") >= hits + 2


def _tenant_labels(capture: Any) -> set[str]:
    return {a["tenant.id"] for a, _ in capture.points("scim.operations") if "tenant.id" in a}


async def test_strangers_cannot_add_tenant_labels(memory_stack: Stack) -> None:
    capture = telemetry_capture()
    scim = await memory_stack.tenant(IsolationLevel.STANDARD)
    unresolved = _total(capture.points("scim.operations"), **{"tenant.id": "unresolved"})
    invented = [unique_id() for _ in range(4)]
    wrong = (("authorization", "Bearer not-the-admin-token"),)
    async with grpc.aio.insecure_channel(memory_stack.grpc_target) as channel:
        admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
        resources = resources_pb2_grpc.ResourceServiceStub(channel)
        for tenant_id in invented:
            for call in (
                admin.GetTenant(admin_pb2.GetTenantRequest(tenant_id=tenant_id), metadata=wrong),
                admin.DeleteTenant(
                    admin_pb2.DeleteTenantRequest(tenant_id=tenant_id), metadata=wrong
                ),
                resources.ListResources(
                    resources_pb2.ListResourcesRequest(resource_type="Users"),
                    metadata=(*wrong, (TENANT_HINT_KEY, tenant_id)),
                ),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await call
                assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert (await scim.as_tenant_in_url(tenant_id).get("/Users")).status_code in {401, 403}

    assert not _tenant_labels(capture) & set(invented)
    after = _total(capture.points("scim.operations"), **{"tenant.id": "unresolved"})
    assert after == unresolved + 3 * len(invented) + len(invented)


async def test_admin_calls_label_only_tenants_that_exist(memory_stack: Stack) -> None:
    capture = telemetry_capture()
    scim = await memory_stack.tenant(IsolationLevel.STANDARD)
    invented = unique_id()
    async with grpc.aio.insecure_channel(memory_stack.grpc_target) as channel:
        admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await admin.GetTenant(admin_pb2.GetTenantRequest(tenant_id=invented), metadata=ADMIN)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        # Audit events outlive their tenant, so listing those of any id succeeds.
        listed = await admin.ListAuditEvents(
            admin_pb2.ListAuditEventsRequest(tenant_id=invented), metadata=ADMIN
        )
        assert not listed.events
        found = await admin.GetTenant(
            admin_pb2.GetTenantRequest(tenant_id=scim.tenant_id), metadata=ADMIN
        )
        assert found.tenant.tenant_id == scim.tenant_id

    assert invented not in _tenant_labels(capture)
    points = capture.points("scim.operations")
    ok = {"scim.operation": "get_tenant", "scim.outcome": "ok"}
    assert _total(points, **{"tenant.id": scim.tenant_id}, **ok) == 1
    listing = {"tenant.id": "unresolved", "scim.operation": "list_audit_events"}
    assert _total(points, **listing) >= 1


async def test_invented_http_methods_share_one_label(memory_stack: Stack) -> None:
    capture = telemetry_capture()
    scim = await memory_stack.tenant(IsolationLevel.STANDARD)
    url, headers = f"{scim.base_url}/Users", {"Authorization": f"Bearer {scim.api_key}"}
    for method in ("PROPFIND", "MKCOL"):
        response = await memory_stack.http.request(method, url, headers=headers)
        assert response.status_code == 405
    methods = {a["http.request.method"] for a, _ in capture.points("http.server.request.duration")}
    assert "_OTHER" in methods
    assert not methods & {"PROPFIND", "MKCOL"}
