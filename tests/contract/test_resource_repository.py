"""The resource repository contract: in memory, MongoDB strict and MongoDB standard."""

from __future__ import annotations

import asyncio
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from contract.conftest import RepositoryUnderTest

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import parse_filter
from scimtenancy_server.domain.filter_eval import matches
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import (
    ENTERPRISE_USER_SCHEMA,
    GROUP,
    GROUP_SCHEMA,
    USER,
    USER_SCHEMA,
)
from scimtenancy_server.domain.sorting import resolve_sort, sort_resources

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def user(resource_id: str, user_name: str, minutes: int = 0, **attrs: Any) -> StoredResource:
    when = T0 + timedelta(minutes=minutes)
    attributes = {"schemas": [USER_SCHEMA], "userName": user_name, **attrs}
    return StoredResource("User", resource_id, 1, when, when, attributes)


async def test_insert_then_get_returns_the_same_resource(store: RepositoryUnderTest) -> None:
    tenant = await store.tenant()
    stored = user("u1", "bjensen", name={"givenName": "Barbara"}, active=True, logins=3)
    await store.repository.insert(tenant, stored, USER)
    assert await store.repository.get(tenant, USER, "u1") == stored
    assert await store.repository.get(tenant, USER, "missing") is None


async def test_keys_with_dots_and_dollars_round_trip(store: RepositoryUnderTest) -> None:
    tenant = await store.tenant()
    awkward: dict[str, Any] = {
        ENTERPRISE_USER_SCHEMA: {"manager": {"value": "m1", "$ref": "../Users/m1"}},
        "x.y%z": {"$weird": 1},
    }
    stored = user("u1", "bjensen", **awkward)
    await store.repository.insert(tenant, stored, USER)
    assert await store.repository.get(tenant, USER, "u1") == stored


async def test_user_name_is_unique_per_tenant_ignoring_case(store: RepositoryUnderTest) -> None:
    tenant, other = await store.tenant(), await store.tenant()
    await store.repository.insert(tenant, user("u1", "BJensen"), USER)
    with pytest.raises(ScimError) as raised:
        await store.repository.insert(tenant, user("u2", "bjensen"), USER)
    assert (raised.value.status, raised.value.scim_type) == (409, "uniqueness")
    assert await store.repository.get(tenant, USER, "u2") is None
    await store.repository.insert(other, user("u2", "bjensen"), USER)  # another tenant: fine


async def test_replace_needs_the_current_version(store: RepositoryUnderTest) -> None:
    tenant = await store.tenant()
    original = user("u1", "bjensen")
    await store.repository.insert(tenant, original, USER)
    updated = original.revised({**original.attributes, "title": "Boss"}, T0)
    assert await store.repository.replace(tenant, USER, updated, expected_version=1)
    stale = original.revised({**original.attributes, "title": "Lost"}, T0)
    assert not await store.repository.replace(tenant, USER, stale, expected_version=1)
    assert await store.repository.get(tenant, USER, "u1") == updated
    ghost = replace(updated, id="nobody")
    assert not await store.repository.replace(tenant, USER, ghost, expected_version=2)


async def test_replace_to_a_taken_user_name_changes_nothing(store: RepositoryUnderTest) -> None:
    tenant = await store.tenant()
    await store.repository.insert(tenant, user("u1", "alice"), USER)
    bob = user("u2", "bob")
    await store.repository.insert(tenant, bob, USER)
    clash = bob.revised({**bob.attributes, "userName": "ALICE"}, T0)
    with pytest.raises(ScimError) as raised:
        await store.repository.replace(tenant, USER, clash, expected_version=1)
    assert raised.value.scim_type == "uniqueness"
    assert await store.repository.get(tenant, USER, "u2") == bob
    # The old name is still claimed by bob, the new one still by alice.
    with pytest.raises(ScimError):
        await store.repository.insert(tenant, user("u3", "bob"), USER)


async def test_delete_honours_the_expected_version(store: RepositoryUnderTest) -> None:
    tenant = await store.tenant()
    await store.repository.insert(tenant, user("u1", "bjensen"), USER)
    assert not await store.repository.delete(tenant, USER, "u1", expected_version=7)
    assert await store.repository.delete(tenant, USER, "u1", expected_version=1)
    assert not await store.repository.delete(tenant, USER, "u1", expected_version=None)
    assert await store.repository.get(tenant, USER, "u1") is None
    # The user name is free again.
    await store.repository.insert(tenant, user("u2", "bjensen"), USER)


async def test_another_tenant_cannot_read_or_change_resources(store: RepositoryUnderTest) -> None:
    owner, intruder = await store.tenant(), await store.tenant()
    original = user("u1", "bjensen")
    await store.repository.insert(owner, original, USER)
    repo = store.repository
    assert await repo.get(intruder, USER, "u1") is None
    assert (await repo.list(intruder, USER, None, 0, 10)).total == 0
    where = parse_filter('userName eq "bjensen"')
    assert (await repo.list(intruder, USER, where, 0, 10)).resources == []
    hijack = original.revised({**original.attributes, "title": "pwned"}, T0)
    assert not await repo.replace(intruder, USER, hijack, expected_version=1)
    assert not await repo.delete(intruder, USER, "u1", expected_version=None)
    assert await repo.get(owner, USER, "u1") == original


async def test_resource_types_are_kept_apart(store: RepositoryUnderTest) -> None:
    tenant = await store.tenant()
    await store.repository.insert(tenant, user("same-id", "bjensen"), USER)
    assert await store.repository.get(tenant, GROUP, "same-id") is None
    assert (await store.repository.list(tenant, GROUP, None, 0, 10)).total == 0


async def test_list_pages_in_id_order_with_a_total(store: RepositoryUnderTest) -> None:
    tenant = await store.tenant()
    for index in (3, 1, 4, 0, 2):
        await store.repository.insert(tenant, user(f"u{index}", f"user{index}"), USER)
    page = await store.repository.list(tenant, USER, None, 1, 2)
    assert page.total == 5
    assert [r.id for r in page.resources] == ["u1", "u2"]
    assert (await store.repository.list(tenant, USER, None, 5, 10)).resources == []
    empty = await store.repository.list(tenant, USER, None, 0, 0)
    assert (empty.total, empty.resources) == (5, [])


PEOPLE = [
    user(
        "a",
        "BJensen",
        0,
        title="Tour Guide",
        active=True,
        name={"givenName": "Barbara", "familyName": "Jensen"},
        emails=[
            {"type": "work", "value": "bjensen@Example.com"},
            {"type": "home", "value": "babs@jensen.org"},
        ],
        **{ENTERPRISE_USER_SCHEMA: {"employeeNumber": "701984", "costCenter": "C3"}},
    ),
    user(
        "b",
        "jsmith",
        5,
        title="Manager",
        active=False,
        emails=[{"type": "home", "value": "john@example.com"}],
        **{ENTERPRISE_USER_SCHEMA: {"costCenter": "c10"}},
    ),
    user(
        "c",
        "a.b*c",
        10,
        displayName="Dot Star",
        active=True,
        **{ENTERPRISE_USER_SCHEMA: {"costCenter": "A0", "employeeNumber": "3"}},
    ),
    user("d", "zed", 15, title="", emails=[]),
]

FILTERS = [
    'userName eq "bjensen"',
    'userName eq "BJENSEN"',
    'userName ne "bjensen"',
    'userName co "a.b"',
    'userName co ".*"',
    'userName sw "J"',
    'userName ew "SMITH"',
    'userName gt "c"',
    'userName le "jsmith"',
    "title pr",
    "not (title pr)",
    'title eq "tour guide"',
    "active eq true",
    "active eq false",
    f'{ENTERPRISE_USER_SCHEMA}:costCenter co "c"',
    f'{ENTERPRISE_USER_SCHEMA}:employeeNumber eq "3"',
    f"{ENTERPRISE_USER_SCHEMA}:employeeNumber eq 3",
    f"{ENTERPRISE_USER_SCHEMA}:employeeNumber eq 3",
    'name.givenName sw "bar"',
    'emails.value co "example.com"',
    'emails co "JENSEN.ORG"',
    'emails[type eq "work" and value ew "example.com"]',
    'emails[type eq "home"] and active eq false',
    'not (emails[type eq "work"]) and title pr',
    'emails[not (type eq "home")] or userName eq "zed"',
    'emails[type eq "home" or value sw "BJ"]',
    "emails pr",
    'displayName eq "dot star" or title eq "manager"',
    f'not (userName eq "zed") and {ENTERPRISE_USER_SCHEMA}:costCenter pr',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"',
    'meta.created gt "2026-01-01T12:04:00Z"',
    'meta.lastModified le "2026-01-01T12:05:00Z"',
    'meta.resourceType eq "User"',
    'meta.resourceType eq "Group"',
    'id eq "c"',
    'id eq "C"',
    "title eq null",
    "externalId pr",
]


@pytest.mark.parametrize("text", FILTERS)
async def test_filters_match_the_reference_evaluator(store: RepositoryUnderTest, text: str) -> None:
    tenant = await store.tenant()
    for person in PEOPLE:
        await store.repository.insert(tenant, person, USER)
    where = parse_filter(text)
    expected = sorted(p.id for p in PEOPLE if matches(USER, p, where))
    page = await store.repository.list(tenant, USER, where, 0, 100)
    assert [r.id for r in page.resources] == expected
    assert page.total == len(expected)


def group(resource_id: str, *members: str) -> StoredResource:
    attributes: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "displayName": resource_id}
    if members:
        attributes["members"] = [{"value": m, "type": "User"} for m in members]
    return StoredResource("Group", resource_id, 1, T0, T0, attributes)


async def test_lookups_by_ids_stay_in_the_tenant(store: RepositoryUnderTest) -> None:
    tenant, other = await store.tenant(), await store.tenant()
    repo = store.repository
    await repo.insert(tenant, user("u1", "one"), USER)
    await repo.insert(tenant, user("u3", "three"), USER)
    await repo.insert(other, user("u1", "one"), USER)
    assert [r.id for r in await repo.get_many(tenant, USER, ["u3"])] == ["u3"]
    assert await repo.get_many(other, USER, ["u3"]) == []
    assert await repo.get_many(tenant, GROUP, ["u1"]) == []
    found = await repo.get_many(tenant, USER, ["u3", "nope", "u1", "u3"])
    assert [r.id for r in found] == ["u1", "u3"]
    assert found[1] == await repo.get(tenant, USER, "u3")
    assert [r.id for r in await repo.get_many(other, USER, ["u1", "u3"])] == ["u1"]


async def test_concurrent_replaces_of_one_version_have_one_winner(
    store: RepositoryUnderTest,
) -> None:
    tenant = await store.tenant()
    original = user("u1", "racer")
    await store.repository.insert(tenant, original, USER)
    attempts = [original.revised({**original.attributes, "title": f"t{i}"}, T0) for i in range(8)]
    outcomes = await asyncio.gather(
        *(store.repository.replace(tenant, USER, a, expected_version=1) for a in attempts)
    )
    assert sorted(outcomes) == [False] * 7 + [True]
    winner = attempts[outcomes.index(True)]
    assert await store.repository.get(tenant, USER, "u1") == winner
    # The next version can be written, and a stale writer still loses.
    following = winner.revised({**winner.attributes, "title": "next"}, T0)
    assert await store.repository.replace(tenant, USER, following, expected_version=2)
    assert not await store.repository.replace(tenant, USER, attempts[0], expected_version=1)


async def test_limits_are_exact_under_concurrency(store: RepositoryUnderTest) -> None:
    tenant = await store.tenant(limits={"User": 10})
    other = await store.tenant()

    async def create(index: int) -> str:
        try:
            await store.repository.insert(tenant, user(f"u{index}", f"name{index}"), USER)
        except ScimError as error:
            return f"{error.status} {error.detail}"
        return "created"

    outcomes = await asyncio.gather(*(create(i) for i in range(14)))
    assert outcomes.count("created") == 10
    assert set(outcomes) - {"created"} == {"403 the tenant's limit max_users=10 is reached"}
    assert (await store.repository.list(tenant, USER, None, 0, 100)).total == 10
    # Another tenant and another type are not limited by it.
    await store.repository.insert(other, user("x", "x"), USER)
    await store.repository.insert(tenant, group("g"), GROUP)
    # A delete frees a place; a refused duplicate does not use one.
    first, second = (await store.repository.list(tenant, USER, None, 0, 2)).resources
    assert await store.repository.delete(tenant, USER, first.id, expected_version=None)
    with pytest.raises(ScimError):
        await store.repository.insert(tenant, user("dup", second.attributes["userName"]), USER)
    await store.repository.insert(tenant, user("again", "again"), USER)
    assert "403" in await create(99)


async def test_purge_removes_one_tenant_only(store: RepositoryUnderTest) -> None:
    doomed, kept = await store.tenant(limits={"User": 2}), await store.tenant()
    for tenant in (doomed, kept):
        await store.repository.insert(tenant, user("u1", "same"), USER)
        await store.repository.insert(tenant, group("g1", "u1"), GROUP)
    await store.repository.purge(doomed, (USER, GROUP))
    assert (await store.repository.list(doomed, USER, None, 0, 10)).total == 0
    assert (await store.repository.list(doomed, GROUP, None, 0, 10)).total == 0
    assert (await store.repository.list(kept, USER, None, 0, 10)).total == 1
    assert await store.repository.get(kept, GROUP, "g1") == group("g1", "u1")
    # The purged tenant's storage, names and limit places are free again.
    await store.repository.provision(doomed, (USER, GROUP))
    for index in range(2):
        await store.repository.insert(doomed, user(f"n{index}", f"same{index}"), USER)


# Canonically or compatibly equivalent spellings of one userName (domain/text_folding.py).
NFC_CAFE = unicodedata.normalize("NFC", "café")
NFD_CAFE = unicodedata.normalize("NFD", "café")
FULL_WIDTH_ADMIN = "\uff41\uff44\uff4d\uff49\uff4e"
ONE_NAME = [
    (NFC_CAFE, NFD_CAFE),
    (NFD_CAFE, "CAFÉ"),
    (FULL_WIDTH_ADMIN, "Admin"),
    ("straße", "STRASSE"),
    ("\u2126mega", "ωMEGA"),  # the ohm sign is the Greek omega
]


@pytest.mark.parametrize(("stored", "other"), ONE_NAME)
async def test_equivalent_user_names_are_one_name(
    store: RepositoryUnderTest, stored: str, other: str
) -> None:
    assert stored != other
    tenant = await store.tenant()
    await store.repository.insert(tenant, user("u1", stored), USER)
    with pytest.raises(ScimError) as raised:
        await store.repository.insert(tenant, user("u2", other), USER)
    assert (raised.value.status, raised.value.scim_type) == (409, "uniqueness")
    bob = user("u3", "bob")
    await store.repository.insert(tenant, bob, USER)
    with pytest.raises(ScimError):
        await store.repository.replace(
            tenant, USER, bob.revised({**bob.attributes, "userName": other}, T0), 1
        )
    found = await store.repository.list(tenant, USER, parse_filter(f'userName eq "{other}"'), 0, 9)
    assert [r.id for r in found.resources] == ["u1"]
    assert found.resources[0].attributes["userName"] == stored  # kept as it was sent
    assert await store.repository.delete(tenant, USER, "u1", expected_version=None)
    await store.repository.insert(tenant, user("u2", other), USER)  # free again


async def test_different_names_stay_different(store: RepositoryUnderTest) -> None:
    tenant = await store.tenant()
    names = ["strase", "straße", "cafe", NFC_CAFE, "admin1", "\u0131", "i"]  # dotless i is not i
    for index, name in enumerate(names):
        await store.repository.insert(tenant, user(f"u{index}", name), USER)
    assert (await store.repository.list(tenant, USER, None, 0, 99)).total == len(names)


UNICODE_PEOPLE = [
    user("a", NFC_CAFE, displayName="STRASSE", emails=[{"value": "ÉVE@EXAMPLE.COM"}]),
    user("b", "straße", displayName=NFD_CAFE, emails=[{"value": f"{FULL_WIDTH_ADMIN}@x.org"}]),
    user("c", FULL_WIDTH_ADMIN, displayName="Zoë", title="straße"),
    user("d", "Ärger", displayName="ärger"),
]
UNICODE_FILTERS = [
    f'userName eq "{NFD_CAFE.upper()}"',
    'userName eq "STRASSE"',
    'userName eq "admin"',
    'userName ne "admin"',
    'userName co "SS"',
    'userName sw "CAF"',
    f'userName ew "{NFD_CAFE[-2:]}"',
    'userName gt "b"',
    'userName le "straße"',
    'displayName eq "strasse"',
    f'displayName eq "{NFC_CAFE}"',
    'displayName co "ß"',
    'emails.value eq "éve@example.com"',
    'emails co "ADMIN@"',
    'emails[value sw "admin"]',
    'title eq "STRASSE"',  # not a lookup attribute: lower-cased only, as by $regex
    'title eq "STRAßE"',
]


@pytest.mark.parametrize("text", UNICODE_FILTERS)
async def test_unicode_lookups_agree_with_the_reference_evaluator(
    store: RepositoryUnderTest, text: str
) -> None:
    tenant = await store.tenant()
    for person in UNICODE_PEOPLE:
        await store.repository.insert(tenant, person, USER)
    where = parse_filter(text)
    expected = sorted(p.id for p in UNICODE_PEOPLE if matches(USER, p, where))
    page = await store.repository.list(tenant, USER, where, 0, 100)
    assert [r.id for r in page.resources] == expected


async def test_folded_lookups_find_what_a_person_would(store: RepositoryUnderTest) -> None:
    tenant = await store.tenant()
    for person in UNICODE_PEOPLE:
        await store.repository.insert(tenant, person, USER)

    async def ids(text: str) -> list[str]:
        page = await store.repository.list(tenant, USER, parse_filter(text), 0, 100)
        return [r.id for r in page.resources]

    assert await ids('userName eq "STRASSE"') == ["b"]
    assert await ids(f'userName eq "{NFD_CAFE}"') == ["a"]
    assert await ids('displayName co "SS"') == ["a"]
    assert await ids('emails.value sw "admin@"') == ["b"]
    assert await ids('title eq "STRASSE"') == []  # title is no lookup attribute
    assert await ids('title eq "STRAßE"') == ["c"]


@pytest.mark.parametrize("order", ["ascending", "descending"])
@pytest.mark.parametrize("attribute", ["userName", "displayName", "emails.value"])
async def test_unicode_sorting_is_the_same_everywhere(
    store: RepositoryUnderTest, attribute: str, order: str
) -> None:
    tenant = await store.tenant()
    for person in UNICODE_PEOPLE:
        await store.repository.insert(tenant, person, USER)
    sort = resolve_sort(USER, attribute, order)
    page = await store.repository.list(tenant, USER, None, 0, 100, sort)
    assert [r.id for r in page.resources] == [r.id for r in sort_resources(UNICODE_PEOPLE, sort)]


async def test_a_long_list_lets_other_requests_run(store: RepositoryUnderTest) -> None:
    tenant = await store.tenant()
    people = [
        user(f"u{i:04d}", f"user{i}", emails=[{"value": f"u{i}@x.org", "type": "work"}])
        for i in range(1100)
    ]
    for start in range(0, len(people), 100):
        batch = people[start : start + 100]
        await asyncio.gather(*(store.repository.insert(tenant, p, USER) for p in batch))
    turns, done = 0, asyncio.Event()

    async def other_request() -> None:
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    where = parse_filter('emails[type eq "work"] and not (userName eq "user7")')
    sort = resolve_sort(USER, "userName", "descending")
    other = asyncio.create_task(other_request())
    await asyncio.sleep(0)
    started = turns
    page = await store.repository.list(tenant, USER, where, 5, 3, sort, max_scan=2000)
    done.set()
    await other
    assert turns - started >= 2  # the scan and the sort gave the event loop back
    expected = sort_resources([p for p in people if matches(USER, p, where)], sort)
    assert page.total == len(people) - 1
    assert [r.id for r in page.resources] == [r.id for r in expected[5:8]]
