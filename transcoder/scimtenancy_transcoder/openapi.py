"""The OpenAPI 3.1 description of the HTTP surface, served at `GET /openapi.json`.

SCIM paths (`openapi_paths`) are relative to the SCIM base URL of the transcoder's URL
strategy, given as `servers`. Resource and discovery schemas are derived from the schemas the
server enforces (`openapi_resources`, `openapi_generate`), message schemas are in
`openapi_messages`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache

import orjson
from starlette.requests import Request
from starlette.responses import Response

from scimtenancy_transcoder.openapi_components import (
    DEFAULT_PUBLISHED_LIMITS,
    PublishedLimits,
    components,
)
from scimtenancy_transcoder.openapi_paths import OPENAPI_PATH, paths
from scimtenancy_transcoder.openapi_resources import JsonSchema
from scimtenancy_transcoder.strategies import HeaderStrategy, SubdomainStrategy, UrlStrategy

__all__ = ["OPENAPI_PATH", "build_document", "openapi_endpoint", "servers"]


@cache
def build_document(
    header_strategy: bool = False, limits: PublishedLimits = DEFAULT_PUBLISHED_LIMITS
) -> JsonSchema:
    """The description without `servers`, which depend on the request for some strategies.
    Cached: callers must not change it."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "scim-tenancy SCIM 2.0 API",
            "version": "2.0",
            "description": "Multi-tenant SCIM 2.0 (RFC 7643, RFC 7644, RFC 9865). Every request "
            "carries `Authorization: Bearer <API key or JWT>`; the tenant comes from it. Errors "
            "are SCIM Error bodies.",
        },
        "security": [{"bearer": []}],
        "paths": paths(header_strategy),
        "components": components(header_strategy, limits),
    }


def servers(strategy: UrlStrategy, request: Request) -> list[JsonSchema]:
    """The SCIM base URL of `strategy`, with the tenant as a server variable where the URL
    names it. Without a public URL it is relative to this document's origin, unless the host
    names the tenant: then the request's Host must be trusted, as for every rendered URL."""
    relative = strategy.origins.public is None and not isinstance(strategy, SubdomainStrategy)
    url = strategy.mount if relative else strategy.base_url(request, "{tenant}")
    if "{tenant}" not in url:
        return [{"url": url}]
    tenant = {"default": "dev", "description": "The tenant's id."}
    return [{"url": url, "variables": {"tenant": tenant}}]


def openapi_endpoint(
    strategy: UrlStrategy, limits: PublishedLimits = DEFAULT_PUBLISHED_LIMITS
) -> Callable[[Request], Awaitable[Response]]:
    document = build_document(isinstance(strategy, HeaderStrategy), limits)

    async def openapi(request: Request) -> Response:
        body = orjson.dumps({**document, "servers": servers(strategy, request)})
        return Response(body, media_type="application/json")

    return openapi
