"""The resource repository port. Tenant scoping lives here, in the base class: its public
methods take the tenant, and adapters only ever see a `Scope` that already names it."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import Filter
from scimtenancy_server.domain.membership_filters import (
    ANY_GROUP,
    GROUPS,
    MEMBERS,
    Condition,
    by_ids,
    named,
)
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ResourceType
from scimtenancy_server.domain.sorting import Sort
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant
from scimtenancy_server.storage.memberships import MembershipStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Scope:
    """One tenant's resources of one type: the only handle adapters get."""

    tenant_id: str
    isolation: IsolationLevel
    resource_type: ResourceType


@dataclass(frozen=True, slots=True)
class Query:
    where: Filter | None
    offset: int
    limit: int
    sort: Sort | None = None
    # Value filters are checked resource by resource; past this many candidates: tooMany.
    max_scan: int = 10_000


def note_usage(scope: Scope, used: int, limit: int) -> None:
    """Warns operators when a tenant passes 80% of a limit."""
    if used > 0.8 * limit:
        logger.warning(
            "tenant %s uses %d of its %d %s",
            scope.tenant_id,
            used,
            limit,
            scope.resource_type.endpoint,
        )


def limit_reached(scope: Scope, limit: int) -> ScimError:
    name = f"max_{scope.resource_type.endpoint.lower()}"
    return ScimError.forbidden(f"the tenant's limit {name}={limit} is reached")


def too_many(max_scan: int) -> ScimError:
    return ScimError.bad_request(
        "tooMany",
        f"the filter's value selection would examine more than {max_scan} resources; "
        "narrow it with a condition on another attribute",
    )


@dataclass(frozen=True, slots=True)
class Page:
    total: int
    resources: list[StoredResource]


# Conditions answered from the membership index, per resource type.
_MEMBERSHIP_CONDITIONS: dict[str, Condition] = {"Group": MEMBERS, "User": GROUPS}

# What changes with a resource (a Group's memberships): entered while the writer holds the
# resource's next version, before the resource is written, and left once it is; an exception
# inside it (`Vanished` when the resource was deleted meanwhile) tells it to undo its change.
WriteAlong = Callable[[], AbstractAsyncContextManager[None]]


class Vanished(Exception):
    """The resource was deleted while it was being written."""


class ResourceRepository(ABC):
    """Stores resources per tenant, and (in `memberships`) which resources are members of
    which groups. Implementations must pass tests/contract/."""

    def __init__(self, memberships: MembershipStore) -> None:
        self.memberships = memberships

    async def provision(self, tenant: Tenant, resource_types: tuple[ResourceType, ...]) -> None:
        """Creates what the tenant's storage needs (collections, indexes); idempotent."""
        for resource_type in resource_types:
            await self._provision(_scope(tenant, resource_type))
        await self.memberships.provision(tenant)

    async def insert(self, tenant: Tenant, resource: StoredResource, rt: ResourceType) -> None:
        """Stores a new resource; raises a `uniqueness` ScimError on a duplicate, and a 403
        when the tenant's limit for the type is reached (exact under concurrency)."""
        scope = _scope(tenant, rt)
        limit = tenant.limit(rt.name)
        if limit is not None:
            await self._take_slot(scope, resource.id, limit)
        try:
            await self._insert(scope, resource)
        except BaseException:
            if limit is not None:
                await self._free_slot(scope, resource.id)
            raise

    async def get(
        self, tenant: Tenant, rt: ResourceType, resource_id: str
    ) -> StoredResource | None:
        return await self._get(_scope(tenant, rt), resource_id)

    async def replace(
        self,
        tenant: Tenant,
        rt: ResourceType,
        resource: StoredResource,
        expected_version: int,
        along: WriteAlong | None = None,
    ) -> bool:
        """Replaces the resource if its stored version is still `expected_version`. Only one
        writer at a time gets that far for a version, across processes: it enters `along`
        (what must change with the resource, such as its memberships), writes, and leaves it;
        every other writer gets False and has written nothing."""
        return await self._replace(
            _scope(tenant, rt), resource, expected_version, along or nullcontext
        )

    async def delete(
        self, tenant: Tenant, rt: ResourceType, resource_id: str, expected_version: int | None
    ) -> bool:
        """Deletes the resource (if its version matches, when one is given)."""
        scope = _scope(tenant, rt)
        deleted = await self._delete(scope, resource_id, expected_version)
        if deleted and tenant.limit(rt.name) is not None:
            await self._free_slot(scope, resource_id)
        return deleted

    async def list(
        self,
        tenant: Tenant,
        rt: ResourceType,
        where: Filter | None,
        offset: int,
        limit: int,
        sort: Sort | None = None,
        max_scan: int = 10_000,
    ) -> Page:
        """Resources matching `where`, ordered by `sort` then id; `total` counts all matches.
        Conditions on a Group's members are answered from the membership index."""
        if where is not None and rt.name in _MEMBERSHIP_CONDITIONS:
            where = await self._by_memberships(tenant, rt, where, max_scan)
        return await self._list(_scope(tenant, rt), Query(where, offset, limit, sort, max_scan))

    async def get_many(
        self, tenant: Tenant, rt: ResourceType, ids: Collection[str]
    ) -> Sequence[StoredResource]:
        """The resources of this type in the tenant among `ids`, in id order."""
        found = await self._get_many(_scope(tenant, rt), ids) if ids else []
        return sorted(found, key=lambda r: r.id)

    async def _by_memberships(
        self, tenant: Tenant, rt: ResourceType, where: Filter, max_scan: int
    ) -> Filter:
        """`where` with its conditions on memberships (a Group's `members`, a User's `groups`)
        turned into id conditions, from the index; tooMany past `max_scan` ids."""
        condition = _MEMBERSHIP_CONDITIONS[rt.name]
        ids = named(where, condition)
        if not ids:
            return where
        found: dict[str, Collection[str]]
        if condition is MEMBERS:
            found = dict(await self.memberships.groups_of(tenant, ids))
        else:
            found = {i: await self._members_of(tenant, i, max_scan) for i in ids}
        if sum(map(len, found.values())) > max_scan:
            raise too_many(max_scan)
        return by_ids(where, condition, found)

    async def _members_of(self, tenant: Tenant, group_id: str, max_scan: int) -> set[str]:
        if group_id == ANY_GROUP:
            members = await self.memberships.in_any_group(tenant, max_scan)
            if members is None:
                raise too_many(max_scan)
            return members
        found: set[str] = set()
        async for batch in self.memberships.member_batches(tenant, group_id):
            found.update(m.value for m in batch)
            if len(found) > max_scan:
                raise too_many(max_scan)
        return found

    async def probe(self, tenant: Tenant, now: datetime) -> None:
        """Writes, reads back and deletes a probe document in the tenant's scope; raises
        when any step fails."""
        await self._probe(tenant.tenant_id, tenant.isolation, now)

    async def purge(
        self, tenant: Tenant, resource_types: tuple[ResourceType, ...], *, keep_usage: bool = False
    ) -> None:
        """Deletes every resource of the tenant at its isolation level, and what storage kept
        for it; `keep_usage` keeps its limit places (the resources live on elsewhere)."""
        for resource_type in resource_types:
            await self._purge(_scope(tenant, resource_type), keep_usage)
        await self.memberships.purge(tenant)

    async def reserve_existing(self, tenant: Tenant, rt: ResourceType) -> None:
        """Gives every stored resource of the type its limit place, for a limit set on a
        tenant that already holds resources."""
        limit = tenant.limit(rt.name)
        if limit is None:
            return
        scope = _scope(tenant, rt)
        offset = 0
        while page := (await self.list(tenant, rt, None, offset, 500)).resources:
            for resource in page:
                await self._reserve(scope, resource.id, limit)
            offset += len(page)

    def stores_apart(self, first: IsolationLevel, second: IsolationLevel) -> bool:
        """Whether a tenant's resources live in different places at these two levels."""
        return False

    async def ping(self) -> bool:
        """Whether the storage answers now (health checks)."""
        return True

    async def close(self) -> None:  # noqa: B027 - adapters without resources need nothing
        """Releases connections."""

    @abstractmethod
    async def _provision(self, scope: Scope) -> None: ...

    @abstractmethod
    async def _insert(self, scope: Scope, resource: StoredResource) -> None: ...

    @abstractmethod
    async def _get(self, scope: Scope, resource_id: str) -> StoredResource | None: ...

    @abstractmethod
    async def _replace(
        self, scope: Scope, resource: StoredResource, expected_version: int, along: WriteAlong
    ) -> bool:
        """Within the claim of the next version: `async with along():` the write, raising
        `Vanished` inside it when the resource is gone (then False)."""

    @abstractmethod
    async def _delete(
        self, scope: Scope, resource_id: str, expected_version: int | None
    ) -> bool: ...

    @abstractmethod
    async def _list(self, scope: Scope, query: Query) -> Page: ...

    @abstractmethod
    async def _get_many(self, scope: Scope, ids: Collection[str]) -> Sequence[StoredResource]: ...

    @abstractmethod
    async def _take_slot(self, scope: Scope, resource_id: str, limit: int) -> None:
        """Reserves one of `limit` places for the resource, atomically across processes;
        raises `limit_reached` when all are taken."""

    @abstractmethod
    async def _free_slot(self, scope: Scope, resource_id: str) -> None: ...

    async def _reserve(self, scope: Scope, resource_id: str, limit: int) -> None:
        """Takes a limit place for a stored resource unless it holds one already; adapters
        that count the resources themselves have nothing to do."""
        return

    @abstractmethod
    async def _purge(self, scope: Scope, keep_usage: bool) -> None: ...

    @abstractmethod
    async def _probe(self, tenant_id: str, isolation: IsolationLevel, now: datetime) -> None: ...


def _scope(tenant: Tenant, resource_type: ResourceType) -> Scope:
    return Scope(tenant.tenant_id, tenant.isolation, resource_type)
