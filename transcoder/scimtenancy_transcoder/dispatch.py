"""The resource endpoints' requests, routed without Starlette's router and middleware layers.

`/{endpoint}` and `/{endpoint}/{id}` of Users and Groups (any case, as CanonicalEndpoints
routes them) are most of what identity providers send; each layer of Starlette's stack (its
two error middlewares, the router's regular expressions over every route, the mount) costs
time on every one. Here their route is found by splitting the path once, and the handler's
errors become SCIM errors as the application's exception handlers would make them. Every
other request, and any shape this does not recognise, goes to the Starlette application
unchanged, so what it answers (404, 405, discovery, /Me, /Bulk, searches) stays its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from scimtenancy_transcoder.errors import HttpScimError, error_response

Handler = Callable[[Request], Awaitable[Response]]
Unexpected = Callable[[Request, Exception], Awaitable[Response]]


class MountPattern:
    """The mount of the URL strategy (`/scim/v2`, `/tenants/{tenant}/scim/v2`) matched as its
    segments: literal ones exactly, each `{name}` by one non-empty segment (as Starlette's
    default path parameter does)."""

    def __init__(self, mount: str) -> None:
        self._segments = mount.split("/")
        self._parameters = {
            index: segment[1:-1]
            for index, segment in enumerate(self._segments)
            if segment.startswith("{") and segment.endswith("}")
        }

    def split(self, path: str) -> tuple[dict[str, str], list[str]] | None:
        """The mount's parameters and the segments below it, or None outside the mount."""
        segments = path.split("/")
        count = len(self._segments)
        if len(segments) <= count:
            return None
        parameters: dict[str, str] = {}
        for index, expected in enumerate(self._segments):
            found = segments[index]
            name = self._parameters.get(index)
            if name is None:
                if found != expected:
                    return None
            elif not found:
                return None
            else:
                parameters[name] = found
        return parameters, segments[count:]


class ResourceDispatch:
    """Calls the handler of a resource route (method, endpoint and id taken from the path), or
    hands the request to `fallback`."""

    def __init__(
        self,
        mount: str,
        endpoints: Mapping[str, str],
        collection: Mapping[str, Handler],
        member: Mapping[str, Handler],
        unexpected: Unexpected,
        fallback: ASGIApp,
    ) -> None:
        self._mount = MountPattern(mount)
        self._endpoints = {name.lower(): canonical for name, canonical in endpoints.items()}
        self._collection = dict(collection)
        self._member = dict(member)
        self._unexpected = unexpected
        self._fallback = fallback

    def route(self, scope: Scope) -> tuple[Handler, dict[str, str]] | None:
        """The handler and path parameters of a resource route, or None for anything else."""
        if scope["type"] != "http" or scope.get("root_path"):
            return None
        found = self._mount.split(scope["path"])
        if found is None:
            return None
        parameters, below = found
        endpoint = self._endpoints.get(below[0].lower()) if below[0] else None
        if endpoint is None:
            return None
        parameters["endpoint"] = endpoint
        if len(below) == 1:
            handler = self._collection.get(scope["method"])
        elif len(below) == 2 and below[1] and below[1].lower() != ".search":
            handler = self._member.get(scope["method"])
            parameters["id"] = below[1]
        else:
            return None
        return None if handler is None else (handler, parameters)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routed = self.route(scope)
        if routed is None:
            await self._fallback(scope, receive, send)
            return
        handler, parameters = routed
        scope["path_params"] = parameters
        scope["endpoint"] = handler
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except HttpScimError as error:
            response = error_response(error)
        except Exception as error:  # the application's handler of everything else
            response = await self._unexpected(request, error)
        await response(scope, receive, send)
