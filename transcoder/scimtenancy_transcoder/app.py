"""The Starlette application: routes under the strategy's mount, SCIM errors for everything."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route, Router

from scimtenancy_common.logs import bounded
from scimtenancy_transcoder.errors import HttpScimError, error_response
from scimtenancy_transcoder.observability import middleware
from scimtenancy_transcoder.openapi import OPENAPI_PATH, openapi_endpoint
from scimtenancy_transcoder.openapi_components import DEFAULT_PUBLISHED_LIMITS, PublishedLimits
from scimtenancy_transcoder.probes import healthz, readiness
from scimtenancy_transcoder.routes import ScimRoutes
from scimtenancy_transcoder.rpc_client import ResourceClient
from scimtenancy_transcoder.strategies import UrlStrategy

logger = logging.getLogger(__name__)


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


def create_app(
    client: ResourceClient,
    strategy: UrlStrategy,
    max_body_bytes: int,
    limits: PublishedLimits = DEFAULT_PUBLISHED_LIMITS,
) -> Starlette:
    scim = ScimRoutes(client, strategy, max_body_bytes)
    every_method = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    discovery = [
        Route(path, scim.discovery, methods=every_method)
        for kind in ("ServiceProviderConfig", "ResourceTypes", "Schemas")
        for path in (f"/{kind}", f"/{kind}/{{id}}")
    ]
    routes = [
        *discovery,
        Route("/Bulk", scim.bulk, methods=["POST"]),
        Route("/Me", scim.me, methods=["GET", "PUT", "PATCH", "DELETE"]),
        Route("/.search", scim.search, methods=["POST"]),
        Route("/{endpoint}/.search", scim.search, methods=["POST"]),
        Route("/{endpoint}", scim.list, methods=["GET"]),
        Route("/{endpoint}", scim.create, methods=["POST"]),
        Route("/{endpoint}/{id}", scim.get, methods=["GET"]),
        Route("/{endpoint}/{id}", scim.replace, methods=["PUT"]),
        Route("/{endpoint}/{id}", scim.patch, methods=["PATCH"]),
        Route("/{endpoint}/{id}", scim.delete, methods=["DELETE"]),
    ]
    other_version = strategy.mount.replace("/scim/v2", "/scim/{version}/{rest:path}")
    application = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readiness(client)),
            Route(OPENAPI_PATH, openapi_endpoint(strategy, limits)),
            # No trailing-slash redirects: Starlette renders them from the request's Host.
            Mount(strategy.mount, app=Router(routes=routes, redirect_slashes=False)),
            Route(other_version, _unsupported_version, methods=every_method),
        ],
        middleware=middleware(),
        exception_handlers={
            HttpScimError: _scim_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    application.router.redirect_slashes = False
    return application
