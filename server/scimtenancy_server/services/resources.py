"""SCIM operations on a tenant's resources (RFC 7644 §3.3 to §3.6): protocol rules, no transport."""

from __future__ import annotations

import asyncio
import builtins
import itertools
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from functools import partial

from scimtenancy_server.deadlines import begin_writing, require_time
from scimtenancy_server.domain.clock import Clock, utc_now
from scimtenancy_server.domain.cursor import decode_cursor, encode_cursor, query_key
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import AttrPath, Compare, Filter, parse_filter
from scimtenancy_server.domain.filter_compile import check_filter
from scimtenancy_server.domain.filter_eval import refuse_sensitive
from scimtenancy_server.domain.limits import DEFAULT_LIMITS, InputLimits
from scimtenancy_server.domain.membership import (
    MEMBER_TYPES,
    Member,
    MembershipChange,
    display_name,
)
from scimtenancy_server.domain.patch import check_patch, parse_patch
from scimtenancy_server.domain.permissions import Permission
from scimtenancy_server.domain.projection import Projection, ReturnPreference
from scimtenancy_server.domain.resource import (
    JsonObject,
    StoredResource,
    parse_json_object,
    version_matches,
)
from scimtenancy_server.domain.schema import GROUP, USER, ResourceType, ResourceTypeRegistry
from scimtenancy_server.domain.search import ListRequest, parse_search_request
from scimtenancy_server.domain.sorting import resolve_sort
from scimtenancy_server.domain.tenant import Tenant, TenantContext, TenantStatus
from scimtenancy_server.domain.tenant_options import MAX_PAGE_SIZE
from scimtenancy_server.domain.tenant_responses import (
    offered_if_match,
    offered_sort,
    patch_returns_resource_for,
)
from scimtenancy_server.domain.validation import canonical_attributes, preserve_write_only
from scimtenancy_server.pacing import Pacer
from scimtenancy_server.services.audit import AuditEntry, AuditLog
from scimtenancy_server.services.group_members import GroupMembers, MemberBudget, inline_members
from scimtenancy_server.services.shared_namespace import SharedNamespace, read_only
from scimtenancy_server.storage.repository import Page, ResourceRepository

logger = logging.getLogger(__name__)

# What a change to a resource produces: its new attributes and, for a Group, the change to
# its members (which are kept apart from its attributes).
Change = tuple[JsonObject, MembershipChange]

# Optimistic writes retry this often when another writer changed the resource in between.
_WRITE_ATTEMPTS = 5
# ... and a write that keeps losing to others goes on trying for this long (seconds): twenty
# identity-provider connections adding members to one group all get their turn.
_WRITE_PATIENCE = 5.0
# What the root /.search's cursors are bound to instead of a resource type.
_EVERY_TYPE = "*"
# startIndex past this is past any tenant's data; kept within int64 for every transport.
_MAX_START_INDEX = 2**62


@dataclass(frozen=True, slots=True)
class ListResult:
    page: Page  # its resources carry the computed attributes the projection may show
    start_index: int
    cursor_paging: bool = False
    next_cursor: str = ""
    previous_cursor: str = ""


@dataclass(frozen=True, slots=True)
class Patched:
    resource: StoredResource
    minimal: bool  # answered without the resource (HTTP 204)


@dataclass(frozen=True, slots=True)
class Usage:
    resource_type: str
    used: int
    limit: int | None


@dataclass(frozen=True, slots=True)
class Health:
    storage_round_trip: float  # seconds
    usage: list[Usage]


@dataclass(frozen=True, slots=True)
class SearchResult:
    result: ListResult
    projection: Projection


def _filterable(rt: ResourceType, where: Filter) -> bool:
    try:
        check_filter(rt, where)
    except ScimError:
        return False
    return True


class ResourceService:
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
        self.audit = audit or AuditLog.off()
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

    async def create(
        self,
        ctx: TenantContext,
        type_key: str,
        body: bytes,
        projection: Projection | None = None,
        resource_id: str | None = None,
        resumed: bool = False,
    ) -> StoredResource:
        """Creates a resource (under `resource_id` if given, e.g. one an idempotent request
        reserved); with `projection`, it comes back with a Group's members (a new resource
        belongs to no group yet, so a User needs no lookup). `resumed`: the same create run
        again after its first attempt's outcome was lost, so the resource that attempt made
        under `resource_id`, if any, is the answer."""
        if resumed and resource_id:
            return await self._resume_create(ctx, type_key, body, projection, resource_id)
        new_id = resource_id or str(uuid.uuid4())
        created = await self.store_new(ctx, type_key, self._parse(body), new_id)
        if projection is None or created.resource_type != GROUP.name:
            return created
        return (await self.complete(ctx.tenant, [created], projection))[0]

    async def _resume_create(
        self,
        ctx: TenantContext,
        type_key: str,
        body: bytes,
        projection: Projection | None,
        resource_id: str,
    ) -> StoredResource:
        """The resource the first attempt made, else a new one under the same id (a first
        attempt still running may get there first: its resource is then the answer)."""
        earlier = await self.created(ctx, type_key, resource_id, projection)
        if earlier is not None:
            return earlier
        try:
            return await self.create(ctx, type_key, body, projection, resource_id)
        except ScimError as error:
            earlier = await self.created(ctx, type_key, resource_id, projection)
            if error.status != 409 or earlier is None:
                raise
            return earlier

    def _parse(self, body: bytes) -> JsonObject:
        return parse_json_object(body, max_depth=self.limits.max_json_depth)

    async def store_new(
        self, ctx: TenantContext, type_key: str, document: JsonObject, resource_id: str
    ) -> StoredResource:
        """Creates a resource with the given id (imports and migrations keep their ids)."""
        async with self._audited(ctx, "create", type_key, resource_id) as audit:
            ctx.require(Permission.CREATE)
            _refuse_while_moving(ctx)
            rt = self.resource_type(type_key, ctx.tenant)
            if len(resource_id) > self.limits.max_id_length:
                raise ScimError.invalid_value(
                    f"an id may have at most {self.limits.max_id_length} characters"
                )
            attributes, change = _split_members(
                rt,
                canonical_attributes(
                    rt, document, limits=self.limits, compatibility=ctx.tenant.compatibility
                ),
            )
            added = await self._members.resolve(ctx.tenant, change)
            now = self._clock()
            resource = StoredResource(rt.name, resource_id, 1, now, now, attributes)
            require_time()
            await audit.begin(None, resource.version)
            begin_writing()
            await self._insert_with_members(ctx.tenant, rt, resource, added)
            return resource

    async def _insert_with_members(
        self,
        tenant: Tenant,
        rt: ResourceType,
        resource: StoredResource,
        added: builtins.list[Member],
    ) -> None:
        """Writes a new group's members before the group: they are seen only through the
        group, so a fault at any step leaves either the whole group or none (members written
        for a group that never came to be are invisible, and cleared when possible)."""
        if added:
            await self._repository.memberships.add(tenant, resource.id, added)
        try:
            await self._repository.insert(tenant, resource, rt)
        except ScimError as error:
            if added and error.status != 409:  # 409: the id is taken, by a group of its own
                await asyncio.shield(self._clear_unborn(tenant, resource.id))
            raise
        except BaseException:
            if added:
                await asyncio.shield(self._clear_unborn(tenant, resource.id))
            raise
        if added:
            await asyncio.shield(self._members.settle(tenant, resource.id, added))

    async def _clear_unborn(self, tenant: Tenant, group_id: str) -> None:
        try:
            await self._repository.memberships.clear(tenant, group_id)
        except ScimError:
            logger.warning("memberships of a group that was not created are left behind")

    def _audited(
        self, ctx: TenantContext, operation: str, type_key: str, resource_id: str
    ) -> AbstractAsyncContextManager[AuditEntry]:
        name = self.type_name(ctx, type_key)
        return self.audit.record(ctx.tenant_id, ctx.actor, operation, name, resource_id)

    async def created(
        self,
        ctx: TenantContext,
        type_key: str,
        resource_id: str,
        projection: Projection | None = None,
    ) -> StoredResource | None:
        """The resource an earlier attempt of this create made, as it is now; answering it
        needs the right to create, not to read (the caller asked to create it)."""
        ctx.require(Permission.CREATE)
        rt = self.resource_type(type_key, ctx.tenant)
        found = await self._repository.get(ctx.tenant, rt, resource_id)
        if found is None or projection is None:
            return found
        return (await self.complete(ctx.tenant, [found], projection))[0]

    async def exists(self, ctx: TenantContext, type_key: str, resource_id: str) -> bool:
        rt = self.resource_type(type_key, ctx.tenant)
        return await self._repository.get(ctx.tenant, rt, resource_id) is not None

    def validate(self, ctx: TenantContext, type_key: str, document: JsonObject) -> None:
        """Raises the ScimError a create of `document` would raise for its content."""
        canonical_attributes(
            self.resource_type(type_key, ctx.tenant),
            document,
            limits=self.limits,
            compatibility=ctx.tenant.compatibility,
        )

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
    ) -> builtins.list[StoredResource]:
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
            raise _not_found(rt, resource_id)  # no stored id is that long: nothing to look up
        resource = await self._repository.get(ctx.tenant, rt, resource_id)
        if resource is not None:
            return resource, ctx.tenant
        namespace = await self._shared.source(ctx, rt)
        shared = await self._shared.get(ctx, rt, resource_id)
        if shared is None or namespace is None:
            raise _not_found(rt, resource_id)
        if to_write:
            raise read_only(rt, resource_id)
        return shared, namespace

    async def replace(
        self,
        ctx: TenantContext,
        type_key: str,
        resource_id: str,
        body: bytes,
        if_match: str,
        projection: Projection | None = None,
    ) -> StoredResource:
        """PUT (RFC 7644 §3.5.1); with `projection`, the result's computed attributes too."""
        async with self._audited(ctx, "replace", type_key, resource_id) as audit:
            ctx.require(Permission.UPDATE)
            rt = self.resource_type(type_key, ctx.tenant)
            document = self._parse(body)
            compatibility = ctx.tenant.compatibility
            # refuse bad input before reading anything
            canonical_attributes(rt, document, limits=self.limits, compatibility=compatibility)

            async def replacement(current: StoredResource) -> Change:
                attributes = canonical_attributes(
                    rt, document, current.attributes, self.limits, compatibility
                )
                attributes, change = _split_members(rt, attributes)
                if rt.name == GROUP.name:
                    change.reset = True  # PUT replaces the members too, an absent list with none
                return preserve_write_only(rt, attributes, current.attributes), change

            replaced = await self._update(ctx, rt, resource_id, if_match, replacement, audit)
        return (await self.complete(ctx.tenant, [replaced], projection))[0]

    async def patch(
        self,
        ctx: TenantContext,
        type_key: str,
        resource_id: str,
        body: bytes,
        if_match: str,
        projection: Projection | None = None,
        preference: ReturnPreference = ReturnPreference.UNSPECIFIED,
    ) -> Patched:
        """PATCH (RFC 7644 §3.5.2). With `projection`, the answer is the resource with its
        computed attributes, or minimal (`patch_returns_resource` decides)."""
        async with self._audited(ctx, "patch", type_key, resource_id) as audit:
            ctx.require(Permission.UPDATE)
            rt = self.resource_type(type_key, ctx.tenant)
            operations = parse_patch(self._parse(body), self.limits)
            compatibility = ctx.tenant.compatibility
            # refuse bad input before reading anything
            plan = check_patch(rt, operations, self.limits, compatibility)
            changes: builtins.list[MembershipChange] = []

            async def patched(current: StoredResource) -> Change:
                run, pacer = plan.run(current.attributes), Pacer()
                for operation in operations:
                    run.apply(operation)  # it may walk hundreds of values: let others in
                    await pacer.pace()
                changes.append(run.members)
                return run.result(), run.members

            resource = await self._update(ctx, rt, resource_id, if_match, patched, audit)
        if projection is None:
            return Patched(resource, minimal=False)
        members = changes[-1]
        some_members = not members.empty and not members.reset
        if not patch_returns_resource_for(ctx.tenant, projection, preference, some_members):
            return Patched(resource, minimal=True)
        return Patched((await self.complete(ctx.tenant, [resource], projection))[0], False)

    async def delete(
        self, ctx: TenantContext, type_key: str, resource_id: str, if_match: str
    ) -> None:
        async with self._audited(ctx, "delete", type_key, resource_id) as audit:
            await self._delete(ctx, type_key, resource_id, if_match, audit)

    async def _delete(
        self, ctx: TenantContext, type_key: str, resource_id: str, if_match: str, audit: AuditEntry
    ) -> None:
        ctx.require(Permission.DELETE)
        _refuse_while_moving(ctx)
        if_match = offered_if_match(ctx.tenant, if_match)
        rt = self.resource_type(type_key, ctx.tenant)
        if len(resource_id) > self.limits.max_id_length:
            raise _not_found(rt, resource_id)
        expected: int | None = None
        if if_match:
            current = await self._fetch(ctx, rt, resource_id)
            _check_precondition(current, if_match)
            expected = current.version
        require_time()
        await audit.begin(expected, None)  # without If-Match the version is not read
        begin_writing()
        deleted = await self._repository.delete(ctx.tenant, rt, resource_id, expected)
        if not deleted and if_match:
            raise _changed(rt, resource_id)
        if not deleted:
            await self._shared.refuse_write(ctx, rt, resource_id)
        # Also on a retried delete (404), which finishes what an interrupted one began.
        await self._forget_memberships(ctx.tenant, rt, resource_id)
        if not deleted:
            raise _not_found(rt, resource_id)

    async def _forget_memberships(self, tenant: Tenant, rt: ResourceType, resource_id: str) -> None:
        """A deleted resource leaves every group it was a member of (RFC 7643 §4.2), and a
        deleted group holds no members."""
        if rt.name == GROUP.name:
            await self._repository.memberships.clear(tenant, resource_id)
        if rt.name in MEMBER_TYPES:
            await self._members.leave_all(tenant, rt.name, resource_id, self._clock())

    async def list(
        self, ctx: TenantContext, type_key: str, request: ListRequest, *, in_url: bool = True
    ) -> ListResult:
        """A list query; `in_url` when its parameters came in a request URI (GET)."""
        ctx.require(Permission.LIST)
        rt = self.resource_type(type_key, ctx.tenant)
        request = offered_sort(ctx.tenant, request)
        where = parse_filter(request.filter, self.limits) if request.filter else None
        if where is not None:
            if in_url:
                refuse_sensitive(rt, where)
            check_filter(rt, where)
        sort = resolve_sort(rt, request.sort_by, request.sort_order, self.limits)
        start, limit = self._start(ctx, rt.name, request)
        found = await self._shared.list(ctx, rt, where, start - 1, limit, sort, self._max_scan)
        budget = MemberBudget(self._max_scan)
        resources = await self.complete(ctx.tenant, found.own, request.projection, budget)
        if found.namespace is not None:
            shared = await self.complete(found.namespace, found.shared, request.projection, budget)
            resources += shared
        page = Page(found.total, resources)
        return self._result(ctx, rt.name, request, page, start, limit)

    def _key(self, ctx: TenantContext, scope: str, request: ListRequest) -> str:
        """What a cursor is bound to: the tenant, the resource type (or all) and the query."""
        return query_key(ctx.tenant_id, scope, request.filter, request.sort_by, request.sort_order)

    def _start(self, ctx: TenantContext, scope: str, request: ListRequest) -> tuple[int, int]:
        start, limit = self._page(ctx.tenant, request)
        if request.cursor is not None:
            start = decode_cursor(request.cursor, self._key(ctx, scope, request)) + 1
        return start, limit

    def _result(
        self,
        ctx: TenantContext,
        scope: str,
        request: ListRequest,
        page: Page,
        start: int,
        limit: int,
    ) -> ListResult:
        if request.cursor is None:
            return ListResult(page, start)
        key = self._key(ctx, scope, request)
        offset, end = start - 1, start - 1 + len(page.resources)
        return ListResult(
            page,
            start,
            cursor_paging=True,
            next_cursor=encode_cursor(end, key) if end < page.total else "",
            previous_cursor=encode_cursor(max(0, offset - limit), key) if offset > 0 else "",
        )

    async def search(self, ctx: TenantContext, type_key: str, body: bytes) -> SearchResult:
        """A SearchRequest (RFC 7644 §3.4.3); with no resource type, across all of them."""
        ctx.require(Permission.LIST)
        request = parse_search_request(self._parse(body), self.limits, ctx.tenant.compatibility)
        if type_key:
            found = await self.list(ctx, type_key, request, in_url=False)
            return SearchResult(found, request.projection)
        return SearchResult(await self._search_all(ctx, request), request.projection)

    async def _search_all(self, ctx: TenantContext, request: ListRequest) -> ListResult:
        request = offered_sort(ctx.tenant, request)
        where = parse_filter(request.filter, self.limits) if request.filter else None
        registry = self.types(ctx.tenant)
        types = [rt for rt in registry.all() if where is None or _filterable(rt, where)]
        if not types:
            assert where is not None
            check_filter(registry.all()[0], where)  # raises the first type's complaint
        start, limit = self._start(ctx, _EVERY_TYPE, request)
        skip, total, budget = start - 1, 0, MemberBudget(self._max_scan)
        found: list[StoredResource] = []
        for rt in types:
            sort = resolve_sort(rt, request.sort_by, request.sort_order, self.limits)
            page = await self._repository.list(
                ctx.tenant, rt, where, skip, limit - len(found), sort, self._max_scan
            )
            total += page.total
            skip = max(0, skip - page.total)
            found += await self.complete(ctx.tenant, page.resources, request.projection, budget)
        return self._result(ctx, _EVERY_TYPE, request, Page(total, found), start, limit)

    async def health(self, ctx: TenantContext) -> Health:
        """A storage round trip in the tenant's scope, and its usage against its limits."""
        ctx.require(Permission.READ)
        started = time.perf_counter()
        await self._repository.probe(ctx.tenant, self._clock())
        round_trip = time.perf_counter() - started
        return Health(round_trip, await self.usage(ctx.tenant))

    async def usage(self, tenant: Tenant) -> builtins.list[Usage]:
        """How many resources of each type the tenant holds, against its limits."""
        return [
            Usage(
                rt.name,
                (await self._repository.list(tenant, rt, None, 0, 0)).total,
                tenant.limit(rt.name),
            )
            for rt in self.types(tenant).all()
        ]

    async def move_inline_members(self, tenant: Tenant, page_size: int = 500) -> int:
        """Moves the members that groups stored before memberships had their own documents
        hold inline into the membership index; online and idempotent. Creates the membership
        indexes first, for tenants provisioned before them. Returns how many groups moved."""
        await self._repository.provision(tenant, self.types(tenant).all())
        moved, offset = 0, 0
        while page := (
            await self._repository.list(tenant, GROUP, None, offset, page_size)
        ).resources:
            for group in page:
                moved += await self._move_inline_members(tenant, group)
            offset += len(page)
        return moved

    async def _groups_page(
        self, tenant: Tenant, offset: int, size: int
    ) -> builtins.list[StoredResource]:
        return (await self._repository.list(tenant, GROUP, None, offset, size)).resources

    async def _move_inline_members(self, tenant: Tenant, group: StoredResource | None) -> bool:
        for _ in range(_WRITE_ATTEMPTS):
            if group is None or "members" not in group.attributes:
                return False
            if await self._members.migrate(tenant, group):
                return True
            group = await self._repository.get(tenant, GROUP, group.id)
        raise ScimError.conflict(f"Group {group.id if group else ''!r} kept changing; run again")

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

    async def _after_write(
        self,
        tenant: Tenant,
        rt: ResourceType,
        before: StoredResource,
        after: StoredResource,
        added: builtins.list[Member],
    ) -> None:
        """What follows a write even if the caller stops waiting: added members deleted
        meanwhile are taken out again, and a renamed member's groups show its new name."""
        await self._members.settle(tenant, after.id, added)
        if rt.name in MEMBER_TYPES and display_name(after.attributes) != display_name(
            before.attributes
        ):
            await self._members.renamed(tenant, rt.name, after.id)

    def _page(self, tenant: Tenant, request: ListRequest) -> tuple[int, int]:
        if request.cursor is not None and request.start_index is not None:
            raise ScimError.invalid_value("use either cursor or startIndex, not both")
        # RFC 7644 §3.4.2.4: startIndex below 1 counts as 1, a negative count as 0.
        start = max(1, request.start_index if request.start_index is not None else 1)
        start = min(start, _MAX_START_INDEX)
        # Past the tenant's most (its ServiceProviderConfig's maxPageSize), count is cut to it.
        most = tenant.responses.max_results(self.max_count)
        count = self.default_count if request.count is None else max(0, request.count)
        return start, min(count, most)

    async def _update(
        self,
        ctx: TenantContext,
        rt: ResourceType,
        resource_id: str,
        if_match: str,
        change: Callable[[StoredResource], Awaitable[Change]],
        audit: AuditEntry,
    ) -> StoredResource:
        """Reads, changes and writes the resource on its version, retrying when another
        writer got there first; a Group's member change is written while its next version is
        held, so writers of one group take turns and none writes on a stale read."""
        _refuse_while_moving(ctx)
        if_match = offered_if_match(ctx.tenant, if_match)
        resolved: dict[frozenset[str], builtins.list[Member]] = {}
        give_up = time.monotonic() + _WRITE_PATIENCE
        for attempt in itertools.count():
            if attempt >= _WRITE_ATTEMPTS and time.monotonic() > give_up:
                break
            require_time()  # another round only while the caller still waits
            current = await self._fetch(ctx, rt, resource_id)
            if if_match:
                _check_precondition(current, if_match)
            if rt.name == GROUP.name and "members" in current.attributes:
                await self._members.migrate(ctx.tenant, current)
                continue  # a group stored before memberships were apart: move them first
            attributes, members = await change(current)
            key = frozenset(members.added)
            if key not in resolved:  # only the new members are looked up, once
                resolved[key] = await self._members.resolve(ctx.tenant, members)
            added = resolved[key]
            updated = current.revised(attributes, self._clock())
            require_time()
            await audit.begin(current.version, updated.version)
            begin_writing()

            along = None
            if not members.empty:
                along = partial(self._members.applied, ctx.tenant, resource_id, members, added)
            if await self._repository.replace(ctx.tenant, rt, updated, current.version, along):
                await asyncio.shield(self._after_write(ctx.tenant, rt, current, updated, added))
                return updated
            if if_match:
                raise _changed(rt, resource_id)
            await _back_off(attempt)
        raise ScimError.conflict(f"{rt.name} {resource_id!r} is changing too often; retry")


async def _back_off(attempt: int) -> None:
    """A short random wait before the next round, so that writers of one resource that keep
    colliding spread out (full jitter, at most 64 ms)."""
    await asyncio.sleep(random.uniform(0, 0.001 * 2 ** min(attempt, 6)))  # noqa: S311 - not a secret


def _split_members(rt: ResourceType, attributes: JsonObject) -> Change:
    """A Group's attributes without `members`, and the members as a change that sets them."""
    change = MembershipChange()
    if rt.name != GROUP.name:
        return attributes, change
    rest, members = inline_members(attributes)
    change.add(members)
    return rest, change


def _stored_form(resource: StoredResource) -> StoredResource:
    """The resource without members held inline by a group stored before memberships had
    their own documents (never shown when the projection leaves members out)."""
    if resource.resource_type != GROUP.name or "members" not in resource.attributes:
        return resource
    return replace(resource, attributes=inline_members(resource.attributes)[0])


def _refuse_while_moving(ctx: TenantContext) -> None:
    if ctx.tenant.status is TenantStatus.MOVING:
        raise ScimError.unavailable(
            "the tenant is moving between isolation levels; retry in a few seconds"
        )


async def _no_namespace() -> Tenant | None:
    return None


def _check_precondition(current: StoredResource, if_match: str) -> None:
    if not version_matches(if_match, current.version):
        raise ScimError.precondition_failed(
            f"If-Match {if_match} does not match the current version {current.etag}"
        )


def _changed(rt: ResourceType, resource_id: str) -> ScimError:
    return ScimError.precondition_failed(f"{rt.name} {resource_id!r} changed concurrently")


def _not_found(rt: ResourceType, resource_id: str) -> ScimError:
    return ScimError.not_found(f"{rt.name} {resource_id!r} not found")
