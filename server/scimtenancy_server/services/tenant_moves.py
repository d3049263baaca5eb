"""Moving a tenant between isolation levels while it keeps serving.

1. A live copy of every resource into the new level's storage; reads and writes go on.
2. A write freeze (status `moving`: reads are served, writes get 503 and are retried by the
   client), then a wait of `settle` seconds so that every replica's credential cache sees it.
3. A final copy of what changed since the first one, and deletion of what was deleted.
4. A count check per resource type; on a mismatch the move is abandoned and the old level
   stays authoritative.
5. The switch, the end of the freeze, and the purge of the old storage.
No acknowledged write is lost: writes before the freeze are carried over by the final copy,
and writes during it are refused, not acknowledged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import GROUP, ResourceType
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant, TenantStatus
from scimtenancy_server.storage.memberships import MembershipStore
from scimtenancy_server.storage.repository import ResourceRepository
from scimtenancy_server.storage.tenants import TenantStore

_PAGE = 500


async def _all(
    repository: ResourceRepository, tenant: Tenant, rt: ResourceType
) -> list[StoredResource]:
    found: list[StoredResource] = []
    while page := (await repository.list(tenant, rt, None, len(found), _PAGE)).resources:
        found.extend(page)
    return found


async def _sync(
    repository: ResourceRepository, source: Tenant, target: Tenant, rt: ResourceType
) -> None:
    """Makes `target`'s resources of `rt` equal to `source`'s (a Group's members too)."""
    wanted = {r.id: r for r in await _all(repository, source, rt)}
    if rt.name == GROUP.name:
        for group_id in wanted:
            await _sync_members(repository.memberships, source, target, group_id)
    present = {r.id: r for r in await _all(repository, target, rt)}
    for resource_id, resource in wanted.items():
        copy = present.get(resource_id)
        if copy is None:
            await repository.insert(target, resource, rt)
        elif copy.version != resource.version:
            await repository.replace(target, rt, resource, copy.version)
    for resource_id in present.keys() - wanted.keys():
        await repository.delete(target, rt, resource_id, None)
        if rt.name == GROUP.name:
            await repository.memberships.clear(target, resource_id)


async def _sync_members(
    memberships: MembershipStore, source: Tenant, target: Tenant, group_id: str
) -> None:
    wanted = {m.value: m async for m in memberships.members(source, group_id)}
    present = {m.value: m async for m in memberships.members(target, group_id)}
    # Members renamed since the last copy are written again, with their current display.
    stale = [i for i, m in present.items() if wanted.get(i) != m]
    await memberships.remove(target, group_id, stale)
    await memberships.add(target, group_id, [m for i, m in wanted.items() if present.get(i) != m])


async def move_tenant(
    store: TenantStore,
    repository: ResourceRepository,
    types: tuple[ResourceType, ...],
    tenant: Tenant,
    level: IsolationLevel,
    settle: float,
    invalidate: Callable[[str], None],
) -> Tenant:
    if tenant.isolation is level:
        return tenant
    moved = replace(tenant, isolation=level)
    if not repository.stores_apart(tenant.isolation, level):
        await store.save(moved)
        invalidate(tenant.tenant_id)
        return moved
    # Copies take no limit places: the resources already hold theirs.
    target = replace(moved, limits={})
    await repository.provision(target, types)
    for rt in types:
        await _sync(repository, tenant, target, rt)
    await store.save(replace(tenant, status=TenantStatus.MOVING))
    invalidate(tenant.tenant_id)
    try:
        await asyncio.sleep(settle)  # other replicas' caches expire within the TTL
        for rt in types:
            await _sync(repository, tenant, target, rt)
            source_count = (await repository.list(tenant, rt, None, 0, 0)).total
            target_count = (await repository.list(target, rt, None, 0, 0)).total
            if source_count != target_count:
                raise ScimError.conflict(
                    f"{rt.name} counts differ after the copy ({source_count} against "
                    f"{target_count}); the tenant stays at {tenant.isolation.value}"
                )
    except BaseException:
        await store.save(tenant)
        invalidate(tenant.tenant_id)
        raise
    await store.save(replace(moved, status=tenant.status))
    invalidate(tenant.tenant_id)
    await repository.purge(tenant, types, keep_usage=True)
    return replace(moved, status=tenant.status)
