"""Tenant B can neither see nor change tenant A's resources, by id, by filter, or by naming
A's tenant in the URL with B's credential, under both isolation levels."""

from __future__ import annotations

import pytest
from e2e.stack import STRATEGIES, Stack
from helpers import user_body

from scimtenancy_server.domain.tenant import IsolationLevel

PATCH = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "path": "title", "value": "pwned"}],
}


async def test_another_tenant_cannot_reach_resources(
    stack: Stack, isolation: IsolationLevel
) -> None:
    owner = await stack.tenant(isolation)
    intruder = await stack.tenant(isolation)
    created = (await owner.post("/Users", user_body("secret-user"))).json()
    path = f"/Users/{created['id']}"

    assert (await intruder.get(path)).status_code == 404
    assert (await intruder.get("/Users")).json()["totalResults"] == 0
    by_filter = await intruder.get("/Users", params={"filter": 'userName eq "secret-user"'})
    assert by_filter.json()["totalResults"] == 0
    assert (await intruder.patch(path, PATCH)).status_code == 404
    assert (await intruder.put(path, user_body("stolen"))).status_code == 404
    assert (await intruder.delete(path)).status_code == 404
    # The intruder may reuse the name in its own tenant without touching the owner's.
    assert (await intruder.post("/Users", user_body("secret-user"))).status_code == 201

    assert (await owner.get(path)).json() == created


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_naming_another_tenant_in_the_url_is_refused(
    stack: Stack, isolation: IsolationLevel, strategy: str
) -> None:
    owner = await stack.tenant(isolation, strategy)
    intruder = (await stack.tenant(isolation, strategy)).as_tenant_in_url(owner.tenant_id)
    created = (await owner.post("/Users", user_body("target"))).json()
    path = f"/Users/{created['id']}"
    responses = [
        await intruder.get(path),
        await intruder.get("/Users", params={"filter": 'userName eq "target"'}),
        await intruder.patch(path, PATCH),
        await intruder.put(path, user_body("stolen")),
        await intruder.delete(path),
        await intruder.post("/Users", user_body("planted")),
    ]
    assert [r.status_code for r in responses] == [403] * len(responses)
    assert all(
        r.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] for r in responses
    )
    # A tenant that does not exist gets the same answer: existence is not revealed.
    ghost = await intruder.as_tenant_in_url("no-such-tenant").get("/Users")
    assert (ghost.status_code, ghost.json()["detail"]) == (403, responses[0].json()["detail"])
    assert (await owner.get(path)).json() == created
    assert (await owner.get("/Users")).json()["totalResults"] == 1
