"""Helpers shared by the identity-provider replays."""

from __future__ import annotations

from typing import Any

import httpx
from e2e.stack import ScimClient

JsonObject = dict[str, Any]
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def patch_op(*operations: JsonObject) -> JsonObject:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def member_values(group: JsonObject) -> list[str]:
    return sorted(member["value"] for member in group.get("members") or [])


def assert_patched(response: httpx.Response) -> None:
    assert response.status_code in (200, 204), response.text


async def create(scim: ScimClient, endpoint: str, body: JsonObject) -> JsonObject:
    response = await scim.post(endpoint, body)
    assert response.status_code == 201, response.text
    created: JsonObject = response.json()
    return created
