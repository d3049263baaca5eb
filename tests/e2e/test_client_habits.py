"""Response habits real clients rely on, through HTTP: `Location` on every single-resource
answer, and Users filtered by their groups from the membership index."""

from __future__ import annotations

from e2e.stack import ScimClient, Stack
from helpers import user_body

from scimtenancy_server.domain.schema import GROUP_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def test_every_single_resource_answer_carries_its_location(stack: Stack) -> None:
    # RFC 7644 §3.4.1 and §3.5.1 show Location on GET and PUT answers; clients that follow
    # it to the resource (and compare it with meta.location) expect it on PATCH too.
    scim = await stack.tenant(IsolationLevel.STANDARD)
    created = await scim.post("/Users", user_body("loc"))
    path = f"/Users/{created.json()['id']}"
    where = f"{scim.base_url}{path}"
    title = {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title", "value": "x"}]}
    answers = [
        created,
        await scim.get(path),
        await scim.put(path, user_body("loc", title="y")),
        await scim.patch(path, title),
    ]
    assert [a.status_code for a in answers] == [201, 200, 200, 200]
    for answer in answers:
        assert answer.headers["location"] == where
        assert answer.json()["meta"]["location"] == where
        assert answer.headers["etag"] == answer.json()["meta"]["version"]


async def test_users_are_found_by_their_groups(stack: Stack) -> None:
    # RFC 7644 §3.4.2.2 filters on a User's groups (`groups.value eq`, `groups pr`), used to
    # list a group's people from the user side; answered from the membership index.
    scim = await stack.tenant(IsolationLevel.STRICT)
    other = await stack.tenant(IsolationLevel.STRICT)
    ann, bob, cid = [(await scim.post("/Users", user_body(n))).json()["id"] for n in "abc"]
    group = {"schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{"value": ann}]}
    staff = (await scim.post("/Groups", group)).json()["id"]
    group["members"] = [{"value": ann}, {"value": bob}]
    (await scim.post("/Groups", group)).raise_for_status()

    async def found(text: str, client: ScimClient = scim) -> list[str]:
        answer = await client.get("/Users", params={"filter": text})
        assert answer.status_code == 200, answer.text
        return sorted(u["id"] for u in answer.json()["Resources"])

    assert await found(f'groups.value eq "{staff}"') == [ann]
    assert await found(f'groups[value eq "{staff}"] or userName eq "c"') == sorted([ann, cid])
    assert await found("groups pr") == sorted([ann, bob])
    assert await found("not (groups pr)") == [cid]
    assert await found(f'groups.value eq "{staff}"', other) == []  # another tenant: nothing
    refused = await scim.get("/Users", params={"filter": 'groups.display eq "G"'})
    assert (refused.status_code, refused.json()["scimType"]) == (400, "invalidFilter")
