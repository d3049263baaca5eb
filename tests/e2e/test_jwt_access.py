"""JWT bearer tokens through HTTP: the tenant and permissions come from the token, and /Me is
the User the token's subject names."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from e2e.stack import ScimClient, Stack, running_stack, server_settings
from helpers import user_body

from scimtenancy_common.settings import JwtIssuer
from scimtenancy_server.domain.tenant import IsolationLevel

ISSUER = "https://idp.example"
SECRET = "a-shared-secret-long-enough-for-hs256!"


@pytest.fixture
async def jwt_stack() -> AsyncIterator[Stack]:
    settings = server_settings("memory")
    settings.jwt_issuers = [
        JwtIssuer(issuer=ISSUER, algorithms=["HS256"], secret=SECRET, tenant_claim="tid")
    ]
    async with running_stack(settings) as stack:
        yield stack


def token_client(scim: ScimClient, **claims: Any) -> ScimClient:
    now = int(time.time())
    payload = {"iss": ISSUER, "iat": now, "exp": now + 300, "tid": scim.tenant_id, **claims}
    token = jwt.encode(payload, SECRET, algorithm="HS256")
    return ScimClient(scim.stack, scim.strategy, scim.tenant_id, token)


async def test_permissions_and_me_come_from_the_token(jwt_stack: Stack) -> None:
    admin = await jwt_stack.tenant(IsolationLevel.STANDARD)
    me = (await admin.post("/Users", user_body("ann", externalId="emp-42"))).json()
    reader = token_client(admin, sub="emp-42", scope="scim:read scim:list")

    assert (await reader.get("/Users")).json()["totalResults"] == 1
    refused = await reader.post("/Users", user_body("bob"))
    assert refused.status_code == 403
    assert "scim:create" in refused.json()["detail"]
    assert (await reader.delete(f"/Users/{me['id']}")).status_code == 403

    fetched = await reader.get("/Me")
    assert fetched.status_code == 200
    assert fetched.json()["id"] == me["id"]
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "x"}],
    }
    assert (await reader.patch("/Me", body)).status_code == 403

    writer = token_client(admin, sub="emp-42", scope="scim:read scim:update")
    patched = await writer.patch("/Me", body)
    assert patched.status_code == 200
    assert patched.json()["title"] == "x"
    stranger = token_client(admin, sub="nobody", scope="scim:read")
    assert (await stranger.get("/Me")).status_code == 404


async def test_a_token_cannot_reach_another_tenant(jwt_stack: Stack) -> None:
    owner = await jwt_stack.tenant(IsolationLevel.STANDARD)
    other = await jwt_stack.tenant(IsolationLevel.STANDARD)
    await owner.post("/Users", user_body("hidden"))
    outsider = token_client(other, sub="x")
    assert (await outsider.get("/Users")).json()["totalResults"] == 0
    aimed = outsider.as_tenant_in_url(owner.tenant_id)
    assert (await aimed.get("/Users")).status_code == 403
    expired = token_client(owner, sub="x", exp=int(time.time()) - 100)
    response = await expired.get("/Users")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_limits_can_come_from_the_token(jwt_stack: Stack) -> None:
    admin = await jwt_stack.tenant(IsolationLevel.STANDARD)
    limited = token_client(admin, sub="x", max_users=1)
    assert (await limited.post("/Users", user_body("first"))).status_code == 201
    refused = await limited.post("/Users", user_body("second"))
    assert refused.status_code == 403
    assert "max_users=1" in refused.json()["detail"]
