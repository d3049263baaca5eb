"""Tenant-specific schema extensions: they validate that tenant's resources, appear in its
discovery endpoints, and do not exist for any other tenant."""

from __future__ import annotations

import grpc
import orjson
import pytest
from e2e.stack import ADMIN_TOKEN, Stack
from e2e.test_bad_input import assert_scim_error
from helpers import user_body

from scimtenancy.admin.v1 import admin_pb2, admin_pb2_grpc
from scimtenancy_server.domain.schema import USER_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel

BADGE = "urn:example:params:scim:schemas:extension:acme:1.0:User"
SCHEMA = {
    "id": BADGE,
    "name": "AcmeUser",
    "description": "Acme's badge data",
    "attributes": [
        {
            "name": "badgeNumber",
            "type": "string",
            "multiValued": False,
            "required": True,
            "caseExact": False,
            "mutability": "readWrite",
            "returned": "default",
            "uniqueness": "none",
        },
        {
            "name": "floor",
            "type": "integer",
            "multiValued": False,
            "required": False,
            "caseExact": False,
            "mutability": "readWrite",
            "returned": "default",
            "uniqueness": "none",
        },
    ],
}
ADMIN = (("authorization", f"Bearer {ADMIN_TOKEN}"),)


async def register(stack: Stack, tenant_id: str, schema: object) -> None:
    async with grpc.aio.insecure_channel(stack.grpc_target) as channel:
        admin = admin_pb2_grpc.TenantAdminServiceStub(channel)
        await admin.RegisterSchemaExtension(
            admin_pb2.RegisterSchemaExtensionRequest(
                tenant_id=tenant_id, resource_type="User", schema_json=orjson.dumps(schema)
            ),
            metadata=ADMIN,
        )


def badge_user(name: str, **badge: object) -> dict[str, object]:
    return user_body(name, schemas=[USER_SCHEMA, BADGE], **{BADGE: badge})


async def test_an_extension_belongs_to_one_tenant(stack: Stack) -> None:
    acme = await stack.tenant(IsolationLevel.STRICT)
    other = await stack.tenant(IsolationLevel.STANDARD)
    await register(stack, acme.tenant_id, SCHEMA)

    created = await acme.post("/Users", badge_user("ann", badgeNumber="B-7", floor=3))
    assert created.status_code == 201, created.text
    assert created.json()[BADGE] == {"badgeNumber": "B-7", "floor": 3}
    assert created.json()["schemas"] == [USER_SCHEMA, BADGE]
    found = await acme.get("/Users", params={"filter": f'{BADGE}:badgeNumber eq "b-7"'})
    assert found.json()["totalResults"] == 1
    assert_scim_error(
        await acme.post("/Users", badge_user("bob", floor="high")), 400, "invalidValue"
    )
    assert_scim_error(await acme.post("/Users", badge_user("cy", floor=2)), 400, "invalidValue")
    schemas = [s["id"] for s in (await acme.get("/Schemas")).json()["Resources"]]
    assert BADGE in schemas
    assert (await acme.get(f"/Schemas/{BADGE}")).json()["name"] == "AcmeUser"
    user_type = (await acme.get("/ResourceTypes/User")).json()
    assert {"schema": BADGE, "required": False} in user_type["schemaExtensions"]

    assert_scim_error(
        await other.post("/Users", badge_user("dee", badgeNumber="B-1")), 400, "invalidValue"
    )
    assert BADGE not in [s["id"] for s in (await other.get("/Schemas")).json()["Resources"]]
    assert (await other.get(f"/Schemas/{BADGE}")).status_code == 404
    refused = await other.get("/Users", params={"filter": f"{BADGE}:badgeNumber pr"})
    assert_scim_error(refused, 400, "invalidFilter")


@pytest.mark.parametrize(
    "schema",
    [
        {"name": "no id", "attributes": []},
        {"id": USER_SCHEMA, "attributes": SCHEMA["attributes"]},
        {"id": "urn:x:y", "attributes": [{"name": "a", "type": "float"}]},
    ],
    ids=["no-id", "core-urn", "bad-type"],
)
async def test_malformed_extensions_are_refused(stack: Stack, schema: object) -> None:
    acme = await stack.tenant(IsolationLevel.STANDARD)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await register(stack, acme.tenant_id, schema)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
