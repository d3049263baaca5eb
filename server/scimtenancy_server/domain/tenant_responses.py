"""How a tenant's response options shape what it is served: what its ServiceProviderConfig
does not offer is not applied, and its PATCH answers take its chosen form."""

from __future__ import annotations

from dataclasses import replace

from scimtenancy_server.domain.projection import (
    Projection,
    ReturnPreference,
    patch_returns_resource,
)
from scimtenancy_server.domain.search import ListRequest
from scimtenancy_server.domain.tenant import PatchAnswer, Tenant


def offered_if_match(tenant: Tenant, if_match: str) -> str:
    """If-Match as the tenant is served: ignored where versions are not offered (RFC 7644
    §3.14 makes them optional, and its ServiceProviderConfig says `etag` unsupported)."""
    return if_match if tenant.responses.etag else ""


def offered_sort(tenant: Tenant, request: ListRequest) -> ListRequest:
    """The request as the tenant is served: where sorting is not offered, `sortBy` and
    `sortOrder` are ignored like any query parameter a service does not support (RFC 7644
    §3.4.2: it SHOULD ignore those rather than reject the query; §3.4.2.3: sorting is
    optional), and the results come in the default order."""
    if tenant.responses.sort or not (request.sort_by or request.sort_order):
        return request
    return replace(request, sort_by="", sort_order="")


def patch_returns_resource_for(
    tenant: Tenant, projection: Projection, preference: ReturnPreference, some_members: bool
) -> bool:
    """Whether a PATCH answers with the resource: the client's `Prefer` or projection decides
    for its request, then the tenant's patch answer, then the server's rule."""
    answer = tenant.responses.patch_answer
    asked = preference is not ReturnPreference.UNSPECIFIED or not projection.is_default
    if asked or answer is PatchAnswer.DEFAULT:
        return patch_returns_resource(projection, preference, some_members)
    return answer is PatchAnswer.REPRESENTATION
