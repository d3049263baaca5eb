"""Group membership rules (RFC 7643 §4.2) on the membership index: who may be a member, how a
change lands, and the `members` / `groups` attributes computed for responses.

A change is checked (only its new members, one query per member type) before anything is
written, and written while the group's next version is held (`ResourceRepository.replace`),
so concurrent writers of one group apply their changes one at a time, across replicas. A
member deleted while it was being added is taken out again: members never dangle.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from functools import partial

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import AttrPath
from scimtenancy_server.domain.filter_compile import compile_value_filter
from scimtenancy_server.domain.limits import InputLimits
from scimtenancy_server.domain.membership import (
    MEMBER_TYPES,
    Member,
    MembershipChange,
    display_name,
)
from scimtenancy_server.domain.resource import JsonObject, StoredResource
from scimtenancy_server.domain.schema import GROUP, ResourceTypeRegistry
from scimtenancy_server.domain.tenant import Tenant
from scimtenancy_server.pacing import Pacer
from scimtenancy_server.storage.repository import ResourceRepository, Vanished

# Groups whose versions one member's deletion advances at a time.
_TOUCH_CONCURRENCY = 16
# Rounds of advancing one group's version against concurrent writers.
_TOUCH_ATTEMPTS = 20
_MEMBERS = AttrPath(None, "members")


def inline_members(attributes: JsonObject) -> tuple[JsonObject, list[JsonObject]]:
    """A group's attributes without `members`, and the members it held inline (groups written
    before memberships had their own documents; `scimtenancy-migrate memberships` moves them)."""
    held = attributes.get("members")
    if held is None:
        return attributes, []
    rest = {k: v for k, v in attributes.items() if k != "members"}
    return rest, [m for m in held if isinstance(m, dict) and isinstance(m.get("value"), str)]


class MemberBudget:
    """How many members one list answer may carry: a page of 1,000 groups of 100,000 members
    each is not an answer to give (a single group's GET has no such bound)."""

    def __init__(self, members: int) -> None:
        self._left = members
        self._limit = members

    def spend(self, count: int) -> None:
        self._left -= count
        if self._left < 0:
            raise ScimError.bad_request(
                "tooMany",
                f"the groups of this page hold more than {self._limit} members; ask for fewer "
                "with count, or leave members out with excludedAttributes=members",
            )


class GroupMembers:
    def __init__(
        self,
        repository: ResourceRepository,
        registry: ResourceTypeRegistry,
        limits: InputLimits,
        max_scan: int,
    ) -> None:
        self._repository = repository
        self._memberships = repository.memberships
        self._registry = registry
        self._max_scan = max_scan

    async def resolve(
        self, tenant: Tenant, change: MembershipChange, *, drop_missing: bool = False
    ) -> list[Member]:
        """The members `change` adds, each with its resource type; 400 when one is not a User
        or Group of this tenant (or, with `drop_missing`, it is left out). Only the new ids are
        looked up: one query per member type."""
        wanted = dict(change.added)
        found: dict[str, list[Member]] = {}
        for name in MEMBER_TYPES:
            pending = [i for i in wanted if i not in found]  # ids are unique across types
            for member in await self._current(tenant, name, pending):
                found.setdefault(member.value, []).append(member)
        resolved = []
        for member_id, given in wanted.items():
            kinds = found.get(member_id, [])
            chosen = next((m for m in kinds if m.type == given), next(iter(kinds), None))
            if chosen is None and drop_missing:
                continue
            if chosen is None:
                raise ScimError.invalid_value(
                    f"member {member_id!r} is not a User or Group of this tenant"
                )
            resolved.append(chosen)
        return resolved

    async def _current(self, tenant: Tenant, type_name: str, ids: list[str]) -> list[Member]:
        """The resources of `type_name` among `ids`, as members named as they are now."""
        if not ids:
            return []
        rt = self._registry.for_tenant(tenant).resolve(type_name)
        found = await self._repository.get_many(tenant, rt, ids)
        return [Member(r.id, type_name, display_name(r.attributes)) for r in found]

    @asynccontextmanager
    async def applied(
        self, tenant: Tenant, group_id: str, change: MembershipChange, added: Sequence[Member]
    ) -> AsyncIterator[None]:
        """The change written while the caller holds the group's next version and writes the
        group: undone when that write fails (old members under the old version, never a mix),
        and the group's memberships cleared when the group was deleted meanwhile."""
        undo = await self._apply(tenant, group_id, change, added)
        try:
            yield
        except Vanished:
            await asyncio.shield(self._memberships.clear(tenant, group_id))
            raise
        except BaseException:
            await asyncio.shield(undo())
            raise

    async def _apply(
        self, tenant: Tenant, group_id: str, change: MembershipChange, added: Sequence[Member]
    ) -> Callable[[], Awaitable[None]]:
        """Writes the change; returns what takes it back (it undoes itself if it fails)."""
        removed = await self._memberships.held(tenant, group_id, change.removed)
        if change.removal_filters:  # they come before any add of the change (remove_matching)
            matched = await self._matching(tenant, group_id, change)
            removed += [m for m in matched if m.value not in change.added]
        if change.reset:
            keep = {m.value for m in added}
            async for batch in self._memberships.member_batches(tenant, group_id):
                removed += [m for m in batch if m.value not in keep]
        already = await self._memberships.held(tenant, group_id, [m.value for m in added])
        held = {m.value for m in already}
        new = [m for m in added if m.value not in held]

        async def undo() -> None:
            await self._memberships.remove(tenant, group_id, [m.value for m in new])
            await self._memberships.add(tenant, group_id, removed)
            await self.settle(tenant, group_id, removed)  # one may have been deleted meanwhile

        try:
            if removed:
                await self._memberships.remove(tenant, group_id, [m.value for m in removed])
            if new:
                await self._memberships.add(tenant, group_id, new)
        except BaseException:
            await asyncio.shield(undo())
            raise
        return undo

    async def _matching(
        self, tenant: Tenant, group_id: str, change: MembershipChange
    ) -> list[Member]:
        """The stored members a filter other than `value eq` selects: a scan of the group,
        bounded like every value filter (max_filter_scan)."""
        selects = [compile_value_filter(GROUP, _MEMBERS, f) for f in change.removal_filters]
        matched, scanned, pacer = [], 0, Pacer()
        async for member in self._memberships.members(tenant, group_id):
            scanned += 1
            if scanned > self._max_scan:
                raise ScimError.bad_request(
                    "tooMany",
                    f"the group has more than {self._max_scan} members to examine; remove "
                    'members by id (members[value eq "…"])',
                )
            if any(select(member.as_json()) for select in selects):
                matched.append(member)
            await pacer.pace()
        return matched

    async def settle(self, tenant: Tenant, group_id: str, added: Sequence[Member]) -> None:
        """Takes out the added members that were deleted while they were being added (their
        deletion may have swept the group before this change wrote them), and brings the
        names of those renamed meanwhile up to date."""
        by_type: dict[str, list[str]] = {}
        for member in added:
            by_type.setdefault(member.type, []).append(member.value)
        now = {
            m.value: m
            for name, ids in by_type.items()
            for m in await self._current(tenant, name, ids)
        }
        gone = [m.value for m in added if m.value not in now]
        if gone:
            await self._memberships.remove(tenant, group_id, gone)
        for member in added:
            current = now.get(member.value)
            if current is not None and current.display != member.display:
                await self.renamed(tenant, current.type, member.value)

    async def renamed(self, tenant: Tenant, type_name: str, member_id: str) -> None:
        """Brings the member's `display` in its groups up to date with its current name; a
        rename that lands meanwhile is caught by reading the name again after writing it."""
        written: object = object()
        for _ in range(_TOUCH_ATTEMPTS):
            current = await self._current(tenant, type_name, [member_id])
            display = current[0].display if current else None
            if display == written:
                return
            await self._memberships.rename(tenant, member_id, display)
            written = display

    async def migrate(self, tenant: Tenant, group: StoredResource) -> bool:
        """Moves the members a group holds inline (stored before memberships had their own
        documents) into the index, dropping those that no longer exist. The group keeps its
        version: its representation is the same, so clients' ETags stay valid. Idempotent;
        False when another writer changed the group first."""
        attributes, legacy = inline_members(group.attributes)
        if "members" not in group.attributes:
            return True
        change = MembershipChange()
        change.add(legacy)
        added = await self.resolve(tenant, change, drop_missing=True)

        moved = replace(group, attributes=attributes)
        along = partial(self.applied, tenant, group.id, change, added)
        if not await self._repository.replace(tenant, GROUP, moved, group.version, along):
            return False
        await asyncio.shield(self.settle(tenant, group.id, added))
        return True

    async def members_of(
        self, tenant: Tenant, group: StoredResource, budget: MemberBudget | None = None
    ) -> StoredResource:
        """The group with its `members` attribute, read from the index a batch at a time."""
        attributes, legacy = inline_members(group.attributes)
        members: list[JsonObject] = []
        async for batch in self._memberships.member_batches(tenant, group.id):
            if budget is not None:
                budget.spend(len(batch))
            members += [m.as_json() for m in batch]
        if legacy:
            held = {m["value"] for m in members}
            members += await self._existing(tenant, [m for m in legacy if m["value"] not in held])
        if members:
            attributes = {**attributes, "members": members}
        return replace(group, attributes=attributes)

    async def _existing(self, tenant: Tenant, legacy: list[JsonObject]) -> list[JsonObject]:
        """Inline members of a group not yet moved, without those deleted since (a deletion
        only sees the index): one lookup per member type, for such groups only."""
        change = MembershipChange()
        change.add(legacy)
        current = {m.value: m for m in await self.resolve(tenant, change, drop_missing=True)}
        return [current[m["value"]].as_json() for m in legacy if m["value"] in current]

    async def with_groups(
        self, tenant: Tenant, resources: Sequence[StoredResource]
    ) -> list[StoredResource]:
        """Users with their read-only `groups` (RFC 7643 §4.1.2): direct memberships only."""
        users = [r.id for r in resources if r.resource_type == "User"]
        held = await self._memberships.groups_of(tenant, users) if users else {}
        if not held:
            return list(resources)
        names = await self._display_names(tenant, {g for groups in held.values() for g in groups})
        return [
            replace(r, attributes={**r.attributes, "groups": entries})
            if (entries := _group_entries(held.get(r.id, []), names))
            else r
            for r in resources
        ]

    async def _display_names(self, tenant: Tenant, group_ids: set[str]) -> dict[str, str | None]:
        """The groups that exist among `group_ids`, with their displayName."""
        return {
            g.id: _display(g) for g in await self._repository.get_many(tenant, GROUP, group_ids)
        }

    async def leave_all(
        self, tenant: Tenant, type_name: str, member_id: str, now: datetime
    ) -> None:
        """A deleted resource leaves every group it was a member of (RFC 7643 §4.2); each of
        those groups gets a new version. Work per group is constant."""
        member = Member(member_id, type_name)
        groups = await self._memberships.leave_everywhere(tenant, member)  # one write, first
        gate = asyncio.Semaphore(_TOUCH_CONCURRENCY)

        async def touch(group_id: str) -> None:
            async with gate:
                await self._touch(tenant, group_id, now)

        # New versions for its groups, even if the caller stops waiting meanwhile.
        await asyncio.shield(asyncio.gather(*(touch(g) for g in groups)))

    async def _touch(self, tenant: Tenant, group_id: str, now: datetime) -> None:
        for _ in range(_TOUCH_ATTEMPTS):
            group = await self._repository.get(tenant, GROUP, group_id)
            if group is None:
                return
            if await self._repository.replace(
                tenant, GROUP, group.revised(group.attributes, now), group.version
            ):
                return
            await asyncio.sleep(0)


def _display(group: StoredResource) -> str | None:
    name = group.attributes.get("displayName")
    return name if isinstance(name, str) else None


def _group_entries(group_ids: list[str], names: dict[str, str | None]) -> list[JsonObject]:
    entries: list[JsonObject] = []
    for group_id in group_ids:
        if group_id not in names:
            continue  # a membership whose group is being deleted
        entry: JsonObject = {"value": group_id, "type": "direct"}
        if names[group_id] is not None:
            entry["display"] = names[group_id]
        entries.append(entry)
    return entries
