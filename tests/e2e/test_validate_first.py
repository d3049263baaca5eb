"""A request that is invalid in itself gets its 400 even when the id it names does not exist;
404 is only for valid requests on missing ids. Many clients' error handling depends on the
scimType (RFC 7644 §3.12), and answering 404 first would let garbage requests probe which ids
exist."""

from __future__ import annotations

from typing import Any

import pytest
from e2e.stack import Stack
from helpers import user_body

from scimtenancy_server.domain.schema import GROUP_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MISSING = "00000000-0000-4000-8000-000000000000"


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


@pytest.mark.parametrize(
    ("endpoint", "body", "scim_type"),
    [
        ("Users", {"Operations": [{"op": "add", "path": "title", "value": "x"}]}, "invalidSyntax"),
        ("Users", patch({"op": "frobnicate", "path": "title"}), "invalidSyntax"),
        ("Users", patch({"op": "add", "path": "nickName.nope", "value": "x"}), "invalidPath"),
        ("Users", patch({"op": "add", "path": "noSuchAttribute", "value": "x"}), "invalidPath"),
        ("Users", patch({"op": "replace", "path": "meta", "value": {}}), "mutability"),
        ("Users", patch({"op": "replace", "path": "active", "value": "perhaps"}), "invalidValue"),
        ("Users", patch({"op": "add", "path": "emails", "value": [{"value": 7}]}), "invalidValue"),
        ("Groups", patch({"op": "add", "path": "members", "value": [{}]}), "invalidValue"),
        ("Groups", patch({"op": "replace", "path": 'members[value eq "x"].type'}), "invalidSyntax"),
    ],
)
async def test_invalid_patches_are_400_before_the_id_is_looked_up(
    stack: Stack, endpoint: str, body: dict[str, Any], scim_type: str
) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    refused = await scim.patch(f"/{endpoint}/{MISSING}", body)
    assert (refused.status_code, refused.json()["scimType"]) == (400, scim_type), refused.text


async def test_invalid_replacements_are_400_and_valid_requests_404(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    no_schemas = await scim.put(f"/Users/{MISSING}", {"userName": "x"})
    assert (no_schemas.status_code, no_schemas.json()["scimType"]) == (400, "invalidSyntax")
    wrong_type = await scim.put(f"/Users/{MISSING}", user_body("x", active="perhaps"))
    assert (wrong_type.status_code, wrong_type.json()["scimType"]) == (400, "invalidValue")
    # Valid requests on an id that does not exist: 404, with no scimType.
    valid = patch({"op": "replace", "path": "title", "value": "Boss"})
    assert (await scim.patch(f"/Users/{MISSING}", valid)).status_code == 404
    assert (await scim.put(f"/Users/{MISSING}", user_body("x"))).status_code == 404
    members = patch({"op": "add", "path": "members", "value": [{"value": MISSING}]})
    assert (await scim.patch(f"/Groups/{MISSING}", members)).status_code == 404
    group = {"schemas": [GROUP_SCHEMA], "displayName": "G"}
    assert (await scim.put(f"/Groups/{MISSING}", group)).status_code == 404
