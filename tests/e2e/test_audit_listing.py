"""Reading the audit trail: pages, time ranges, one tenant at a time, and from the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import pytest
from e2e.stack import Stack
from e2e.test_admin_cli import admin as run_cli
from e2e.test_audit import ADMIN, admin_service, audit_events
from google.protobuf.timestamp_pb2 import Timestamp
from helpers import user_body

from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy.admin.v1 import admin_pb2_grpc
from scimtenancy_server.domain.tenant import IsolationLevel

Stub = admin_pb2_grpc.TenantAdminServiceStub


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[Stub]:
    async with admin_service(stack) as stub:
        yield stub


async def test_pages_and_time_ranges(stack: Stack, admin: Stub) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    for index in range(5):
        assert (await scim.post("/Users", user_body(f"user{index}"))).status_code == 201
    everything = await audit_events(admin, scim.tenant_id)
    assert len(everything) == 7  # the tenant's creation, its key, five users

    paged: list[pb.AuditEvent] = []
    token = ""
    while True:
        reply = await admin.ListAuditEvents(
            pb.ListAuditEventsRequest(tenant_id=scim.tenant_id, page_size=2, page_token=token),
            metadata=ADMIN,
        )
        assert len(reply.events) <= 2
        paged += reply.events
        token = reply.next_page_token
        if not token:
            break
    assert paged == everything

    times = [e.time.ToDatetime(tzinfo=UTC) for e in everything]
    assert times == sorted(times)
    start, end = everything[3].time, everything[6].time
    ranged = await audit_events(admin, scim.tenant_id, start_time=start, end_time=end)
    assert ranged == [e for e, t in zip(everything, times, strict=True) if times[3] <= t < times[6]]
    assert everything[3] in ranged  # the start is inclusive, the end exclusive
    assert everything[6] not in ranged
    after = Timestamp()
    after.FromDatetime(times[6] + timedelta(milliseconds=1))
    assert await audit_events(admin, scim.tenant_id, start_time=after) == []


async def test_a_tenant_reads_only_its_own_events(
    stack: Stack, admin: Stub, isolation: IsolationLevel
) -> None:
    mine, theirs = await stack.tenant(isolation), await stack.tenant(isolation)
    ids: dict[str, set[str]] = {mine.tenant_id: set(), theirs.tenant_id: set()}
    for scim in (mine, theirs, mine, theirs):
        created = (await scim.post("/Users", user_body(f"u{len(ids[scim.tenant_id])}"))).json()
        ids[scim.tenant_id].add(created["id"])
    for scim, other in ((mine, theirs), (theirs, mine)):
        events = await audit_events(admin, scim.tenant_id)
        assert {e.tenant_id for e in events} == {scim.tenant_id}
        assert {e.resource_id for e in events if e.operation == "create"} == ids[scim.tenant_id]
        # Another tenant's page token only says where to start, never whose events.
        foreign = (await audit_events(admin, other.tenant_id))[0].event_id
        paged = await audit_events(admin, scim.tenant_id, page_token=foreign)
        assert {e.tenant_id for e in paged} <= {scim.tenant_id}


async def test_the_cli_shows_a_tenants_events(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STRICT)
    user = (await scim.post("/Users", user_body("bjensen"))).json()
    assert (await scim.post("/Users", user_body("BJENSEN"))).status_code == 409

    code, out = await run_cli(stack, "audit", scim.tenant_id)
    assert code == 0, out
    for shown in (
        "tenant.create",
        "api_key.issue",
        user["id"],
        "success",
        "failure 409 uniqueness",
    ):
        assert shown in out
    assert scim.api_key not in out

    code, out = await run_cli(stack, "audit", scim.tenant_id, "--limit", "2")
    assert code == 0, out
    assert "api_key.issue" in out
    assert user["id"] not in out
    assert "more events follow" in out

    code, out = await run_cli(stack, "audit", scim.tenant_id, "--since", "2999-01-01T00:00:00Z")
    assert (code, user["id"] in out, "more events" in out) == (0, False, False)
    code, out = await run_cli(stack, "audit", scim.tenant_id, "--until", "2020-01-01T00:00:00")
    assert code == 2
    assert "time zone" in out
