"""The opt-in lenient compatibility profile over HTTP: each leniency named by the client habit
it serves, and a tenant of the default profile (strict) answering the same requests as
before."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from e2e.stack import ADMIN_TOKEN, ScimClient, Stack
from e2e.test_bad_input import assert_scim_error
from helpers import run_admin_cli, unique_id, user_body

from scimtenancy.admin.v1 import admin_pb2, admin_pb2_grpc
from scimtenancy_server.domain.schema import ENTERPRISE_USER_SCHEMA
from scimtenancy_server.domain.tenant import Compatibility, IsolationLevel

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ADMIN = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
# Fields of the client's own data model, beside known ones, where a body can hold them.
OWN_FIELDS: dict[str, Any] = {
    "legacyId": "42",
    "name": {"givenName": "Barbara", "middleInitial": "J"},
    ENTERPRISE_USER_SCHEMA: {"department": "Sales", "costCentre": "7"},
}
EMAILS = [
    {"value": "w@example.com", "type": "work"},
    {"value": "h@example.com", "type": "home"},
]


async def lenient_tenant(stack: Stack) -> ScimClient:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    admin = stack.app.administration
    await admin.update_tenant(scim.tenant_id, compatibility=Compatibility.LENIENT)
    return scim


def patch_op(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def assert_only_known_fields(body: dict[str, Any]) -> None:
    assert "legacyId" not in body
    assert body["name"] == {"givenName": "Barbara"}
    assert body[ENTERPRISE_USER_SCHEMA] == {"department": "Sales"}


async def test_lenient_drops_fields_of_the_clients_own_data_model(stack: Stack) -> None:
    """Clients written against lenient servers send fields of their own data model beside
    the schema's (a `legacyId`, a `middleInitial`, a `costCentre`) and expect them dropped."""
    scim = await lenient_tenant(stack)
    created = await scim.post("/Users", user_body("bjensen", **OWN_FIELDS))
    assert created.status_code == 201, created.text
    assert_only_known_fields(created.json())
    location = f"/Users/{created.json()['id']}"
    assert_only_known_fields((await scim.get(location)).json())

    replaced = await scim.put(location, user_body("bjensen", title="Boss", **OWN_FIELDS))
    assert replaced.status_code == 200, replaced.text
    assert_only_known_fields(replaced.json())
    value = {"legacyId": "43", "title": "Chief", "name.middleInitial": "K"}
    patched = await scim.patch(location, patch_op({"op": "replace", "value": value}))
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "Chief"
    assert_only_known_fields(patched.json())


async def test_a_strict_tenant_still_refuses_fields_no_schema_defines(stack: Stack) -> None:
    """The default profile: RFC 7644 §3.3 and §3.5 bodies hold attributes of the resource's
    schemas; another tenant's lenient profile changes nothing here, and nothing is written."""
    await lenient_tenant(stack)
    scim = await stack.tenant(IsolationLevel.STANDARD)
    refused = await scim.post("/Users", user_body("bjensen", **OWN_FIELDS))
    assert_scim_error(refused, 400, "invalidValue")
    assert (await scim.get("/Users")).json()["totalResults"] == 0

    location = f"/Users/{(await scim.post('/Users', user_body('bjensen'))).json()['id']}"
    refused = await scim.put(location, user_body("bjensen", **OWN_FIELDS))
    assert_scim_error(refused, 400, "invalidValue")
    value = {"legacyId": "43", "title": "Chief"}
    refused = await scim.patch(location, patch_op({"op": "replace", "value": value}))
    assert_scim_error(refused, 400, "invalidPath")
    current = (await scim.get(location)).json()
    assert "title" not in current
    assert current["meta"]["version"] == '"1"'


@pytest.mark.parametrize("compatibility", list(Compatibility))
async def test_operation_names_and_a_stray_id_are_ignored(
    stack: Stack, compatibility: Compatibility
) -> None:
    """Some clients give each PatchOp operation a `name`, and send an `id` of their own in
    POST and PUT bodies. Every profile ignores both, strict included: an operation's other
    keys are not read, and `id` is read-only (RFC 7643 §3.1, §2.2)."""
    scim = await stack.tenant(IsolationLevel.STANDARD)
    await stack.app.administration.update_tenant(scim.tenant_id, compatibility=compatibility)
    created = await scim.post("/Users", user_body("bjensen", id="client-chosen"))
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert user_id != "client-chosen"
    replaced = await scim.put(f"/Users/{user_id}", user_body("bjensen", id="other"))
    assert (replaced.status_code, replaced.json()["id"]) == (200, user_id)
    operation = {"op": "add", "name": "setTitle", "path": "title", "value": "Boss"}
    patched = await scim.patch(f"/Users/{user_id}", patch_op(operation))
    assert (patched.status_code, patched.json()["title"]) == (200, "Boss")


async def test_lenient_answers_a_value_filter_in_attributes_with_the_matching_values(
    stack: Stack,
) -> None:
    """Some clients ask for one kind of value, `attributes=emails[type eq "work"]`, as
    lenient servers allow; RFC 7644 §3.9 names attributes only."""
    scim = await lenient_tenant(stack)
    user_id = (await scim.post("/Users", user_body("bjensen", emails=EMAILS))).json()["id"]
    params = {"attributes": 'emails[type eq "work"]'}
    found = await scim.get(f"/Users/{user_id}", params=params)
    assert found.status_code == 200, found.text
    assert found.json()["emails"] == [EMAILS[0]]
    assert "userName" not in found.json()
    listed = await scim.get("/Users", params={**params, "filter": 'userName eq "bjensen"'})
    assert [r["emails"] for r in listed.json()["Resources"]] == [[EMAILS[0]]]

    malformed = await scim.get(f"/Users/{user_id}", params={"attributes": "emails[type eq"})
    assert_scim_error(malformed, 400, "invalidFilter")


async def test_a_strict_tenant_still_reads_a_value_filter_in_attributes_as_no_name(
    stack: Stack,
) -> None:
    """The default profile keeps RFC 7644 §3.9: an `attributes` entry naming no attribute is
    ignored, so the same request shows the attributes returned always and no emails."""
    await lenient_tenant(stack)
    scim = await stack.tenant(IsolationLevel.STANDARD)
    user_id = (await scim.post("/Users", user_body("bjensen", emails=EMAILS))).json()["id"]
    found = await scim.get(f"/Users/{user_id}", params={"attributes": 'emails[type eq "work"]'})
    assert found.status_code == 200, found.text
    assert "emails" not in found.json()
    assert found.json()["id"] == user_id


async def test_the_profile_over_the_admin_api(stack: Stack) -> None:
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
        tenant_id = unique_id()
        request = admin_pb2.CreateTenantRequest(
            tenant_id=tenant_id, compatibility=admin_pb2.COMPATIBILITY_LENIENT
        )
        created = await admin.CreateTenant(request, metadata=ADMIN)
        assert created.tenant.compatibility == admin_pb2.COMPATIBILITY_LENIENT
        renamed = await admin.UpdateTenant(
            admin_pb2.UpdateTenantRequest(tenant_id=tenant_id, display_name="Acme"),
            metadata=ADMIN,
        )
        assert renamed.tenant.compatibility == admin_pb2.COMPATIBILITY_LENIENT  # kept
        update = admin_pb2.UpdateTenantRequest(
            tenant_id=tenant_id, compatibility=admin_pb2.COMPATIBILITY_STRICT
        )
        updated = await admin.UpdateTenant(update, metadata=ADMIN)
        assert updated.tenant.compatibility == admin_pb2.COMPATIBILITY_STRICT
        plain = admin_pb2.CreateTenantRequest(tenant_id=unique_id())
        default = await admin.CreateTenant(plain, metadata=ADMIN)
        assert default.tenant.compatibility == admin_pb2.COMPATIBILITY_STRICT
        unknown = admin_pb2.UpdateTenantRequest(tenant_id=tenant_id)
        unknown.compatibility = 9  # type: ignore[assignment]  # proto3 enums are open
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await admin.UpdateTenant(unknown, metadata=ADMIN)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_the_profile_from_the_admin_cli(stack: Stack) -> None:
    tenant_id = unique_id("cli")
    target = stack.grpc_target
    code, out = await run_admin_cli(
        target, ADMIN_TOKEN, "create", tenant_id, "--compatibility", "lenient"
    )
    assert (code, "lenient" in out) == (0, True), out
    code, out = await run_admin_cli(
        target, ADMIN_TOKEN, "update", tenant_id, "--compatibility", "strict"
    )
    assert (code, "strict" in out, "lenient" in out) == (0, True, False), out
    code, out = await run_admin_cli(
        target, ADMIN_TOKEN, "update", tenant_id, "--compatibility", "loose"
    )
    assert code == 2, out
