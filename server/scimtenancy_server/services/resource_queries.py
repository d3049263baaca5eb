"""Queries over a tenant's resources (RFC 7644 §3.4.2 and §3.4.3): filters, sorting, index and
cursor paging, across the shared namespace where the tenant may read it."""

from __future__ import annotations

from dataclasses import dataclass

from scimtenancy_server.domain.cursor import decode_cursor, encode_cursor, query_key
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import Filter, parse_filter
from scimtenancy_server.domain.filter_compile import check_filter
from scimtenancy_server.domain.filter_eval import refuse_sensitive
from scimtenancy_server.domain.permissions import Permission
from scimtenancy_server.domain.projection import Projection
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ResourceType
from scimtenancy_server.domain.search import ListRequest, parse_search_request
from scimtenancy_server.domain.sorting import resolve_sort
from scimtenancy_server.domain.tenant import Tenant, TenantContext
from scimtenancy_server.domain.tenant_responses import offered_sort
from scimtenancy_server.services.group_members import MemberBudget
from scimtenancy_server.services.resource_reads import ResourceReads
from scimtenancy_server.storage.repository import Page

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
class SearchResult:
    result: ListResult
    projection: Projection


class ResourceQueries(ResourceReads):
    async def list_resources(
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

    async def search(self, ctx: TenantContext, type_key: str, body: bytes) -> SearchResult:
        """A SearchRequest (RFC 7644 §3.4.3); with no resource type, across all of them."""
        ctx.require(Permission.LIST)
        request = parse_search_request(self._parse(body), self.limits, ctx.tenant.compatibility)
        if type_key:
            found = await self.list_resources(ctx, type_key, request, in_url=False)
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

    def _key(self, ctx: TenantContext, scope: str, request: ListRequest) -> str:
        """What a cursor is bound to: the tenant, the resource type (or all) and the query."""
        return query_key(ctx.tenant_id, scope, request.filter, request.sort_by, request.sort_order)

    def _start(self, ctx: TenantContext, scope: str, request: ListRequest) -> tuple[int, int]:
        start, limit = self._page(ctx.tenant, request)
        if request.cursor is not None:
            start = decode_cursor(request.cursor, self._key(ctx, scope, request)) + 1
        return start, limit

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


def _filterable(rt: ResourceType, where: Filter) -> bool:
    try:
        check_filter(rt, where)
    except ScimError:
        return False
    return True
