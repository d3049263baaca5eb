"""The membership port: one fact per (group, member), per tenant (domain/membership.py).
Implementations must pass tests/contract/test_memberships.py; every method's work is in
proportion to the members it names or returns, never to a group's size."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import replace

from scimtenancy_server.domain.membership import Member
from scimtenancy_server.domain.tenant import Tenant
from scimtenancy_server.pacing import paced_chunks

# Members read at a time: each batch is one round trip and a bounded stretch of work.
BATCH = 1000


class MembershipStore(ABC):
    @abstractmethod
    async def provision(self, tenant: Tenant) -> None:
        """Creates what the tenant's memberships need (collection, indexes); idempotent."""

    @abstractmethod
    async def add(self, tenant: Tenant, group_id: str, members: Sequence[Member]) -> None:
        """Makes each of `members` a member of the group; members already in it stay as
        they are (adding twice is adding once)."""

    @abstractmethod
    async def remove(self, tenant: Tenant, group_id: str, member_ids: Collection[str]) -> None:
        """Takes the members out of the group; ids that are not members are ignored."""

    @abstractmethod
    def member_batches(self, tenant: Tenant, group_id: str) -> AsyncIterator[Sequence[Member]]:
        """The group's members, ordered by id, a batch (at most `BATCH`) at a time."""

    async def members(self, tenant: Tenant, group_id: str) -> AsyncIterator[Member]:
        """The group's members, ordered by id."""
        async for batch in self.member_batches(tenant, group_id):
            for member in batch:
                yield member

    @abstractmethod
    async def groups_of(self, tenant: Tenant, member_ids: Collection[str]) -> dict[str, list[str]]:
        """For each of `member_ids` that belongs to a group, the ids of its groups, sorted."""

    @abstractmethod
    async def held(
        self, tenant: Tenant, group_id: str, member_ids: Collection[str]
    ) -> list[Member]:
        """Which of `member_ids` are members of the group, as stored."""

    @abstractmethod
    async def leave_everywhere(self, tenant: Tenant, member: Member) -> list[str]:
        """Takes the member (by id and resource type) out of every group it belongs to;
        returns those groups' ids."""

    @abstractmethod
    async def in_any_group(self, tenant: Tenant, at_most: int) -> set[str] | None:
        """The ids of the resources that are members of some group, reading at most
        `at_most` memberships; None when the tenant holds more."""

    @abstractmethod
    async def rename(self, tenant: Tenant, member_id: str, display: str | None) -> None:
        """Sets the member's `display` in every group it belongs to."""

    @abstractmethod
    async def clear(self, tenant: Tenant, group_id: str) -> None:
        """Removes every member of the group (the group is gone)."""

    @abstractmethod
    async def purge(self, tenant: Tenant) -> None:
        """Removes every membership of the tenant at its isolation level."""


class InMemoryMembershipStore(MembershipStore):
    """Two indexes, as a database would keep them: members by group, and per tenant the
    groups of each member."""

    def __init__(self) -> None:
        self._by_group: dict[tuple[str, str], dict[str, Member]] = {}
        self._by_member: dict[str, dict[str, set[str]]] = {}
        # Each group's member ids in order, kept until the group's members change.
        self._ordered: dict[tuple[str, str], list[str]] = {}

    def _groups(self, tenant_id: str) -> dict[str, set[str]]:
        return self._by_member.setdefault(tenant_id, {})

    async def provision(self, tenant: Tenant) -> None:
        return None

    async def add(self, tenant: Tenant, group_id: str, members: Sequence[Member]) -> None:
        held = self._by_group.setdefault((tenant.tenant_id, group_id), {})
        self._ordered.pop((tenant.tenant_id, group_id), None)
        groups = self._groups(tenant.tenant_id)
        for member in members:
            if held.setdefault(member.value, member) is member:
                groups.setdefault(member.value, set()).add(group_id)

    async def remove(self, tenant: Tenant, group_id: str, member_ids: Collection[str]) -> None:
        held = self._by_group.get((tenant.tenant_id, group_id), {})
        self._ordered.pop((tenant.tenant_id, group_id), None)
        for member_id in member_ids:
            if held.pop(member_id, None) is not None:
                self._drop_index(tenant.tenant_id, member_id, group_id)
        if not held:
            self._by_group.pop((tenant.tenant_id, group_id), None)

    def _drop_index(self, tenant_id: str, member_id: str, group_id: str) -> None:
        groups = self._groups(tenant_id)
        held = groups.get(member_id, set())
        held.discard(group_id)
        if not held:
            groups.pop(member_id, None)

    async def member_batches(
        self, tenant: Tenant, group_id: str
    ) -> AsyncIterator[Sequence[Member]]:
        key = (tenant.tenant_id, group_id)
        held = self._by_group.get(key, {})
        ordered = self._ordered.get(key)
        if ordered is None:
            ordered = self._ordered[key] = sorted(held)
        # A snapshot of the ids: writes may land while this yields.
        async for ids in paced_chunks(list(ordered), BATCH):
            yield [held[i] for i in ids if i in held]

    async def groups_of(self, tenant: Tenant, member_ids: Collection[str]) -> dict[str, list[str]]:
        groups = self._groups(tenant.tenant_id)
        found = ((m, groups.get(m)) for m in member_ids)
        return {m: sorted(held) for m, held in found if held}

    async def held(
        self, tenant: Tenant, group_id: str, member_ids: Collection[str]
    ) -> list[Member]:
        members = self._by_group.get((tenant.tenant_id, group_id), {})
        return [members[i] for i in set(member_ids) if i in members]

    async def leave_everywhere(self, tenant: Tenant, member: Member) -> list[str]:
        left = []
        for group_id in sorted(self._groups(tenant.tenant_id).get(member.value, ())):
            if self._by_group[(tenant.tenant_id, group_id)][member.value].type == member.type:
                await self.remove(tenant, group_id, [member.value])
                left.append(group_id)
        return left

    async def in_any_group(self, tenant: Tenant, at_most: int) -> set[str] | None:
        groups = self._groups(tenant.tenant_id)
        return set(groups) if sum(map(len, groups.values())) <= at_most else None

    async def rename(self, tenant: Tenant, member_id: str, display: str | None) -> None:
        for group_id in self._groups(tenant.tenant_id).get(member_id, set()):
            held = self._by_group[(tenant.tenant_id, group_id)]
            held[member_id] = replace(held[member_id], display=display)

    async def clear(self, tenant: Tenant, group_id: str) -> None:
        held = self._by_group.pop((tenant.tenant_id, group_id), {})
        self._ordered.pop((tenant.tenant_id, group_id), None)
        for member_id in held:
            self._drop_index(tenant.tenant_id, member_id, group_id)

    async def purge(self, tenant: Tenant) -> None:
        for key in [k for k in self._by_group if k[0] == tenant.tenant_id]:
            del self._by_group[key]
            self._ordered.pop(key, None)
        self._by_member.pop(tenant.tenant_id, None)
