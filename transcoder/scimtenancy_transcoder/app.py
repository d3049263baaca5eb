"""The Starlette application: routes under the strategy's mount, SCIM errors for everything."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from scimtenancy_common.logs import bounded
from scimtenancy_transcoder.dispatch import ResourceDispatch
from scimtenancy_transcoder.errors import HttpScimError, error_response
from scimtenancy_transcoder.observability import observed
from scimtenancy_transcoder.openapi import OPENAPI_PATH, openapi_endpoint
from scimtenancy_transcoder.openapi_components import DEFAULT_PUBLISHED_LIMITS, PublishedLimits
from scimtenancy_transcoder.probes import healthz, readiness
from scimtenancy_transcoder.routes import ScimRoutes, no_such_endpoint, read_only
from scimtenancy_transcoder.rpc_client import ResourceClient
from scimtenancy_transcoder.strategies import UrlStrategy

logger = logging.getLogger(__name__)
SEARCH = ".search"
# RFC 7644 §3.2's resource endpoints and the resource type each serves; the server also
# resolves a type's name, so `/User` routes, and renders its URLs, as `/Users`.
RESOURCE_ENDPOINTS = {"Users": "User", "Groups": "Group"}
# Each resource endpoint, and each resource type's name → its endpoint.
RESOURCE_SPELLINGS = {
    key: endpoint for endpoint, name in RESOURCE_ENDPOINTS.items() for key in (endpoint, name)
}
NOT_READS = ["HEAD", "POST", "PUT", "PATCH", "DELETE"]


class CanonicalEndpoints:
    """Routes an endpoint named in any case (`/users`, `/GROUPS/{id}`, `/bulk`,
    `/users/.SEARCH`) as its canonical spelling, so that every URL rendered from the route
    (`Location`) is canonical. Clients spell endpoints as loosely as attribute names, which
    are case-insensitive (RFC 7643 §2.1). Only the path below the mount is read: the tenant
    in a path-strategy URL keeps its own rules."""

    def __init__(self, app: ASGIApp, spellings: Mapping[str, str]) -> None:
        self.app = app
        self._canonical_of = {spelling.lower(): name for spelling, name in spellings.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root, path = scope.get("root_path", ""), scope["path"]
        below = path.removeprefix(root)
        canonical = self._canonical(below)
        if canonical != below:
            scope = {**scope, "path": root + canonical}
        await self.app(scope, receive, send)

    def _canonical(self, path: str) -> str:
        """`/{endpoint}[/{id}]` with the endpoint, and a trailing `.search`, canonical."""
        endpoint, slash, rest = path[1:].partition("/")
        if rest.lower() == SEARCH:
            rest = SEARCH
        return path[:1] + self._canonical_of.get(endpoint.lower(), endpoint) + slash + rest


def _spellings(routes: list[Route]) -> dict[str, str]:
    """Each endpoint named by a route, and each resource type's name → its endpoint."""
    named = {route.path.split("/")[1] for route in routes if "{" not in route.path}
    return {name: name for name in named} | RESOURCE_SPELLINGS


async def _scim_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpScimError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = {404: "no such endpoint", 405: f"method {request.method} is not allowed here"}
    response = error_response(
        HttpScimError(exc.status_code, detail.get(exc.status_code, exc.detail))
    )
    response.headers.update(exc.headers or {})
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    path = bounded(request.url.path)
    logger.error("unexpected failure on %s %s", bounded(request.method), path, exc_info=exc)
    return error_response(HttpScimError(500, "internal error"))


async def _unsupported_version(request: Request) -> Response:
    version = request.path_params["version"]
    return error_response(
        HttpScimError(
            400, f"SCIM protocol version {version!r} is not supported; use v2", "invalidVers"
        )
    )


def _discovery_routes(scim: ScimRoutes) -> list[Route]:
    """One GET route per discovery document (RFC 7644 §4). Every other method, HEAD too, is
    refused as a write before the resource routes could take the path as an endpoint."""
    reads = {
        "/ServiceProviderConfig": scim.service_provider_config,
        "/ServiceProviderConfig/{id}": no_such_endpoint,
        "/ResourceTypes": scim.resource_types,
        "/ResourceTypes/{id}": scim.resource_type,
        "/Schemas": scim.schemas,
        "/Schemas/{id}": scim.schema,
    }
    refused = [Route(path, read_only, methods=NOT_READS) for path in reads]
    return [*refused, *(Route(path, read, methods=["GET"]) for path, read in reads.items())]


def _resource_dispatch(scim: ScimRoutes, mount: str, fallback: Starlette) -> ResourceDispatch:
    """The resource routes of `create_app`, found without Starlette's router."""
    return ResourceDispatch(
        mount,
        RESOURCE_SPELLINGS,
        collection={"GET": scim.list, "POST": scim.create},
        member={"GET": scim.get, "PUT": scim.replace, "PATCH": scim.patch, "DELETE": scim.delete},
        unexpected=_unexpected,
        fallback=fallback,
    )


@dataclass(frozen=True)
class Routing:
    """The resource routes found directly, and the Starlette application for the rest."""

    dispatch: ResourceDispatch
    starlette: Starlette


def create_app(
    client: ResourceClient,
    strategy: UrlStrategy,
    max_body_bytes: int,
    limits: PublishedLimits = DEFAULT_PUBLISHED_LIMITS,
) -> ASGIApp:
    """The transcoder's ASGI application: the resource routes dispatched directly, everything
    else by Starlette; both observed (request id, access line, metrics, span)."""
    found = routing(client, strategy, max_body_bytes, limits)
    return observed(found.dispatch, found.starlette)


def routing(
    client: ResourceClient,
    strategy: UrlStrategy,
    max_body_bytes: int,
    limits: PublishedLimits = DEFAULT_PUBLISHED_LIMITS,
) -> Routing:
    scim = ScimRoutes(client, strategy, max_body_bytes)
    every_method = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    routes = [
        *_discovery_routes(scim),
        Route("/Bulk", scim.bulk, methods=["POST"]),
        Route("/Me", scim.get_me, methods=["GET"]),
        Route("/Me", scim.replace_me, methods=["PUT"]),
        Route("/Me", scim.patch_me, methods=["PATCH"]),
        Route("/Me", scim.delete_me, methods=["DELETE"]),
        Route(f"/{SEARCH}", scim.search, methods=["POST"]),
        Route(f"/{{endpoint}}/{SEARCH}", scim.search, methods=["POST"]),
        Route("/{endpoint}", scim.list, methods=["GET"]),
        Route("/{endpoint}", scim.create, methods=["POST"]),
        Route("/{endpoint}/{id}", scim.get, methods=["GET"]),
        Route("/{endpoint}/{id}", scim.replace, methods=["PUT"]),
        Route("/{endpoint}/{id}", scim.patch, methods=["PATCH"]),
        Route("/{endpoint}/{id}", scim.delete, methods=["DELETE"]),
    ]
    endpoints = CanonicalEndpoints(
        Router(routes=routes, redirect_slashes=False), _spellings(routes)
    )
    other_version = strategy.mount.replace("/scim/v2", "/scim/{version}/{rest:path}")
    application = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readiness(client)),
            Route(OPENAPI_PATH, openapi_endpoint(strategy, limits)),
            # No trailing-slash redirects: Starlette renders them from the request's Host.
            Mount(strategy.mount, app=endpoints),
            Route(other_version, _unsupported_version, methods=every_method),
        ],
        exception_handlers={
            HttpScimError: _scim_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    application.router.redirect_slashes = False
    return Routing(_resource_dispatch(scim, strategy.mount, application), application)
