"""Hostile and unlucky requests against the membership model (issue 11), through HTTP: a PATCH
that could wipe a group by mistake, URN-qualified projections of the computed attributes, and
member writes that fail or race a DELETE half-way (RFC 7644 §3.5.2: a PATCH is atomic)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from e2e.stack import ScimClient, Stack
from e2e.test_bad_input import assert_scim_error
from helpers import user_body

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.membership import Member
from scimtenancy_server.domain.schema import GROUP_SCHEMA, USER_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
AddMembers = Callable[[Tenant, str, Sequence[Member]], Awaitable[None]]


async def _users(scim: ScimClient, count: int) -> list[str]:
    return [(await scim.post("/Users", user_body(f"member{i}"))).json()["id"] for i in range(count)]


async def _group(scim: ScimClient, *members: str) -> str:
    body = {
        "schemas": [GROUP_SCHEMA],
        "displayName": "Staff",
        "members": [{"value": m} for m in members],
    }
    created = await scim.post("/Groups", body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _members(scim: ScimClient, group: str) -> set[str]:
    found = (await scim.get(f"/Groups/{group}", params={"attributes": "members"})).json()
    return {m["value"] for m in found.get("members", [])}


async def _patch(scim: ScimClient, group: str, *operations: dict[str, Any]) -> Any:
    return await scim.patch(f"/Groups/{group}", {"schemas": [PATCH_OP], "Operations": operations})


async def test_remove_with_one_member_object_removes_only_that_member(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    alice, bob = await _users(scim, 2)
    group = await _group(scim, alice, bob)
    # An object where Entra ID sends a list: read like `add` reads it, one member.
    answer = await _patch(
        scim, group, {"op": "remove", "path": "members", "value": {"value": alice}}
    )
    assert answer.status_code in (200, 204), answer.text
    assert await _members(scim, group) == {bob}


async def test_remove_with_a_bare_string_value_is_refused_and_keeps_the_members(
    stack: Stack,
) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    alice, bob = await _users(scim, 2)
    group = await _group(scim, alice, bob)
    before = (await scim.get(f"/Groups/{group}")).headers["etag"]
    refused = await _patch(scim, group, {"op": "remove", "path": "members", "value": alice})
    assert_scim_error(refused, 400, "invalidValue")
    assert len(refused.json()["detail"]) < 300
    assert await _members(scim, group) == {alice, bob}
    assert (await scim.get(f"/Groups/{group}")).headers["etag"] == before


@pytest.mark.parametrize(
    ("path", "attribute", "computed"),
    [
        ("/Groups/{group}", f"{GROUP_SCHEMA}:members", "members"),
        ("/Groups/{group}", f"{GROUP_SCHEMA}:members.value", "members"),
        ("/Users/{user}", f"{USER_SCHEMA}:groups", "groups"),
    ],
)
async def test_urn_qualified_attributes_show_computed_memberships(
    stack: Stack, path: str, attribute: str, computed: str
) -> None:
    # RFC 7644 §3.10: an attribute may be named by its fully qualified URN.
    scim = await stack.tenant(IsolationLevel.STANDARD)
    (user,) = await _users(scim, 1)
    group = await _group(scim, user)
    found = await scim.get(path.format(group=group, user=user), params={"attributes": attribute})
    assert found.status_code == 200, found.text
    values = [entry["value"] for entry in found.json().get(computed, [])]
    assert values == [group if computed == "groups" else user]


async def test_urn_qualified_attributes_show_members_in_lists(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    (user,) = await _users(scim, 1)
    group = await _group(scim, user)
    params = {"filter": f'id eq "{group}"', "attributes": f"{GROUP_SCHEMA}:members"}
    listed = (await scim.get("/Groups", params=params)).json()["Resources"]
    assert [m["value"] for m in listed[0].get("members", [])] == [user]


def _add_members(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, group: str, before: Callable[[], Awaitable[None]]
) -> None:
    """Runs `before` when the members of `group` are about to be written."""
    memberships = stack.app.repository.memberships
    original: AddMembers = memberships.add

    async def add(tenant: Tenant, group_id: str, members: Sequence[Member]) -> None:
        if group_id == group:
            await before()
        await original(tenant, group_id, members)

    monkeypatch.setattr(memberships, "add", add)


async def test_a_member_write_that_fails_half_way_changes_nothing(
    stack: Stack, isolation: IsolationLevel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database times out between taking out the old members and writing the new ones
    (as on FerretDB, or when the RPC deadline cancels the request there): the PATCH is 503,
    and the group holds either its old members under its old ETag or the new ones under a new
    ETag, never a mix of both."""
    scim = await stack.tenant(isolation)
    alice, bob, carol = await _users(scim, 3)
    group = await _group(scim, alice, bob)
    etag = (await scim.get(f"/Groups/{group}")).headers["etag"]

    timeouts = [ScimError.unavailable("the database timed out; retry")]

    async def time_out() -> None:
        if timeouts:  # once: the database answers again right after
            raise timeouts.pop()

    _add_members(stack, monkeypatch, group, time_out)
    replaced = await _patch(
        scim,
        group,
        {"op": "replace", "path": "members", "value": [{"value": carol}, {"value": alice}]},
    )
    assert_scim_error(replaced, 503)
    monkeypatch.undo()
    members = await _members(scim, group)
    unchanged = (await scim.get(f"/Groups/{group}")).headers["etag"] == etag
    assert (members, unchanged) in [({alice, bob}, True), ({alice, carol}, False)]


async def test_an_add_racing_the_groups_delete_leaves_no_membership(
    stack: Stack, isolation: IsolationLevel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DELETE of the group lands while a PATCH is writing a new member (without If-Match a
    DELETE does not wait for the group's writers): the member must not stay in a group that
    no longer exists, where `groups` filters and the 10,000-group bound would still count it."""
    scim = await stack.tenant(isolation)
    alice, bob = await _users(scim, 2)
    group = await _group(scim, alice)

    async def delete_group() -> None:
        assert (await scim.delete(f"/Groups/{group}")).status_code == 204

    _add_members(stack, monkeypatch, group, delete_group)
    added = await _patch(scim, group, {"op": "add", "path": "members", "value": [{"value": bob}]})
    assert_scim_error(added, 404)
    monkeypatch.undo()
    tenant = await stack.app.administration.get_tenant(scim.tenant_id)
    assert await stack.app.repository.memberships.groups_of(tenant, [alice, bob]) == {}
    assert (await scim.get(f"/Users/{bob}", params={"attributes": "groups"})).json().get(
        "groups"
    ) is None


async def test_a_user_delete_cut_short_leaves_no_member_behind_after_a_retry(
    stack: Stack, isolation: IsolationLevel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Taking a deleted user out of its groups fails part-way (a database timeout, or the RPC
    deadline: on FerretDB a user in 2,000 groups is cut after 10 s with most of them still
    listing it). The user is gone, so the identity provider's retry is answered 404; that
    retry must still leave no group listing the user."""
    scim = await stack.tenant(isolation)
    (user,) = await _users(scim, 1)
    groups = [await _group(scim, user) for _ in range(3)]
    memberships = stack.app.repository.memberships
    original = memberships.leave_everywhere
    timeouts = [ScimError.unavailable("the database timed out; retry")]

    async def leave_everywhere(tenant: Tenant, member: Member) -> list[str]:
        if member.value == user and timeouts:
            raise timeouts.pop()
        return await original(tenant, member)

    monkeypatch.setattr(memberships, "leave_everywhere", leave_everywhere)
    assert_scim_error(await scim.delete(f"/Users/{user}"), 503)
    monkeypatch.undo()
    assert (await scim.delete(f"/Users/{user}")).status_code in (204, 404)
    tenant = await stack.app.administration.get_tenant(scim.tenant_id)
    assert await memberships.groups_of(tenant, [user]) == {}
    assert [await _members(scim, group) for group in groups] == [set(), set(), set()]


async def test_a_delete_on_the_wrong_endpoint_leaves_the_memberships_alone(stack: Stack) -> None:
    """DELETE /Groups/<a user's id> is 404; it must not take that User out of its groups
    (memberships are found by member id, and a retried delete finishes an interrupted one)."""
    scim = await stack.tenant(IsolationLevel.STANDARD)
    user, other = await _users(scim, 2)
    inner = await _group(scim, other)
    group = await _group(scim, user, inner)
    assert (await scim.delete(f"/Groups/{user}")).status_code == 404
    assert (await scim.delete(f"/Users/{inner}")).status_code == 404
    assert await _members(scim, group) == {user, inner}


async def test_a_removal_by_filter_then_an_add_of_the_same_member_keeps_it(stack: Stack) -> None:
    scim = await stack.tenant(IsolationLevel.STANDARD)
    kept, gone = await _users(scim, 2)
    group = await _group(scim, kept, gone)
    answer = await _patch(
        scim,
        group,
        {"op": "remove", "path": 'members[type eq "User"]'},
        {"op": "add", "path": "members", "value": [{"value": kept}]},
    )
    assert answer.status_code == 204, answer.text
    assert await _members(scim, group) == {kept}  # as the two operations in order give
