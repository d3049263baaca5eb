"""Reading a tenant's resources: resource types as the tenant sees them, one resource with the
computed attributes its projection may show (RFC 7643 §4.1.2 `groups`, §4.2 `members`), `/Me`
(RFC 7644 §3.11), and the tenant's usage. The base of `ResourceService`: it holds what the
queries (`resource_queries`) and the writes (`resource_writes`) share."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from scimtenancy_server.domain.clock import Clock, utc_now
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import AttrPath, Compare
from scimtenancy_server.domain.limits import DEFAULT_LIMITS, InputLimits
from scimtenancy_server.domain.permissions import Permission
from scimtenancy_server.domain.projection import Projection
from scimtenancy_server.domain.resource import JsonObject, StoredResource, parse_json_object
from scimtenancy_server.domain.schema import GROUP, USER, ResourceType, ResourceTypeRegistry
from scimtenancy_server.domain.tenant import Tenant, TenantContext
from scimtenancy_server.domain.tenant_options import MAX_PAGE_SIZE
from scimtenancy_server.services.audit import AuditLog
from scimtenancy_server.services.group_members import GroupMembers, MemberBudget, inline_members
from scimtenancy_server.services.shared_namespace import SharedNamespace, read_only
from scimtenancy_server.storage.repository import ResourceRepository


@dataclass(frozen=True, slots=True)
class Usage:
    resource_type: str
    used: int
    limit: int | None


@dataclass(frozen=True, slots=True)
class Health:
    storage_round_trip: float  # seconds
    usage: list[Usage]


class ResourceReads:
    def __init__(
        self,
        repository: ResourceRepository,
        registry: ResourceTypeRegistry,
        clock: Clock = utc_now,
        default_count: int = 100,
        max_count: int = MAX_PAGE_SIZE,
        max_filter_scan: int = 10_000,
        shared: SharedNamespace | None = None,
        audit: AuditLog | None = None,
        limits: InputLimits = DEFAULT_LIMITS,
    ) -> None:
        self._audit = audit or AuditLog.off()
        self.limits = limits
        self._repository = repository
        self._shared = shared or SharedNamespace(repository, _no_namespace, frozenset())
        self._registry = registry
        self._clock = clock
        self.default_count = default_count
        self.max_count = max_count
        self._max_scan = max_filter_scan
        self._members = GroupMembers(repository, registry, limits, max_filter_scan)

    def types(self, tenant: Tenant | None) -> ResourceTypeRegistry:
        """The resource types as this tenant sees them (with its own schema extensions)."""
        return self._registry.for_tenant(tenant)

    def resource_type(self, key: str, tenant: Tenant | None = None) -> ResourceType:
        return self.types(tenant).resolve(key)

    def type_name(self, ctx: TenantContext, key: str) -> str:
        """The name of the resource type `key` names, or `key` itself if it names none."""
        try:
            return self.resource_type(key, ctx.tenant).name
        except ScimError:
            return key

    def _parse(self, body: bytes) -> JsonObject:
        return parse_json_object(body, max_depth=self.limits.max_json_depth)

    async def exists(self, ctx: TenantContext, type_key: str, resource_id: str) -> bool:
        rt = self.resource_type(type_key, ctx.tenant)
        return await self._repository.get(ctx.tenant, rt, resource_id) is not None

    async def get(
        self,
        ctx: TenantContext,
        type_key: str,
        resource_id: str,
        projection: Projection | None = None,
    ) -> StoredResource:
        """The resource with the computed attributes (`groups`, `members`) `projection` may
        show; None: without them."""
        ctx.require(Permission.READ)
        rt = self.resource_type(type_key, ctx.tenant)
        resource, owner = await self._fetch_owned(ctx, rt, resource_id, to_write=False)
        return (await self.complete(owner, [resource], projection))[0]

    async def complete(
        self,
        owner: Tenant,
        resources: Sequence[StoredResource],
        projection: Projection | None,
        budget: MemberBudget | None = None,
    ) -> list[StoredResource]:
        """Resources of `owner` with the computed attributes `projection` may show: a User's
        `groups` (RFC 7643 §4.1.2) and a Group's `members`, from the membership index (within
        `budget`, for a page of several groups)."""
        if projection is None:
            return [_stored_form(r) for r in resources]
        completed = list(resources)
        if projection.may_include("members"):
            completed = [
                await self._members.members_of(owner, r, budget)
                if r.resource_type == GROUP.name
                else r
                for r in completed
            ]
        else:
            completed = [_stored_form(r) for r in completed]
        if projection.may_include("groups"):
            completed = await self._members.with_groups(owner, completed)
        return completed

    async def _fetch(
        self, ctx: TenantContext, rt: ResourceType, resource_id: str
    ) -> StoredResource:
        return (await self._fetch_owned(ctx, rt, resource_id))[0]

    async def _fetch_owned(
        self, ctx: TenantContext, rt: ResourceType, resource_id: str, *, to_write: bool = True
    ) -> tuple[StoredResource, Tenant]:
        """The caller's resource and the tenant that holds it; shared resources are found too,
        but only for reading."""
        if len(resource_id) > self.limits.max_id_length:
            raise not_found(rt, resource_id)  # no stored id is that long: nothing to look up
        resource = await self._repository.get(ctx.tenant, rt, resource_id)
        if resource is not None:
            return resource, ctx.tenant
        namespace = await self._shared.source(ctx, rt)
        shared = await self._shared.get(ctx, rt, resource_id)
        if shared is None or namespace is None:
            raise not_found(rt, resource_id)
        if to_write:
            raise read_only(rt, resource_id)
        return shared, namespace

    async def health(self, ctx: TenantContext) -> Health:
        """A storage round trip in the tenant's scope, and its usage against its limits."""
        ctx.require(Permission.READ)
        started = time.perf_counter()
        await self._repository.probe(ctx.tenant, self._clock())
        round_trip = time.perf_counter() - started
        return Health(round_trip, await self.usage(ctx.tenant))

    async def usage(self, tenant: Tenant) -> list[Usage]:
        """How many resources of each type the tenant holds, against its limits."""
        return [
            Usage(
                rt.name,
                (await self._repository.list(tenant, rt, None, 0, 0)).total,
                tenant.limit(rt.name),
            )
            for rt in self.types(tenant).all()
        ]

    async def resolve_me(self, ctx: TenantContext) -> str:
        """The User behind the credential (RFC 7644 §3.11): the one whose externalId, or else
        userName, equals the token's subject."""
        if ctx.subject is None:
            raise ScimError.not_implemented(
                "/Me is served for credentials that identify a User; this credential "
                "identifies a tenant only"
            )
        subject = ctx.subject
        for attribute in ("externalId", "userName"):
            where = Compare(AttrPath(None, attribute), "eq", subject)
            page = await self._repository.list(ctx.tenant, USER, where, 0, 1)
            if page.resources:
                return page.resources[0].id
        raise ScimError.not_found("no User of this tenant matches the credential's subject")


def _stored_form(resource: StoredResource) -> StoredResource:
    """The resource without members held inline by a group stored before memberships had
    their own documents (never shown when the projection leaves members out)."""
    if resource.resource_type != GROUP.name or "members" not in resource.attributes:
        return resource
    return replace(resource, attributes=inline_members(resource.attributes)[0])


async def _no_namespace() -> Tenant | None:
    return None


def not_found(rt: ResourceType, resource_id: str) -> ScimError:
    return ScimError.not_found(f"{rt.name} {resource_id!r} not found")
