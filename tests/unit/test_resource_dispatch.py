"""The resource routes found without Starlette's router: the same handler and path
parameters as Starlette's routing would give, or the request is left to Starlette."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Mount, Router
from starlette.types import Message, Receive, Scope, Send

from scimtenancy_common.settings import Settings
from scimtenancy_transcoder.app import CanonicalEndpoints, Routing, routing
from scimtenancy_transcoder.dispatch import MountPattern, ResourceDispatch
from scimtenancy_transcoder.errors import HttpScimError
from scimtenancy_transcoder.rpc_client import ResourceClient
from scimtenancy_transcoder.strategies import strategy_for

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
SEGMENTS = [
    *("tenants", "acme", "scim", "v2", "v1", "Users", "users", "USER", "user", "Groups"),
    *("group", "GROUPS", "Bulk", "bulk", "Me", ".search", ".SEARCH", "Schemas"),
    *("ResourceTypes", "ServiceProviderConfig", "abc", "", "x y", "%2F"),
]


def _scope(method: str, path: str, **extra: Any) -> Scope:
    return {"type": "http", "method": method, "path": path, "root_path": "", **extra}


def _routing(strategy: str) -> Routing:
    settings = Settings(url_strategy=strategy, base_domain="scim.example")
    client = ResourceClient("127.0.0.1:1", 1.0)  # never called: only routes are compared
    return routing(client, strategy_for(settings), 1024)


ROUTINGS = {name: _routing(name) for name in ("path", "header", "subdomain")}


def _starlette_choice(found: Routing, scope: Scope) -> tuple[str, dict[str, str]] | None:
    """The endpoint Starlette's routing calls, and its path parameters (mount's included)."""
    for route in found.starlette.routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if match is not Match.FULL or not isinstance(route, Mount):
            return None  # a 405, or a route outside the mount
        inner = {**scope, **child}
        assert isinstance(route.app, CanonicalEndpoints)
        canonical = route.app._canonical(inner["path"].removeprefix(inner["root_path"]))
        inner["path"] = inner["root_path"] + canonical
        router = route.app.app
        assert isinstance(router, Router)
        for resource_route in router.routes:
            resource_match, resource_child = resource_route.matches(inner)
            if resource_match is Match.FULL:
                endpoint = resource_child["endpoint"]
                return endpoint.__name__, resource_child["path_params"]
        return None
    return None


PREFIXES = ["/tenants/acme/scim/v2", "/scim/v2", "/tenants/acme/scim/v1", "/tenants/scim/v2", ""]


@pytest.mark.parametrize("strategy", sorted(ROUTINGS))
def test_a_routed_request_goes_where_starlette_would_send_it(strategy: str) -> None:
    """Every method on every path of up to two segments below each prefix."""
    found = ROUTINGS[strategy]
    tails = [[], *([a] for a in SEGMENTS), *([a, b] for a in SEGMENTS for b in SEGMENTS)]
    routed_count = 0
    for prefix in PREFIXES:
        for tail in tails:
            path = "/".join([prefix, *tail]) if tail else prefix or "/"
            for method in METHODS:
                routed = found.dispatch.route(_scope(method, path))
                if routed is None:
                    continue  # Starlette answers it, as before
                routed_count += 1
                handler, parameters = routed
                choice = _starlette_choice(found, _scope(method, path))
                assert (handler.__name__, parameters) == choice, (method, path)
    assert routed_count > 500  # the comparison covered the resource routes


@pytest.mark.parametrize(
    ("method", "path", "handler", "parameters"),
    [
        ("GET", "/tenants/acme/scim/v2/Users/abc", "get", {"id": "abc", "endpoint": "Users"}),
        ("PUT", "/tenants/acme/scim/v2/users/abc", "replace", {"id": "abc", "endpoint": "Users"}),
        ("PATCH", "/tenants/acme/scim/v2/GROUP/g1", "patch", {"id": "g1", "endpoint": "Groups"}),
        ("DELETE", "/tenants/acme/scim/v2/Groups/g1", "delete", {"id": "g1", "endpoint": "Groups"}),
        ("GET", "/tenants/acme/scim/v2/Users", "list", {"endpoint": "Users"}),
        ("POST", "/tenants/acme/scim/v2/user", "create", {"endpoint": "Users"}),
    ],
)
def test_resource_routes_are_found_in_any_spelling(
    method: str, path: str, handler: str, parameters: dict[str, str]
) -> None:
    routed = ROUTINGS["path"].dispatch.route(_scope(method, path))
    assert routed is not None
    assert routed[0].__name__ == handler
    assert routed[1] == {"tenant": "acme", **parameters}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("HEAD", "/tenants/acme/scim/v2/Users/abc"),  # Starlette's GET route answers HEAD
        ("POST", "/tenants/acme/scim/v2/Users/abc"),  # 405 with its Allow header
        ("GET", "/tenants/acme/scim/v2/Users/"),  # no id: 404
        ("POST", "/tenants/acme/scim/v2/Users/.search"),
        ("GET", "/tenants/acme/scim/v2/Users/.SEARCH"),
        ("GET", "/tenants/acme/scim/v2/Users/abc/def"),
        ("GET", "/tenants/acme/scim/v2/Bulk"),
        ("GET", "/tenants/acme/scim/v2/Me"),
        ("GET", "/tenants/acme/scim/v2/Schemas/abc"),
        ("GET", "/tenants//scim/v2/Users/abc"),  # no tenant
        ("GET", "/tenants/acme/scim/v1/Users/abc"),
        ("GET", "/tenants/acme/scim/v2"),
        ("GET", "/healthz"),
    ],
)
def test_other_requests_are_left_to_starlette(method: str, path: str) -> None:
    assert ROUTINGS["path"].dispatch.route(_scope(method, path)) is None


def test_a_root_path_or_another_scope_type_is_left_to_starlette() -> None:
    dispatch = ROUTINGS["path"].dispatch
    path = "/tenants/acme/scim/v2/Users/abc"
    assert dispatch.route(_scope("GET", path, root_path="/proxy")) is None
    assert dispatch.route({"type": "websocket", "path": path}) is None


def test_a_mount_matches_its_literal_segments_and_one_segment_per_parameter() -> None:
    mount = MountPattern("/tenants/{tenant}/scim/v2")
    assert mount.split("/tenants/a/scim/v2/Users") == ({"tenant": "a"}, ["Users"])
    assert mount.split("/Tenants/a/scim/v2/Users") is None
    assert mount.split("/tenants/a/scim/v2") is None
    assert MountPattern("/scim/v2").split("/scim/v2/Users/1") == ({}, ["Users", "1"])


async def _answer(dispatch: ResourceDispatch, scope: Scope) -> tuple[int, bytes]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await dispatch(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def _refused(request: Request) -> Response:
    raise HttpScimError(409, "uniqueness: userName taken", "uniqueness")


async def _broken(request: Request) -> Response:
    raise RuntimeError("a defect")


async def _unexpected(request: Request, error: Exception) -> Response:
    assert isinstance(error, RuntimeError)
    return Response(b"internal", 500)


async def _fallback(scope: Scope, receive: Receive, send: Send) -> None:
    await Response(b"fallback", 299)(scope, receive, send)


def _dispatch() -> ResourceDispatch:
    return ResourceDispatch(
        "/scim/v2",
        {"Users": "Users"},
        collection={"POST": _refused},
        member={"GET": _broken},
        unexpected=_unexpected,
        fallback=_fallback,
    )


async def test_a_handler_s_errors_are_answered_as_the_application_answers_them() -> None:
    status, body = await _answer(_dispatch(), _scope("POST", "/scim/v2/Users"))
    assert status == 409
    assert b'"scimType":"uniqueness"' in body
    assert await _answer(_dispatch(), _scope("GET", "/scim/v2/Users/1")) == (500, b"internal")
    assert await _answer(_dispatch(), _scope("GET", "/scim/v2/Groups")) == (299, b"fallback")
