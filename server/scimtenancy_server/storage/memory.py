"""The embedded default storage: in-process and in memory, for development and unit tests."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import (
    AttrPath,
    Compare,
    Filter,
    has_value_path,
    relax,
)
from scimtenancy_server.domain.filter_compile import compile_filter
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ResourceType
from scimtenancy_server.domain.sorting import Sort, SortKey, order_keyed, sort_key
from scimtenancy_server.domain.tenant import IsolationLevel
from scimtenancy_server.domain.text_folding import fold_identity
from scimtenancy_server.pacing import paced_chunks
from scimtenancy_server.storage.memberships import InMemoryMembershipStore
from scimtenancy_server.storage.repository import (
    Page,
    Query,
    ResourceRepository,
    Scope,
    Vanished,
    WriteAlong,
    limit_reached,
    note_usage,
    too_many,
)

_Namespace = tuple[str, str]


class InMemoryResourceRepository(ResourceRepository):
    def __init__(self) -> None:
        super().__init__(InMemoryMembershipStore())
        # Resources whose next version a writer holds (the twin of mongo_claims).
        self._claimed: set[tuple[_Namespace, str]] = set()
        self._resources: dict[_Namespace, dict[str, StoredResource]] = {}
        # Folded unique values per namespace, the in-memory twin of the unique index.
        self._unique: dict[_Namespace, dict[str, str]] = {}

    def _namespace(self, scope: Scope) -> _Namespace:
        return (scope.tenant_id, scope.resource_type.name)

    def _unique_key(self, scope: Scope, resource: StoredResource) -> str | None:
        name = scope.resource_type.unique
        value = resource.attributes.get(name) if name else None
        return fold_identity(value) if isinstance(value, str) else None

    def _claim(self, scope: Scope, resource: StoredResource) -> None:
        key = self._unique_key(scope, resource)
        if key is None:
            return
        owners = self._unique.setdefault(self._namespace(scope), {})
        if owners.setdefault(key, resource.id) != resource.id:
            raise ScimError.uniqueness(f"{scope.resource_type.unique} is already taken")

    def _release(self, scope: Scope, resource: StoredResource) -> None:
        key = self._unique_key(scope, resource)
        if key is not None:
            self._unique.get(self._namespace(scope), {}).pop(key, None)

    async def _provision(self, scope: Scope) -> None:
        self._resources.setdefault(self._namespace(scope), {})

    async def _insert(self, scope: Scope, resource: StoredResource) -> None:
        resources = self._resources.setdefault(self._namespace(scope), {})
        if resource.id in resources:
            raise ScimError.conflict(f"resource {resource.id!r} already exists")
        self._claim(scope, resource)
        resources[resource.id] = resource

    async def _get(self, scope: Scope, resource_id: str) -> StoredResource | None:
        return self._resources.get(self._namespace(scope), {}).get(resource_id)

    async def _replace(
        self, scope: Scope, resource: StoredResource, expected_version: int, along: WriteAlong
    ) -> bool:
        resources = self._resources.get(self._namespace(scope), {})
        current = resources.get(resource.id)
        claim = (self._namespace(scope), resource.id)
        if current is None or current.version != expected_version or claim in self._claimed:
            return False
        self._claimed.add(claim)
        try:
            async with along():
                if resources.get(resource.id) is not current:
                    raise Vanished
                self._write(scope, current, resource)
            return True
        except Vanished:
            return False
        finally:
            self._claimed.discard(claim)

    def _write(self, scope: Scope, current: StoredResource, resource: StoredResource) -> None:
        self._release(scope, current)
        try:
            self._claim(scope, resource)
        except ScimError:
            self._claim(scope, current)
            raise
        self._resources[self._namespace(scope)][resource.id] = resource

    async def _delete(self, scope: Scope, resource_id: str, expected_version: int | None) -> bool:
        resources = self._resources.get(self._namespace(scope), {})
        current = resources.get(resource_id)
        if current is None or expected_version not in (None, current.version):
            return False
        del resources[resource_id]
        self._release(scope, current)
        return True

    def _candidates(self, scope: Scope, where: Filter | None) -> Collection[StoredResource]:
        """All resources, or only the one an equality on the unique attribute can name
        (the in-memory twin of the unique index: `userName eq "…"` reads one entry)."""
        resources = self._resources.get(self._namespace(scope), {})
        unique = scope.resource_type.unique
        if (
            isinstance(where, Compare)
            and where.op == "eq"
            and isinstance(where.value, str)
            and unique is not None
            and where.path == AttrPath(None, where.path.attribute)
            and where.path.attribute.lower() == unique.lower()
        ):
            owner = self._unique.get(self._namespace(scope), {}).get(fold_identity(where.value))
            return [resources[owner]] if owner in resources else []
        return resources.values()

    async def _list(self, scope: Scope, query: Query) -> Page:
        # A snapshot: writes may land while the scan yields to the event loop.
        resources = list(self._candidates(scope, query.where))
        if query.where is not None:
            resources = await _matching(scope.resource_type, query.where, resources, query.max_scan)
        found = await _sorted(resources, query.sort)
        return Page(len(found), found[query.offset : query.offset + query.limit])

    async def _get_many(self, scope: Scope, ids: Collection[str]) -> list[StoredResource]:
        resources = self._resources.get(self._namespace(scope), {})
        return [resources[i] for i in set(ids) if i in resources]

    async def _take_slot(self, scope: Scope, resource_id: str, limit: int) -> None:
        # One event loop, no await between the check and the insert: exact without a lock.
        used = len(self._resources.get(self._namespace(scope), {}))
        if used >= limit:
            raise limit_reached(scope, limit)
        note_usage(scope, used + 1, limit)

    async def _free_slot(self, scope: Scope, resource_id: str) -> None:
        return None  # the count is the resources themselves

    async def _purge(self, scope: Scope, keep_usage: bool) -> None:
        self._resources.pop(self._namespace(scope), None)
        self._unique.pop(self._namespace(scope), None)

    async def _probe(self, tenant_id: str, isolation: IsolationLevel, now: datetime) -> None:
        return None  # process memory: nothing that can fail independently of the process


async def _matching(
    rt: ResourceType, where: Filter, resources: list[StoredResource], max_scan: int
) -> list[StoredResource]:
    if has_value_path(where):
        # As MongoDB does: the relaxed filter's matches are the scan that max_scan bounds.
        relaxed = relax(where)
        prefilter = compile_filter(rt, relaxed) if relaxed is not None else _everything
        resources = await _scan(resources, prefilter, max_scan + 1)
        if len(resources) > max_scan:
            raise too_many(max_scan)
    return await _scan(resources, compile_filter(rt, where))


def _everything(resource: StoredResource) -> bool:
    return True


async def _scan(
    resources: Sequence[StoredResource],
    keep: Callable[[StoredResource], bool],
    at_most: int | None = None,
) -> list[StoredResource]:
    """The resources `keep` accepts (the first `at_most`), paced: a list scans a whole tenant
    in this process, and other tenants' requests go on meanwhile."""
    kept: list[StoredResource] = []
    async for chunk in paced_chunks(resources):
        kept += filter(keep, chunk)
        if at_most is not None and len(kept) >= at_most:
            return kept[:at_most]
    return kept


async def _sorted(resources: list[StoredResource], sort: Sort | None) -> list[StoredResource]:
    """Sorted as domain.sorting does, keys computed a chunk at a time between yields; the
    final ordering of the keys is one step (two C-level sorts)."""
    if sort is None:
        return sorted(resources, key=lambda r: r.id)
    key = sort_key(sort)
    keyed: list[tuple[SortKey, StoredResource]] = []
    async for chunk in paced_chunks(resources):
        keyed += ((key(r), r) for r in chunk)
    return order_keyed(keyed, sort.descending)
