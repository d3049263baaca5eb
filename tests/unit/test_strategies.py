from __future__ import annotations

import pytest
from starlette.requests import Request

from scimtenancy_transcoder.errors import HttpScimError
from scimtenancy_transcoder.strategies import HeaderStrategy, PathStrategy, SubdomainStrategy


def request(
    host: str,
    path: str = "/scim/v2/Users",
    headers: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
) -> Request:
    raw = [(b"host", host.encode())] + [
        (k.lower().encode(), v.encode()) for k, v in (headers or {}).items()
    ]
    scope = {
        "type": "http",
        "scheme": "https",
        "server": ("x", 443),
        "path": path,
        "query_string": b"",
        "headers": raw,
        "path_params": path_params or {},
    }
    return Request(scope)


def test_path_strategy() -> None:
    strategy = PathStrategy()
    req = request("api.example.com", path_params={"tenant": "acme"})
    assert strategy.tenant_hint(req) == "acme"
    assert strategy.base_url(req, "acme") == "https://api.example.com/tenants/acme/scim/v2"


def test_subdomain_strategy() -> None:
    strategy = SubdomainStrategy("scim.example.com")
    req = request("ACME.scim.example.com:8443")
    assert strategy.tenant_hint(req) == "acme"
    assert strategy.base_url(req, "acme") == "https://ACME.scim.example.com:8443/scim/v2"


@pytest.mark.parametrize(
    "host", ["scim.example.com", "a.b.scim.example.com", "acme.example.org", "xscim.example.com"]
)
def test_subdomain_strategy_refuses_other_hosts(host: str) -> None:
    with pytest.raises(HttpScimError) as raised:
        SubdomainStrategy("scim.example.com").tenant_hint(request(host))
    assert raised.value.status == 404


def test_header_strategy_order() -> None:
    strategy = HeaderStrategy()
    both = request("h", headers={"Tenant": "c", "X-Client-ID": "b"})
    assert strategy.tenant_hint(both) == "b"
    assert strategy.tenant_hint(request("h", headers={"X-Tenant-ID": "a", "Tenant": "c"})) == "a"
    assert strategy.tenant_hint(request("h")) is None
    assert strategy.base_url(both, "b") == "https://h/scim/v2"
