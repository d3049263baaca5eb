"""The membership port's contract (storage/memberships.py), for every adapter: set semantics,
order, tenant isolation, and what the repository answers from it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from contract.conftest import RepositoryUnderTest

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import parse_filter
from scimtenancy_server.domain.membership import Member
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import GROUP, USER
from scimtenancy_server.domain.tenant import Tenant
from scimtenancy_server.storage.memberships import MembershipStore
from scimtenancy_server.storage.repository import Vanished

T0 = datetime(2026, 1, 1, tzinfo=UTC)
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def users(*ids: str) -> list[Member]:
    return [Member(i, "User") for i in ids]


async def listed(store: MembershipStore, tenant: Tenant, group_id: str) -> list[Member]:
    return [m async for m in store.members(tenant, group_id)]


async def test_adding_twice_is_adding_once_and_members_come_in_id_order(
    store: RepositoryUnderTest,
) -> None:
    tenant, memberships = await store.tenant(), store.repository.memberships
    await memberships.add(tenant, "g", users("u3", "u1"))
    await memberships.add(tenant, "g", [*users("u1", "u2"), Member("g2", "Group")])
    assert await listed(memberships, tenant, "g") == [
        Member("g2", "Group"),
        *users("u1", "u2", "u3"),
    ]


async def test_removing_ignores_ids_that_are_not_members(store: RepositoryUnderTest) -> None:
    tenant, memberships = await store.tenant(), store.repository.memberships
    await memberships.add(tenant, "g", users("u1", "u2"))
    await memberships.remove(tenant, "g", ["u1", "nobody"])
    await memberships.remove(tenant, "other-group", ["u2"])
    assert await listed(memberships, tenant, "g") == users("u2")


async def test_groups_of_names_each_members_groups_sorted(store: RepositoryUnderTest) -> None:
    tenant, memberships = await store.tenant(), store.repository.memberships
    await memberships.add(tenant, "g2", users("u1", "u2"))
    await memberships.add(tenant, "g1", users("u1"))
    assert await memberships.groups_of(tenant, ["u1", "u2", "u3"]) == {
        "u1": ["g1", "g2"],
        "u2": ["g2"],
    }
    assert await memberships.groups_of(tenant, []) == {}


async def test_clearing_a_group_leaves_the_members_other_groups(
    store: RepositoryUnderTest,
) -> None:
    tenant, memberships = await store.tenant(), store.repository.memberships
    await memberships.add(tenant, "g1", users("u1"))
    await memberships.add(tenant, "g2", users("u1"))
    await memberships.clear(tenant, "g1")
    assert await listed(memberships, tenant, "g1") == []
    assert await memberships.groups_of(tenant, ["u1"]) == {"u1": ["g2"]}


async def test_memberships_stay_in_their_tenant(store: RepositoryUnderTest) -> None:
    tenant, other = await store.tenant(), await store.tenant()
    memberships = store.repository.memberships
    await memberships.add(tenant, "g", users("u1"))
    await memberships.add(other, "g", users("u2"))
    await memberships.remove(other, "g", ["u1"])
    await memberships.clear(other, "g")
    assert await listed(memberships, tenant, "g") == users("u1")
    assert await memberships.groups_of(other, ["u1"]) == {}
    await memberships.purge(tenant)
    assert await listed(memberships, tenant, "g") == []


async def test_a_large_group_reads_back_whole(store: RepositoryUnderTest) -> None:
    tenant, memberships = await store.tenant(), store.repository.memberships
    ids = [f"u{i:05d}" for i in range(2_500)]  # more than one write and read batch
    await memberships.add(tenant, "g", users(*ids))
    await memberships.add(tenant, "g", users(*ids[:1_200]))
    assert [m.value for m in await listed(memberships, tenant, "g")] == ids
    await memberships.remove(tenant, "g", ids[1:])
    assert await listed(memberships, tenant, "g") == users(ids[0])


async def test_concurrent_adds_to_one_group_are_all_kept(store: RepositoryUnderTest) -> None:
    tenant, memberships = await store.tenant(), store.repository.memberships
    ids = [f"u{i:02d}" for i in range(20)]
    await asyncio.gather(*(memberships.add(tenant, "g", users(i, "shared")) for i in ids))
    assert {m.value for m in await listed(memberships, tenant, "g")} == {*ids, "shared"}


def group(resource_id: str) -> StoredResource:
    attributes = {"schemas": [GROUP_SCHEMA], "displayName": resource_id}
    return StoredResource("Group", resource_id, 1, T0, T0, attributes)


async def test_filters_on_members_are_answered_from_the_index(store: RepositoryUnderTest) -> None:
    tenant, other = await store.tenant(), await store.tenant()
    repo = store.repository
    for owner in (tenant, other):
        for group_id in ("g1", "g2", "g3"):
            await repo.insert(owner, group(group_id), GROUP)
    await repo.memberships.add(tenant, "g1", users("u1", "u2"))
    await repo.memberships.add(tenant, "g2", users("u2"))
    await repo.memberships.add(other, "g3", users("u1"))

    async def ids(owner: Tenant, text: str) -> list[str]:
        page = await repo.list(owner, GROUP, parse_filter(text), 0, 10)
        return [g.id for g in page.resources]

    assert await ids(tenant, 'members[value eq "u1"]') == ["g1"]
    assert await ids(tenant, 'members.value eq "u2"') == ["g1", "g2"]
    assert await ids(tenant, 'members[value eq "u2"] and not (members.value eq "u1")') == ["g2"]
    assert await ids(tenant, 'displayName eq "g3" or members[value eq "u1"]') == ["g1", "g3"]
    assert await ids(tenant, 'members[value eq "nobody"]') == []
    assert await ids(other, 'members[value eq "u1"]') == ["g3"]
    with pytest.raises(ScimError) as refused:
        await ids(tenant, "members pr")
    assert (refused.value.status, refused.value.scim_type) == (400, "invalidFilter")


async def test_only_the_writer_holding_the_version_enters_its_along(
    store: RepositoryUnderTest,
) -> None:
    tenant, repo = await store.tenant(), store.repository
    await repo.insert(tenant, group("g"), GROUP)
    ran: list[int] = []

    async def attempt(n: int) -> bool:
        @asynccontextmanager
        async def along() -> AsyncIterator[None]:
            ran.append(n)
            yield

        revised = group("g").revised({"schemas": [GROUP_SCHEMA], "displayName": f"{n}"}, T0)
        return await repo.replace(tenant, GROUP, revised, 1, along)

    outcomes = await asyncio.gather(*(attempt(n) for n in range(8)))
    assert outcomes.count(True) == 1
    assert ran == [outcomes.index(True)]
    stored = await repo.get(tenant, GROUP, "g")
    assert stored is not None
    assert stored.attributes["displayName"] == str(ran[0])


async def test_renaming_a_member_renames_it_in_every_group(store: RepositoryUnderTest) -> None:
    tenant, other = await store.tenant(), await store.tenant()
    memberships = store.repository.memberships
    for group_id in ("g1", "g2"):
        await memberships.add(tenant, group_id, [Member("u1", "User", "Ann"), Member("u2", "User")])
    await memberships.add(other, "g1", [Member("u1", "User", "Ann")])
    await memberships.rename(tenant, "u1", "Ann B.")
    for group_id in ("g1", "g2"):
        assert await listed(memberships, tenant, group_id) == [
            Member("u1", "User", "Ann B."),
            Member("u2", "User"),
        ]
    assert await listed(memberships, other, "g1") == [Member("u1", "User", "Ann")]
    await memberships.rename(tenant, "u1", None)
    assert (await listed(memberships, tenant, "g1"))[0] == Member("u1", "User")


def person(resource_id: str) -> StoredResource:
    attributes = {"schemas": [USER_SCHEMA], "userName": resource_id}
    return StoredResource("User", resource_id, 1, T0, T0, attributes)


async def test_filters_on_a_users_groups_are_answered_from_the_index(
    store: RepositoryUnderTest,
) -> None:
    tenant, other = await store.tenant(), await store.tenant()
    repo = store.repository
    for owner in (tenant, other):
        for user_id in ("u1", "u2", "u3"):
            await repo.insert(owner, person(user_id), USER)
    await repo.memberships.add(tenant, "g1", users("u1", "u2"))
    await repo.memberships.add(tenant, "g2", [*users("u2"), Member("g1", "Group")])
    await repo.memberships.add(other, "g1", users("u3"))

    async def ids(owner: Tenant, text: str, max_scan: int = 10_000) -> list[str]:
        page = await repo.list(owner, USER, parse_filter(text), 0, 10, max_scan=max_scan)
        return [u.id for u in page.resources]

    assert await ids(tenant, 'groups[value eq "g1"]') == ["u1", "u2"]
    assert await ids(tenant, 'groups.value eq "g2" and userName eq "u2"') == ["u2"]
    assert await ids(tenant, "groups pr") == ["u1", "u2"]
    assert await ids(tenant, "not (groups pr)") == ["u3"]
    assert await ids(other, "groups pr") == ["u3"]
    for text, max_scan in (('groups.display eq "x"', 10_000), ("groups pr", 3)):
        with pytest.raises(ScimError) as refused:
            await ids(tenant, text, max_scan)
        assert refused.value.status == 400
    assert refused.value.scim_type == "tooMany"


async def test_a_write_that_finds_its_resource_gone_tells_along_and_answers_false(
    store: RepositoryUnderTest,
) -> None:
    tenant, repo = await store.tenant(), store.repository
    await repo.insert(tenant, group("g"), GROUP)
    seen: list[type[BaseException]] = []

    @asynccontextmanager
    async def along() -> AsyncIterator[None]:
        assert await repo.delete(tenant, GROUP, "g", None)  # deleted while being written
        try:
            yield
        except BaseException as error:
            seen.append(type(error))
            raise

    assert not await repo.replace(tenant, GROUP, group("g").revised({}, T0), 1, along)
    assert seen == [Vanished]
    assert await repo.get(tenant, GROUP, "g") is None


async def test_held_reads_named_members_and_leaving_everywhere_empties_them(
    store: RepositoryUnderTest,
) -> None:
    tenant, other = await store.tenant(), await store.tenant()
    memberships = store.repository.memberships
    for group_id in ("g1", "g2"):
        await memberships.add(tenant, group_id, [Member("u1", "User", "Ann"), *users("u2")])
    await memberships.add(other, "g1", users("u1"))
    held = await memberships.held(tenant, "g1", ["u1", "nobody"])
    assert held == [Member("u1", "User", "Ann")]
    assert await memberships.leave_everywhere(tenant, Member("u1", "Group")) == []  # not as a Group
    assert await memberships.leave_everywhere(tenant, Member("u1", "User")) == ["g1", "g2"]
    assert await memberships.groups_of(tenant, ["u1", "u2"]) == {"u2": ["g1", "g2"]}
    assert await memberships.groups_of(other, ["u1"]) == {"u1": ["g1"]}
