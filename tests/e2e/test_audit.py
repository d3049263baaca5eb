"""The audit trail over real sockets: each change through HTTP, /Bulk and the admin API is
one event with who made it, what it touched, the versions and how it ended."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from e2e.stack import ADMIN_TOKEN, ScimClient, Stack, running_stack, server_settings
from e2e.test_bulk import PATCH_OP, bulk, group, post
from e2e.test_jwt_access import ISSUER, SECRET, token_client
from google.protobuf import duration_pb2, timestamp_pb2
from helpers import unique_id, user_body

from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy.admin.v1 import admin_pb2_grpc
from scimtenancy_common.settings import JwtIssuer
from scimtenancy_server.domain.tenant import IsolationLevel
from scimtenancy_server.storage.audit_mongo import MongoAuditStore

ADMIN = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
SUCCESS, FAILURE = pb.AUDIT_OUTCOME_SUCCESS, pb.AUDIT_OUTCOME_FAILURE
# What stack.tenant() does through the admin service before a test starts.
SETUP = [("tenant.create", "Tenant"), ("api_key.issue", "ApiKey")]


@asynccontextmanager
async def admin_service(stack: Stack) -> AsyncIterator[admin_pb2_grpc.TenantAdminServiceStub]:
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        yield admin_pb2_grpc.TenantAdminServiceStub(channel)


@pytest.fixture
async def admin(stack: Stack) -> AsyncIterator[admin_pb2_grpc.TenantAdminServiceStub]:
    async with admin_service(stack) as stub:
        yield stub


async def audit_events(
    admin: admin_pb2_grpc.TenantAdminServiceStub, tenant_id: str, **request: Any
) -> list[pb.AuditEvent]:
    reply = await admin.ListAuditEvents(
        pb.ListAuditEventsRequest(tenant_id=tenant_id, **request), metadata=ADMIN
    )
    return list(reply.events)


def key_actor(scim: ScimClient) -> str:
    return f"key:{scim.api_key.split('_')[1]}"  # the secret is scimt_<key id>_<random>


def summary(event: pb.AuditEvent) -> tuple[Any, ...]:
    before = event.version_before if event.HasField("version_before") else None
    after = event.version_after if event.HasField("version_after") else None
    return (event.operation, event.resource_type, event.outcome, before, after)


async def test_each_change_is_one_completed_event(
    stack: Stack, admin: admin_pb2_grpc.TenantAdminServiceStub
) -> None:
    started = datetime.now(UTC).replace(microsecond=0)
    scim = await stack.tenant(IsolationLevel.STANDARD)
    user = (await scim.post("/Users", user_body("bjensen"))).json()
    path = f"/Users/{user['id']}"
    assert (await scim.put(path, user_body("bjensen", displayName="Babs"))).status_code == 200
    rename = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "nickName",
                                                      "value": "B"}]}  # fmt: skip
    assert (await scim.patch(path, rename)).status_code == 200
    assert (await scim.delete(path, headers={"If-Match": '"3"'})).status_code == 204

    events = await audit_events(admin, scim.tenant_id)
    assert [(e.operation, e.resource_type) for e in events[:2]] == SETUP
    assert [summary(e) for e in events[2:]] == [
        ("create", "User", SUCCESS, None, 1),
        ("replace", "User", SUCCESS, 1, 2),
        ("patch", "User", SUCCESS, 2, 3),
        ("delete", "User", SUCCESS, 3, None),
    ]
    for event in events[2:]:
        assert (event.tenant_id, event.actor, event.resource_id) == (
            scim.tenant_id,
            key_actor(scim),
            user["id"],
        )
        assert not event.bulk
        assert (event.error_status, event.error_type) == (0, "")
        assert started <= event.time.ToDatetime(tzinfo=UTC) <= datetime.now(UTC)
    assert len({e.event_id for e in events}) == len(events)


async def test_failures_are_recorded_with_their_outcome(
    stack: Stack, admin: admin_pb2_grpc.TenantAdminServiceStub
) -> None:
    scim = await stack.tenant(IsolationLevel.STRICT)
    user = (await scim.post("/Users", user_body("taken"))).json()
    assert (await scim.post("/Users", user_body("TAKEN"))).status_code == 409
    stale = {"If-Match": '"7"'}
    assert (
        await scim.put(f"/Users/{user['id']}", user_body("x"), headers=stale)
    ).status_code == 412
    assert (await scim.delete("/Users/missing")).status_code == 404
    bad_path = {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "emails[type"}]}
    assert (await scim.patch(f"/Users/{user['id']}", bad_path)).status_code == 400

    events = (await audit_events(admin, scim.tenant_id))[3:]
    assert [(e.operation, e.outcome, e.error_status, e.error_type) for e in events] == [
        ("create", FAILURE, 409, "uniqueness"),
        ("replace", FAILURE, 412, ""),
        ("delete", FAILURE, 404, ""),
        ("patch", FAILURE, 400, "invalidPath"),
    ]
    assert [e.resource_id for e in events[1:]] == [user["id"], "missing", user["id"]]
    assert not any(e.HasField("version_after") for e in events)


async def test_each_bulk_operation_is_one_event(
    stack: Stack, admin: admin_pb2_grpc.TenantAdminServiceStub
) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "nickName", "value": "A"}]}
    response = await scim.post(
        "/Bulk",
        bulk(
            post("/Users", "ann", user_body("ann")),
            {"method": "PATCH", "path": "/Users/bulkId:ann", "data": patch},
            post("/Groups", "lost", group("Lost", "bulkId:nobody")),
            post("/Groups", "a", group("A", "bulkId:b")),
            post("/Groups", "b", group("B", "bulkId:a")),
            {"method": "DELETE", "path": "/Users/bulkId:ann"},
        ),
    )
    assert response.status_code == 200
    ann = next(r for r in response.json()["Operations"] if r.get("bulkId") == "ann")
    ann_id = ann["location"].rsplit("/", 1)[1]

    events = (await audit_events(admin, scim.tenant_id))[2:]
    assert all(e.bulk and e.actor == key_actor(scim) for e in events)
    found = sorted((e.operation, e.resource_type, e.resource_id, e.outcome) for e in events)
    assert found == sorted(
        [
            ("create", "User", ann_id, SUCCESS),
            ("patch", "User", ann_id, SUCCESS),
            ("delete", "User", ann_id, SUCCESS),
            ("create", "Group", "", FAILURE),  # its member is no resource of this request
            ("create", "Group", "", FAILURE),  # a and b name each other
            ("create", "Group", "", FAILURE),
        ]
    )
    assert sorted(e.error_status for e in events if e.outcome == FAILURE) == [400, 409, 409]


async def test_admin_actions_are_recorded_without_secrets(
    stack: Stack, admin: admin_pb2_grpc.TenantAdminServiceStub
) -> None:
    tenant_id = unique_id()
    await admin.CreateTenant(pb.CreateTenantRequest(tenant_id=tenant_id), metadata=ADMIN)
    issued = await admin.IssueApiKey(pb.IssueApiKeyRequest(tenant_id=tenant_id), metadata=ADMIN)
    await admin.UpdateTenant(
        pb.UpdateTenantRequest(tenant_id=tenant_id, display_name="Renamed"), metadata=ADMIN
    )
    await admin.SuspendTenant(pb.SuspendTenantRequest(tenant_id=tenant_id), metadata=ADMIN)
    await admin.ActivateTenant(pb.ActivateTenantRequest(tenant_id=tenant_id), metadata=ADMIN)
    rotated = await admin.RotateApiKey(
        pb.RotateApiKeyRequest(
            tenant_id=tenant_id, key_id=issued.key_id, overlap=duration_pb2.Duration(seconds=60)
        ),
        metadata=ADMIN,
    )
    await admin.RevokeApiKey(
        pb.RevokeApiKeyRequest(tenant_id=tenant_id, key_id=issued.key_id), metadata=ADMIN
    )
    with pytest.raises(grpc.aio.AioRpcError):
        await admin.RevokeApiKey(
            pb.RevokeApiKeyRequest(tenant_id=tenant_id, key_id="nope"), metadata=ADMIN
        )
    await admin.DeleteTenant(pb.DeleteTenantRequest(tenant_id=tenant_id), metadata=ADMIN)

    # The audit outlives the tenant, and records who deleted it.
    events = await audit_events(admin, tenant_id)
    assert [(e.operation, e.resource_type, e.resource_id, e.outcome) for e in events] == [
        ("tenant.create", "Tenant", tenant_id, SUCCESS),
        ("api_key.issue", "ApiKey", issued.key_id, SUCCESS),
        ("tenant.update", "Tenant", tenant_id, SUCCESS),
        ("tenant.suspend", "Tenant", tenant_id, SUCCESS),
        ("tenant.activate", "Tenant", tenant_id, SUCCESS),
        ("api_key.rotate", "ApiKey", issued.key_id, SUCCESS),
        ("api_key.issue", "ApiKey", rotated.key_id, SUCCESS),
        ("api_key.revoke", "ApiKey", issued.key_id, SUCCESS),
        ("api_key.revoke", "ApiKey", "nope", FAILURE),
        ("tenant.delete", "Tenant", tenant_id, SUCCESS),
    ]
    assert {e.actor for e in events} == {"admin"}
    stored = await everything_stored(stack)
    for secret in (issued.api_key, rotated.api_key, ADMIN_TOKEN):
        assert secret not in str(events)
        assert secret not in stored


async def test_a_token_holder_is_named_by_the_tokens_subject() -> None:
    settings = server_settings("memory")
    settings.jwt_issuers = [
        JwtIssuer(issuer=ISSUER, algorithms=["HS256"], secret=SECRET, tenant_claim="tid")
    ]
    async with running_stack(settings) as stack, admin_service(stack) as admin:
        scim = token_client(await stack.tenant(IsolationLevel.STANDARD), sub="emp-42")
        assert (await scim.post("/Users", user_body("ann"))).status_code == 201
        [event] = (await audit_events(admin, scim.tenant_id))[2:]
        assert (event.operation, event.actor, event.outcome) == ("create", "jwt:emp-42", SUCCESS)
        assert scim.api_key not in await everything_stored(stack)  # the token itself


async def everything_stored(stack: Stack) -> str:
    """The audit store's whole content as text, whatever the adapter."""
    store = stack.app.audit.store
    if isinstance(store, MongoAuditStore):
        return str([d async for d in store.collection.find({})])
    assert store is not None
    return str(vars(store))


async def test_the_listing_refuses_bad_arguments(
    stack: Stack, admin: admin_pb2_grpc.TenantAdminServiceStub
) -> None:
    later, earlier = timestamp_pb2.Timestamp(seconds=2_000), timestamp_pb2.Timestamp(seconds=1_000)
    for request in [
        pb.ListAuditEventsRequest(tenant_id="Not Valid!"),
        pb.ListAuditEventsRequest(tenant_id="acme", page_size=-1),
        pb.ListAuditEventsRequest(tenant_id="acme", page_token="forged"),
        pb.ListAuditEventsRequest(tenant_id="acme", start_time=later, end_time=earlier),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await admin.ListAuditEvents(request, metadata=ADMIN)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as unauthenticated:
        await admin.ListAuditEvents(pb.ListAuditEventsRequest(tenant_id="acme"))
    assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED
