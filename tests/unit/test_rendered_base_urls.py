"""Base URLs rendered once per scheme, Host and tenant hint: each request still gets its own
tenant's URL at its own origin, refused Hosts stay refused, and the cache stays bounded."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from scimtenancy_common.settings import Settings
from scimtenancy_transcoder.errors import HttpScimError
from scimtenancy_transcoder.routes import MAX_KEPT_HOST, MAX_RENDERED_BASE_URLS, ScimRoutes
from scimtenancy_transcoder.rpc_client import ResourceClient
from scimtenancy_transcoder.strategies import strategy_for


def _routes(**settings: object) -> ScimRoutes:
    strategy = strategy_for(Settings(**settings))  # type: ignore[arg-type]
    return ScimRoutes(ResourceClient("127.0.0.1:1", 1.0), strategy, 1024)


def _request(tenant: str, host: str = "127.0.0.1:8080", scheme: str = "http") -> Request:
    headers = [(b"host", host.encode()), (b"authorization", b"Bearer k")]
    return Request(
        {
            "type": "http",
            "scheme": scheme,
            "path": f"/tenants/{tenant}/scim/v2/Users",
            "query_string": b"",
            "headers": headers,
            "path_params": {"tenant": tenant},
        }
    )


def test_each_tenant_and_origin_gets_its_own_base_url_every_time() -> None:
    routes = _routes(trusted_hosts=["127.0.0.1", "scim.example"])
    for _ in range(2):  # rendered, then from the cache
        assert routes._options(_request("a")).base_url == "http://127.0.0.1:8080/tenants/a/scim/v2"
        assert routes._options(_request("b")).base_url == "http://127.0.0.1:8080/tenants/b/scim/v2"
        secure = routes._options(_request("a", "scim.example", "https"))
        assert secure.base_url == "https://scim.example/tenants/a/scim/v2"


def test_a_refused_host_is_refused_every_time() -> None:
    routes = _routes(trusted_hosts=["127.0.0.1"])
    for _ in range(2):
        with pytest.raises(HttpScimError) as refused:
            routes._options(_request("a", "attacker.example"))
        assert refused.value.status == 400


def test_the_cache_is_bounded_whatever_the_clients_send() -> None:
    routes = _routes(trusted_hosts=["127.0.0.1"])
    for number in range(MAX_RENDERED_BASE_URLS + 10):
        routes._options(_request(f"t{number}"))
    assert len(routes._base_urls) <= MAX_RENDERED_BASE_URLS
    assert routes._options(_request("t3")).base_url == "http://127.0.0.1:8080/tenants/t3/scim/v2"


def test_a_host_longer_than_any_name_is_rendered_but_not_kept() -> None:
    routes = _routes(trusted_hosts=["*.scim.example"])
    long_host = "a." * 4000 + "scim.example"  # admitted by the wildcard
    assert len(long_host) > MAX_KEPT_HOST
    for _ in range(2):
        options = routes._options(_request("a", long_host))
        assert options.base_url == f"http://{long_host}/tenants/a/scim/v2"
    assert routes._base_urls == {}
