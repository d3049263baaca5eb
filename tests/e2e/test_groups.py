"""Group membership: members resolve inside the tenant, deletes cascade, users show groups."""

from __future__ import annotations

import asyncio
from typing import Any

from e2e.stack import ScimClient, Stack
from helpers import user_body

from scimtenancy_server.domain.membership import Member
from scimtenancy_server.domain.schema import GROUP_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def group_body(name: str, *members: str) -> dict[str, object]:
    return {
        "schemas": [GROUP_SCHEMA],
        "displayName": name,
        "members": [{"value": m} for m in members],
    }


async def test_members_must_belong_to_the_tenant(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STRICT)
    other = await stack.tenant(IsolationLevel.STRICT)
    foreign = (await other.post("/Users", user_body("foreign"))).json()["id"]
    mine = (await scim.post("/Users", user_body("mine"))).json()["id"]
    refused = await scim.post("/Groups", group_body("G", mine, foreign))
    assert refused.status_code == 400
    assert refused.json()["scimType"] == "invalidValue"
    # The same answer as for an id that exists nowhere: nothing about the other tenant leaks.
    ghost = await scim.post("/Groups", group_body("G", mine, "no-such-id"))
    assert ghost.json()["detail"].replace("no-such-id", foreign) == refused.json()["detail"]
    assert (await scim.get("/Groups")).json()["totalResults"] == 0
    created = await scim.post("/Groups", group_body("G", mine))
    assert created.json()["members"][0]["type"] == "User"
    assert created.json()["members"][0]["$ref"] == f"{scim.base_url}/Users/{mine}"


async def test_users_show_their_groups_and_deletes_cascade(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    alice = (await scim.post("/Users", user_body("alice"))).json()["id"]
    bob = (await scim.post("/Users", user_body("bob"))).json()["id"]
    admins = (await scim.post("/Groups", group_body("Admins", alice, bob))).json()
    staff = (await scim.post("/Groups", group_body("Staff", alice, admins["id"]))).json()

    groups = (await scim.get(f"/Users/{alice}")).json()["groups"]
    assert sorted(g["display"] for g in groups) == ["Admins", "Staff"]
    assert {g["$ref"] for g in groups} == {
        f"{scim.base_url}/Groups/{admins['id']}",
        f"{scim.base_url}/Groups/{staff['id']}",
    }
    listed = (await scim.get("/Users", params={"filter": 'userName eq "alice"'})).json()
    assert len(listed["Resources"][0]["groups"]) == 2
    hidden = await scim.get(f"/Users/{alice}", params={"excludedAttributes": "groups"})
    assert "groups" not in hidden.json()

    assert (await scim.delete(f"/Users/{alice}")).status_code == 204
    after = (await scim.get(f"/Groups/{admins['id']}")).json()
    assert [m["value"] for m in after["members"]] == [bob]
    assert after["meta"]["version"] != admins["meta"]["version"]
    assert (await scim.delete(f"/Groups/{admins['id']}")).status_code == 204
    assert "members" not in (await scim.get(f"/Groups/{staff['id']}")).json()
    assert "groups" not in (await scim.get(f"/Users/{bob}")).json()


async def test_concurrent_conditional_writes_let_exactly_one_win(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    created = await scim.post("/Users", user_body("race"))
    path, etag = f"/Users/{created.json()['id']}", created.headers["etag"]

    async def rename(title: str) -> int:
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "title", "value": title}],
        }
        return (await scim.patch(path, body, headers={"If-Match": etag})).status_code

    statuses = await asyncio.gather(*(rename(f"t{i}") for i in range(8)))
    assert sorted(statuses) == [200] + [412] * 7
    final = (await scim.get(path)).json()
    assert final["meta"]["version"] != etag


def add_members(*ids: str) -> dict[str, object]:
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}],
    }


def rename(name: str) -> dict[str, object]:
    operation = {"op": "replace", "path": "displayName", "value": name}
    return {"schemas": [PATCH_OP], "Operations": [operation]}


async def test_membership_patches_answer_204_unless_asked_for_the_group(stack: Stack) -> None:
    # Entra ID and Okta send one membership PATCH per change and accept 204 (RFC 7644 §3.5.2).
    scim = await stack.tenant(IsolationLevel.STRICT)
    users = [(await scim.post("/Users", user_body(f"m{i}"))).json()["id"] for i in range(3)]
    group = (await scim.post("/Groups", group_body("Sales"))).json()
    path = f"/Groups/{group['id']}"

    added = await scim.patch(path, add_members(users[0]))
    assert (added.status_code, added.content) == (204, b"")
    assert added.headers["etag"] == '"2"'
    assert added.headers["location"] == f"{scim.base_url}{path}"
    assert "preference-applied" not in added.headers

    # RFC 7240: the client's preference wins either way and is echoed.
    shown = await scim.patch(
        path, add_members(users[1]), headers={"Prefer": "return=representation"}
    )
    assert shown.status_code == 200
    assert shown.headers["preference-applied"] == "return=representation"
    assert sorted(m["value"] for m in shown.json()["members"]) == sorted(users[:2])
    quiet = await scim.patch(path, rename("S"), headers={"Prefer": 'foo, return="minimal"'})
    assert (quiet.status_code, quiet.headers["preference-applied"]) == (204, "return=minimal")

    # `attributes` / `excludedAttributes` ask for the representation, projected (PATCH and PUT).
    projected = await scim.patch(
        path, add_members(users[2]), params={"excludedAttributes": "members"}
    )
    assert projected.status_code == 200
    assert "members" not in projected.json()
    assert projected.json()["displayName"] == "S"
    replaced = await scim.put(
        path, group_body("Sales", users[2]), params={"attributes": "displayName"}
    )
    assert replaced.status_code == 200
    assert replaced.headers["location"] == f"{scim.base_url}{path}"
    assert (replaced.json()["displayName"], "members" in replaced.json()) == ("Sales", False)
    members = (await scim.get(path)).json()["members"]
    assert [m["value"] for m in members] == [users[2]]  # PUT replaced the members

    # A PATCH of other attributes keeps answering 200 with the resource.
    renamed = await scim.patch(path, rename("T"))
    assert renamed.status_code == 200
    assert renamed.json()["members"] == members


async def test_member_filters_come_from_the_membership_index(stack: Stack) -> None:
    # Entra ID checks membership with filter=members[value eq "…"] (and Okta with members.value).
    scim = await stack.tenant(IsolationLevel.STANDARD)
    other = await stack.tenant(IsolationLevel.STANDARD)
    alice = (await scim.post("/Users", user_body("alice"))).json()["id"]
    bob = (await scim.post("/Users", user_body("bob"))).json()["id"]
    admins = (await scim.post("/Groups", group_body("Admins", alice, bob))).json()["id"]
    staff = (await scim.post("/Groups", group_body("Staff", bob))).json()["id"]

    async def found(client: ScimClient, text: str) -> list[str]:
        answer = await client.get("/Groups", params={"filter": text})
        assert answer.status_code == 200, answer.text
        return sorted(g["id"] for g in answer.json()["Resources"])

    assert await found(scim, f'members[value eq "{alice}"]') == [admins]
    assert await found(scim, f'members.value eq "{bob}"') == sorted([admins, staff])
    assert await found(scim, f'id eq "{staff}" and members[value eq "{alice}"]') == []
    assert await found(scim, f'not (members[value eq "{alice}"])') == [staff]
    assert await found(other, f'members[value eq "{bob}"]') == []  # another tenant sees nothing
    refused = await scim.get("/Groups", params={"filter": "members pr"})
    assert (refused.status_code, refused.json()["scimType"]) == (400, "invalidFilter")


async def test_a_large_group_renders_its_members_a_page_at_a_time(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STRICT)
    group = (await scim.post("/Groups", group_body("Everyone"))).json()["id"]
    tenant = await stack.app.administration.get_tenant(scim.tenant_id)
    ids = sorted(f"u{i:05d}" for i in range(1_234))  # more than one rendering page
    members = [Member(i, "User") for i in ids]
    await stack.app.repository.memberships.add(tenant, group, members)

    whole = (await scim.get(f"/Groups/{group}")).json()
    assert [m["value"] for m in whole["members"]] == ids
    assert whole["members"][7] == {
        "value": ids[7],
        "type": "User",
        "$ref": f"{scim.base_url}/Users/{ids[7]}",
    }
    assert whole["displayName"] == "Everyone"
    only = (await scim.get(f"/Groups/{group}", params={"attributes": "members"})).json()
    assert (len(only["members"]), "displayName" in only) == (1_234, False)
    values = (await scim.get(f"/Groups/{group}", params={"attributes": "members.value"})).json()
    assert values["members"][0] == {"value": ids[0]}
    listed = (await scim.get("/Groups", params={"filter": f'members[value eq "{ids[-1]}"]'})).json()
    assert [len(g["members"]) for g in listed["Resources"]] == [1_234]


async def test_members_show_their_current_names(stack: Stack) -> None:
    # RFC 7643 §4.2: members carry `display` and `type`; clients show and match on them.
    scim = await stack.tenant(IsolationLevel.STANDARD)
    ann = (await scim.post("/Users", user_body("ann", displayName="Ann"))).json()["id"]
    bob = (await scim.post("/Users", user_body("bob"))).json()["id"]
    team = (await scim.post("/Groups", group_body("Team", ann))).json()["id"]
    org = (await scim.post("/Groups", group_body("Org", bob, team))).json()["id"]

    def shown(group: dict[str, Any]) -> list[tuple[str, str, str | None]]:
        return sorted((m["value"], m["type"], m.get("display")) for m in group["members"])

    assert shown((await scim.get(f"/Groups/{org}")).json()) == sorted(
        [(bob, "User", "bob"), (team, "Group", "Team")]
    )
    new_name = {"op": "replace", "path": "userName", "value": "robert"}
    patched = await scim.patch(f"/Users/{bob}", {"schemas": [PATCH_OP], "Operations": [new_name]})
    assert patched.status_code == 200
    assert (await scim.put(f"/Groups/{team}", group_body("Team A", ann))).status_code == 200
    assert shown((await scim.get(f"/Groups/{org}")).json()) == sorted(
        [(bob, "User", "robert"), (team, "Group", "Team A")]
    )
    assert shown((await scim.get(f"/Groups/{team}")).json()) == [(ann, "User", "Ann")]
