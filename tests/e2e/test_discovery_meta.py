"""What `schemas` says, through real sockets: /Schemas serves the RFC 7643 §7 meta-schemas of
the discovery documents, and a resource's `schemas` lists the extensions its body uses, as
Microsoft Entra ID's requests need (RFC 7643 §3)."""

from __future__ import annotations

from typing import Any

import pytest
from e2e.stack import STRATEGIES, ScimClient, Stack
from e2e.test_bad_input import assert_scim_error
from e2e.test_tenant_extensions import register
from replay.replay_helpers import JsonObject, assert_patched, create, patch_op

from scimtenancy_server.domain.schema import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel

SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
META_SCHEMAS = (SPC, RESOURCE_TYPE, SCHEMA)
# A custom extension named as Entra's attribute mapping names one
# (learn.microsoft.com/entra/identity/app-provisioning/customize-application-attributes).
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
CUSTOM_SCHEMA = {
    "id": CUSTOM,
    "name": "CustomExtensionName",
    "description": "An application's own user attributes",
    "attributes": [{"name": "CustomAttribute", "type": "string", "multiValued": False}],
}
# RFC 7643 §3, §3.1: `schemas` and `meta` belong to no schema (the ResourceType and Schema
# meta-schemas declare `id` themselves; a ServiceProviderConfig has none).
COMMON = frozenset({"schemas", "meta"})
PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "reference": str,
    "binary": str,
    "dateTime": str,
    "boolean": bool,
    "integer": int,
    "decimal": (int, float),
}


async def fetch(scim: ScimClient, path: str) -> JsonObject:
    response = await scim.get(path)
    assert response.status_code == 200, response.text
    found: JsonObject = response.json()
    return found


def _conforms(kind: str, value: Any) -> bool:
    if kind in ("integer", "decimal") and isinstance(value, bool):
        return False
    return isinstance(value, PYTHON_TYPES[kind])


def violations(document: JsonObject, attributes: list[JsonObject], where: str) -> list[str]:
    """How a document strays from the attributes its schema declares (RFC 7643 §2, §7)."""
    declared = {a["name"]: a for a in attributes}
    found = [f"{where}.{key}: undeclared" for key in document if key not in declared]
    for name, attribute in declared.items():
        value = document.get(name)
        if value is None:
            found += [f"{where}.{name}: required"] if attribute.get("required") else []
            continue
        if attribute["multiValued"] != isinstance(value, list):
            found.append(f"{where}.{name}: multiValued is {attribute['multiValued']}")
            continue
        for item in value if isinstance(value, list) else [value]:
            if attribute["type"] != "complex":
                found += [] if _conforms(attribute["type"], item) else [f"{where}.{name}: type"]
            elif not isinstance(item, dict):
                found.append(f"{where}.{name}: not complex")
            else:
                found += violations(item, _members(attribute, attributes), f"{where}.{name}")
    return found


def _members(attribute: JsonObject, siblings: list[JsonObject]) -> list[JsonObject]:
    """The attributes an item of a complex attribute may hold. RFC 7643 §7: the items of a
    definition's `subAttributes` are definitions too, however deep the Schema meta-schema's
    own representation nests them."""
    return siblings if attribute["name"] == "subAttributes" else attribute["subAttributes"]


def own_attributes(document: JsonObject) -> JsonObject:
    return {k: v for k, v in document.items() if k not in COMMON}


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_schemas_serves_the_meta_schemas_in_the_list_and_by_id(
    stack: Stack, strategy: str
) -> None:
    """RFC 7643 §7, §8.7.2: the schemas of ServiceProviderConfig, ResourceType and Schema are
    served like any other, each at its own location under the tenant's base URL."""
    scim = await stack.tenant(IsolationLevel.STANDARD, strategy)

    listed = await fetch(scim, "/Schemas")

    by_id = {s["id"]: s for s in listed["Resources"]}
    assert listed["totalResults"] == len(listed["Resources"]) == len(by_id)
    assert {USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, *META_SCHEMAS} == set(by_id)
    for urn in META_SCHEMAS:
        served = by_id[urn]
        assert served["schemas"] == [SCHEMA]
        assert served["meta"] == {
            "resourceType": "Schema",
            "location": f"{scim.base_url}/Schemas/{urn}",
        }
        assert await fetch(scim, f"/Schemas/{urn}") == served
    assert (await fetch(scim, f"/Schemas/{SPC.upper()}"))["id"] == SPC


async def test_every_discovery_document_conforms_to_its_meta_schema(stack: Stack) -> None:
    """A client reading the meta-schemas learns every attribute the discovery documents hold
    (RFC 9865's `pagination` included) and finds every one they require."""
    scim = await stack.tenant(IsolationLevel.STANDARD)
    meta = {s["id"]: s["attributes"] for s in (await fetch(scim, "/Schemas"))["Resources"]}
    documents = [
        (SPC, await fetch(scim, "/ServiceProviderConfig")),
        *((RESOURCE_TYPE, t) for t in (await fetch(scim, "/ResourceTypes"))["Resources"]),
        *((SCHEMA, s) for s in (await fetch(scim, "/Schemas"))["Resources"]),
    ]

    for urn, document in documents:
        assert document["schemas"] == [urn]
        where = document.get("id", urn)
        assert violations(own_attributes(document), meta[urn], where) == []
    assert violations({"patch": {"supported": "yes"}}, meta[SPC], SPC) != []


async def test_the_meta_schemas_describe_documents_only(stack: Stack) -> None:
    """No resource type has a meta-schema: nothing can be stored, filtered or declared under
    one, and /ResourceTypes still lists Users and Groups alone."""
    scim = await stack.tenant(IsolationLevel.STANDARD)

    types = await fetch(scim, "/ResourceTypes")

    assert [t["id"] for t in types["Resources"]] == ["User", "Group"]
    stray = {"schemas": [USER_SCHEMA, SCHEMA], "userName": "meta", SCHEMA: {"name": "x"}}
    assert_scim_error(await scim.post("/Users", stray), 400, "invalidValue")
    refused = await scim.get("/Users", params={"filter": f'{SCHEMA}:name eq "x"'})
    assert_scim_error(refused, 400, "invalidFilter")
    assert (await fetch(scim, "/Users"))["totalResults"] == 0


async def test_entra_custom_extension_values_are_kept_though_schemas_omits_its_urn(
    stack: Stack,
) -> None:
    """Entra ID sends a custom extension's attributes without listing its URN in `schemas`
    (MicrosoftDocs/azure-docs#65648): the values are kept and the URN is added, rather than
    refusing every user Entra provisions (ServiceNow KB2668604 shows that failure)."""
    scim = await stack.tenant(IsolationLevel.STANDARD)
    await register(stack, scim.tenant_id, CUSTOM_SCHEMA)
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "userName": "Test_User_00aa00aa@testuser.com",
        "active": True,
        ENTERPRISE_USER_SCHEMA: {"employeeNumber": "701984", "department": "Sales"},
        CUSTOM: {"CustomAttribute": "701984"},
    }

    response = await scim.post("/Users", body)

    assert response.status_code == 201, response.text
    user = response.json()
    assert user["schemas"] == [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, CUSTOM]
    assert user[CUSTOM] == {"CustomAttribute": "701984"}
    assert await fetch(scim, f"/Users/{user['id']}") == user


async def test_entra_declared_but_unused_extension_is_not_listed(stack: Stack) -> None:
    """Entra's default mappings declare the enterprise extension on every user, with values or
    not; `schemas` in the answer names only the extensions that hold values."""
    scim = await stack.tenant(IsolationLevel.STANDARD)
    body = {"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "userName": "no.ext@contoso.com"}

    user = await create(scim, "/Users", body)

    assert user["schemas"] == [USER_SCHEMA]
    assert ENTERPRISE_USER_SCHEMA not in user


async def test_entra_patch_of_an_extension_attribute_adds_its_urn(stack: Stack) -> None:
    """Update User: Entra PATCHes `urn:...:enterprise:2.0:User:manager` onto a user that had no
    enterprise values; the user's `schemas` gains the extension, and loses it with them."""
    scim = await stack.tenant(IsolationLevel.STANDARD)
    manager = await create(scim, "/Users", {"schemas": [USER_SCHEMA], "userName": "boss"})
    user = await create(scim, "/Users", {"schemas": [USER_SCHEMA], "userName": "staff"})
    path = f"/Users/{user['id']}"
    manager_path = f"{ENTERPRISE_USER_SCHEMA}:manager"

    added = await scim.patch(
        path, patch_op({"op": "Add", "path": manager_path, "value": {"value": manager["id"]}})
    )

    assert_patched(added)
    found = await fetch(scim, path)
    assert found["schemas"] == [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]
    assert found[ENTERPRISE_USER_SCHEMA]["manager"]["value"] == manager["id"]
    assert_patched(await scim.patch(path, patch_op({"op": "Remove", "path": manager_path})))
    assert (await fetch(scim, path))["schemas"] == [USER_SCHEMA]


async def test_an_undeclared_unknown_extension_is_still_refused(stack: Stack) -> None:
    """Adding a URN is for extensions the tenant has: values under any other URN are refused
    (400 invalidValue) and nothing is written."""
    scim = await stack.tenant(IsolationLevel.STANDARD)
    body = {"schemas": [USER_SCHEMA], "userName": "stray", CUSTOM: {"CustomAttribute": "1"}}

    assert_scim_error(await scim.post("/Users", body), 400, "invalidValue")

    assert (await fetch(scim, "/Users"))["totalResults"] == 0
