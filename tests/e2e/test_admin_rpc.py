"""The gRPC surface used by internal services: tenant admin and resources, called directly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import orjson
import pytest
from e2e.stack import ADMIN_TOKEN, Stack
from google.protobuf import duration_pb2
from google.rpc import status_pb2
from helpers import unique_id, user_body

from scimtenancy.admin.v1 import admin_pb2, admin_pb2_grpc
from scimtenancy.errors.v1 import errors_pb2
from scimtenancy.resources.v1 import resources_pb2, resources_pb2_grpc
from scimtenancy_server.domain.tenant import IsolationLevel

ADMIN = (("authorization", f"Bearer {ADMIN_TOKEN}"),)


@pytest.fixture
async def channel(stack: Stack) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(stack.grpc_target) as opened:
        yield opened


def scim_error(error: grpc.aio.AioRpcError) -> errors_pb2.ScimError:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            detail = errors_pb2.ScimError()
            status_pb2.Status.FromString(value).details[0].Unpack(detail)
            return detail
    raise AssertionError("no ScimError detail in the status")


async def test_tenant_lifecycle_over_grpc(channel: grpc.aio.Channel) -> None:
    admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
    resources = resources_pb2_grpc.ResourceServiceStub(channel)
    tenant_id = unique_id()
    created = await admin.CreateTenant(
        admin_pb2.CreateTenantRequest(
            tenant_id=tenant_id,
            display_name="Acme",
            isolation_level=admin_pb2.ISOLATION_LEVEL_STRICT,
        ),
        metadata=ADMIN,
    )
    assert created.tenant.status == admin_pb2.TENANT_STATUS_ACTIVE
    assert created.tenant.isolation_level == admin_pb2.ISOLATION_LEVEL_STRICT
    issued = await admin.IssueApiKey(
        admin_pb2.IssueApiKeyRequest(tenant_id=tenant_id), metadata=ADMIN
    )
    assert issued.key_id
    assert issued.key_id in issued.api_key
    as_tenant = (("authorization", f"Bearer {issued.api_key}"),)

    body = user_body("grpc-user")
    reply = await resources.CreateResource(
        resources_pb2.CreateResourceRequest(resource_type="User", json=orjson.dumps(body)),
        metadata=as_tenant,
    )
    assert reply.resource.resource_type == "User"
    assert orjson.loads(reply.resource.json)["userName"] == "grpc-user"
    assert "location" not in orjson.loads(reply.resource.json)["meta"]  # no base URL was sent

    await admin.SuspendTenant(admin_pb2.SuspendTenantRequest(tenant_id=tenant_id), metadata=ADMIN)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await resources.GetResource(
            resources_pb2.GetResourceRequest(resource_type="Users", id=reply.resource.id),
            metadata=as_tenant,
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert scim_error(refused.value).status == 403

    await admin.ActivateTenant(admin_pb2.ActivateTenantRequest(tenant_id=tenant_id), metadata=ADMIN)
    found = await resources.GetResource(
        resources_pb2.GetResourceRequest(resource_type="Users", id=reply.resource.id),
        metadata=as_tenant,
    )
    assert found.resource.version == reply.resource.version


async def test_admin_calls_need_the_admin_token(channel: grpc.aio.Channel, stack: Stack) -> None:
    admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
    scim = await stack.tenant(IsolationLevel.STANDARD)
    for metadata in [
        (),
        (("authorization", "Bearer wrong"),),
        (("authorization", f"Bearer {scim.api_key}"),),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await admin.ListTenants(admin_pb2.ListTenantsRequest(), metadata=metadata)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_admin_errors_carry_scim_details(channel: grpc.aio.Channel) -> None:
    admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as invalid:
        await admin.CreateTenant(
            admin_pb2.CreateTenantRequest(tenant_id="Not Valid!"), metadata=ADMIN
        )
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert scim_error(invalid.value).scim_type == "invalidValue"
    tenant_id = unique_id()
    await admin.CreateTenant(admin_pb2.CreateTenantRequest(tenant_id=tenant_id), metadata=ADMIN)
    with pytest.raises(grpc.aio.AioRpcError) as duplicate:
        await admin.CreateTenant(admin_pb2.CreateTenantRequest(tenant_id=tenant_id), metadata=ADMIN)
    assert scim_error(duplicate.value).status == 409
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await admin.IssueApiKey(admin_pb2.IssueApiKeyRequest(tenant_id="no-such"), metadata=ADMIN)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_list_tenants_pages(channel: grpc.aio.Channel) -> None:
    admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
    prefix = unique_id("page")
    for index in range(3):
        await admin.CreateTenant(
            admin_pb2.CreateTenantRequest(tenant_id=f"{prefix}-{index}"), metadata=ADMIN
        )
    seen: list[str] = []
    token = ""
    while True:
        page = await admin.ListTenants(
            admin_pb2.ListTenantsRequest(page_size=2, page_token=token), metadata=ADMIN
        )
        seen.extend(t.tenant_id for t in page.tenants)
        token = page.next_page_token
        if not token:
            break
    mine = [t for t in seen if t.startswith(prefix)]
    assert mine == [f"{prefix}-{i}" for i in range(3)]
    assert seen == sorted(seen)


async def test_resource_calls_without_credentials(channel: grpc.aio.Channel) -> None:
    resources = resources_pb2_grpc.ResourceServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await resources.ListResources(resources_pb2.ListResourcesRequest(resource_type="User"))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert scim_error(refused.value).status == 401


async def test_keys_rotate_with_an_overlap_and_revoke_at_once(
    channel: grpc.aio.Channel, stack: Stack
) -> None:
    admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
    resources = resources_pb2_grpc.ResourceServiceStub(channel)
    scim = await stack.tenant(IsolationLevel.STANDARD)
    listing = await admin.ListApiKeys(
        admin_pb2.ListApiKeysRequest(tenant_id=scim.tenant_id), metadata=ADMIN
    )
    (old,) = listing.keys
    request = resources_pb2.ListResourcesRequest(resource_type="Users")

    async def status(api_key: str) -> grpc.StatusCode:
        try:
            await resources.ListResources(
                request, metadata=(("authorization", f"Bearer {api_key}"),)
            )
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    assert await status(scim.api_key) == grpc.StatusCode.OK
    listed = await admin.ListApiKeys(
        admin_pb2.ListApiKeysRequest(tenant_id=scim.tenant_id), metadata=ADMIN
    )
    assert listed.keys[0].HasField("last_use_time")
    overlap = duration_pb2.Duration(seconds=3600)
    rotated = await admin.RotateApiKey(
        admin_pb2.RotateApiKeyRequest(tenant_id=scim.tenant_id, key_id=old.key_id, overlap=overlap),
        metadata=ADMIN,
    )
    # Both keys work during the overlap window.
    assert await status(scim.api_key) == grpc.StatusCode.OK
    assert await status(rotated.api_key) == grpc.StatusCode.OK
    immediate = await admin.RotateApiKey(
        admin_pb2.RotateApiKeyRequest(tenant_id=scim.tenant_id, key_id=rotated.key_id),
        metadata=ADMIN,
    )
    assert await status(rotated.api_key) == grpc.StatusCode.UNAUTHENTICATED  # no overlap
    await admin.RevokeApiKey(
        admin_pb2.RevokeApiKeyRequest(tenant_id=scim.tenant_id, key_id=old.key_id),
        metadata=ADMIN,
    )
    assert await status(scim.api_key) == grpc.StatusCode.UNAUTHENTICATED
    assert await status(immediate.api_key) == grpc.StatusCode.OK
    keys = await admin.ListApiKeys(
        admin_pb2.ListApiKeysRequest(tenant_id=scim.tenant_id), metadata=ADMIN
    )
    assert [k.revoked for k in keys.keys] == [True, False, False]
    assert all(immediate.api_key not in str(k) for k in keys.keys)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await admin.RevokeApiKey(
            admin_pb2.RevokeApiKeyRequest(tenant_id=scim.tenant_id, key_id="nope"),
            metadata=ADMIN,
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_deleting_a_tenant_purges_it(channel: grpc.aio.Channel, stack: Stack) -> None:
    admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
    doomed = await stack.tenant(IsolationLevel.STRICT)
    kept = await stack.tenant(IsolationLevel.STRICT)
    for scim in (doomed, kept):
        assert (await scim.post("/Users", user_body("someone"))).status_code == 201
    await admin.DeleteTenant(
        admin_pb2.DeleteTenantRequest(tenant_id=doomed.tenant_id), metadata=ADMIN
    )
    assert (await doomed.get("/Users")).status_code == 401
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await admin.GetTenant(
            admin_pb2.GetTenantRequest(tenant_id=doomed.tenant_id), metadata=ADMIN
        )
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    assert (await kept.get("/Users")).json()["totalResults"] == 1
    # The id can be used again, and starts empty.
    await admin.CreateTenant(
        admin_pb2.CreateTenantRequest(tenant_id=doomed.tenant_id), metadata=ADMIN
    )
    issued = await admin.IssueApiKey(
        admin_pb2.IssueApiKeyRequest(tenant_id=doomed.tenant_id), metadata=ADMIN
    )
    doomed.api_key = issued.api_key
    assert (await doomed.get("/Users")).json()["totalResults"] == 0


@pytest.mark.parametrize("level", [IsolationLevel.STRICT, IsolationLevel.STANDARD])
async def test_health_check_reports_the_tenant(
    channel: grpc.aio.Channel, stack: Stack, level: IsolationLevel
) -> None:
    admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
    tenant_id = unique_id()
    isolation = {
        IsolationLevel.STRICT: admin_pb2.ISOLATION_LEVEL_STRICT,
        IsolationLevel.STANDARD: admin_pb2.ISOLATION_LEVEL_STANDARD,
    }[level]
    await admin.CreateTenant(
        admin_pb2.CreateTenantRequest(
            tenant_id=tenant_id, isolation_level=isolation, limits=admin_pb2.Limits(max_users=5)
        ),
        metadata=ADMIN,
    )
    key = await admin.IssueApiKey(admin_pb2.IssueApiKeyRequest(tenant_id=tenant_id), metadata=ADMIN)
    as_tenant = (("authorization", f"Bearer {key.api_key}"),)
    resources = resources_pb2_grpc.ResourceServiceStub(channel)
    for name in ("a", "b"):
        await resources.CreateResource(
            resources_pb2.CreateResourceRequest(
                resource_type="User", json=orjson.dumps(user_body(name))
            ),
            metadata=as_tenant,
        )
    health = await resources.CheckHealth(resources_pb2.CheckHealthRequest(), metadata=as_tenant)
    assert (health.tenant_id, health.isolation_level) == (tenant_id, level.value)
    usage = {
        u.resource_type: (u.used, u.limit if u.HasField("limit") else None) for u in health.usage
    }
    assert usage == {"User": (2, 5), "Group": (0, None)}
    assert health.storage_round_trip.ToTimedelta().total_seconds() >= 0


async def test_update_tenant_permissions_limits_and_name(
    channel: grpc.aio.Channel, stack: Stack
) -> None:
    admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
    tenant_id = unique_id()
    created = await admin.CreateTenant(
        admin_pb2.CreateTenantRequest(tenant_id=tenant_id, permissions=["scim:read", "scim:list"]),
        metadata=ADMIN,
    )
    assert list(created.tenant.permissions) == ["scim:list", "scim:read"]
    key = await admin.IssueApiKey(admin_pb2.IssueApiKeyRequest(tenant_id=tenant_id), metadata=ADMIN)
    scim = await stack.tenant(IsolationLevel.STANDARD)
    scim.tenant_id, scim.api_key = tenant_id, key.api_key
    assert (await scim.post("/Users", user_body("a"))).status_code == 403
    assert (await scim.get("/Users")).status_code == 200

    everything = ["scim:create", "scim:read", "scim:update", "scim:delete", "scim:list"]
    await admin.UpdateTenant(
        admin_pb2.UpdateTenantRequest(
            tenant_id=tenant_id,
            permissions=everything,
            update_permissions=True,
            display_name="Renamed",
        ),
        metadata=ADMIN,
    )
    for name in ("a", "b"):
        assert (await scim.post("/Users", user_body(name))).status_code == 201
    with pytest.raises(grpc.aio.AioRpcError) as too_low:
        await admin.UpdateTenant(
            admin_pb2.UpdateTenantRequest(
                tenant_id=tenant_id, limits=admin_pb2.Limits(max_users=1)
            ),
            metadata=ADMIN,
        )
    assert too_low.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    updated = await admin.UpdateTenant(
        admin_pb2.UpdateTenantRequest(tenant_id=tenant_id, limits=admin_pb2.Limits(max_users=3)),
        metadata=ADMIN,
    )
    assert (updated.tenant.display_name, updated.tenant.limits.max_users) == ("Renamed", 3)
    assert (await scim.post("/Users", user_body("c"))).status_code == 201
    assert (await scim.post("/Users", user_body("d"))).status_code == 403  # 2 old + 1 new
    stats = await admin.GetServerStats(admin_pb2.GetServerStatsRequest(), metadata=ADMIN)
    assert stats.credential_cache_hits > 0
    assert stats.credential_cache_misses > 0
