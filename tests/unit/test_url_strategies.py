"""Where rendered URLs point: the public URL when set, else the request's Host when trusted."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from scimtenancy_common.settings import Settings
from scimtenancy_dev.main import banner
from scimtenancy_transcoder.errors import HttpScimError
from scimtenancy_transcoder.main import load_transcoder_settings
from scimtenancy_transcoder.openapi import servers
from scimtenancy_transcoder.strategies import (
    SHOWN_HOST_CHARS,
    UrlSettingsError,
    UrlStrategy,
    parse_host,
    strategy_for,
)

PUBLIC = "https://scim.example.com:8443"


def request(
    host: str | None,
    scheme: str = "http",
    headers: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
) -> Request:
    raw = [] if host is None else [(b"host", host.encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "scheme": scheme,
        "server": ("10.0.0.5", 8080),
        "path": "/scim/v2/Users",
        "query_string": b"",
        "headers": raw,
        "path_params": path_params or {},
    }
    return Request(scope)


def strategy(**settings: Any) -> UrlStrategy:
    return strategy_for(Settings(**settings))


def refusal(strategy: UrlStrategy, req: Request, hint: str | None = "acme") -> HttpScimError:
    with pytest.raises(HttpScimError) as raised:
        strategy.base_url(req, hint)
    return raised.value


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("localhost", ("localhost", None)),
        ("LocalHost.:8080", ("localhost", 8080)),
        ("127.0.0.1:1", ("127.0.0.1", 1)),
        ("[::1]:8080", ("[::1]", 8080)),
        ("[0:0::1]", ("[::1]", None)),
        ("scim_app:80", ("scim_app", 80)),
        ("host:", ("host", None)),
    ],
)
def test_host_headers_are_read_in_one_form(text: str, parsed: tuple[str, int | None]) -> None:
    assert parse_host(text) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "evil.example.com@127.0.0.1",
        "127.0.0.1/evil",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:80:80",
        "[evil",
        "[not::an::address]",
        "::1",
        "a b",
        "-lead",
        ".",
    ],
)
def test_malformed_hosts_are_none(text: str) -> None:
    assert parse_host(text) is None


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("localhost:8080", "http://localhost:8080"),
        ("LOCALHOST", "http://localhost"),
        ("localhost.", "http://localhost"),
        ("127.0.0.1:9", "http://127.0.0.1:9"),
        ("[::1]:8080", "http://[::1]:8080"),
        ("[0::1]", "http://[::1]"),
    ],
)
def test_default_trusted_hosts_are_rendered(host: str, origin: str) -> None:
    assert strategy().base_url(request(host), "acme") == f"{origin}/tenants/acme/scim/v2"


@pytest.mark.parametrize(
    "host",
    [
        "evil.example.com",
        "evil.example.com:8080",
        "localhost.evil.example.com",
        "127.0.0.1.evil.example.com",
        "evil.example.com@127.0.0.1",
        "127.0.0.1/evil",
        "10.0.0.5",
        "",
    ],
)
def test_untrusted_hosts_get_400_on_every_strategy(host: str) -> None:
    for name in ("path", "header"):
        refused = refusal(strategy(url_strategy=name), request(host))
        assert refused.status == 400
        assert refused.detail == f"host {host!r} is not served here"


def test_a_missing_host_is_not_served() -> None:
    assert refusal(strategy(), request(None)).status == 400


def test_the_refused_host_is_echoed_short() -> None:
    host = "a" * 5000 + ".example.com"
    refused = refusal(strategy(), request(host))
    assert refused.detail == f"host {'a' * SHOWN_HOST_CHARS + '...'!r} is not served here"


def test_trusted_patterns_match_exactly_or_subdomains() -> None:
    path = strategy(trusted_hosts=["scim.example.com", "*.corp.example", "2001:db8::1"])
    for host in ("scim.example.com", "a.corp.example", "a.b.corp.example:81", "[2001:db8::1]"):
        assert path.base_url(request(host), "t").startswith(f"http://{host.lower()}/")
    for host in ("corp.example", "xcorp.example", "localhost", "www.scim.example.com"):
        assert refusal(path, request(host)).status == 400


def test_the_scheme_is_the_connections() -> None:
    assert strategy().base_url(request("localhost", "https"), "t").startswith("https://localhost/")


def test_path_and_header_strategies_render_the_public_url_whatever_the_host() -> None:
    for host in ("evil.example.com", "localhost", "[evil", ""):
        assert (
            strategy(public_url=PUBLIC).base_url(request(host), "acme")
            == f"{PUBLIC}/tenants/acme/scim/v2"
        )
        header = strategy(url_strategy="header", public_url=PUBLIC + "/")
        assert header.base_url(request(host, "https"), None) == f"{PUBLIC}/scim/v2"


def test_subdomain_strategy_renders_the_tenant_under_the_base_domain() -> None:
    subdomain = strategy(url_strategy="subdomain", base_domain="Scim.Example.com")
    req = request("ACME.scim.example.com:8443", "https")
    assert subdomain.tenant_hint(req) == "acme"
    assert subdomain.base_url(req, "acme") == "https://acme.scim.example.com:8443/scim/v2"


def test_subdomain_strategy_takes_scheme_and_port_from_the_public_url() -> None:
    subdomain = strategy(
        url_strategy="subdomain", base_domain="scim.example.com", public_url=PUBLIC
    )
    req = request("acme.scim.example.com:1234")
    assert subdomain.tenant_hint(req) == "acme"
    assert subdomain.base_url(req, "acme") == "https://acme.scim.example.com:8443/scim/v2"


@pytest.mark.parametrize(
    "host",
    [
        "scim.example.com",
        "a.b.scim.example.com",
        "acme.example.org",
        "xscim.example.com",
        "localhost",
        "[evil",
        "",
    ],
)
def test_subdomain_strategy_refuses_other_hosts_with_404(host: str) -> None:
    subdomain = strategy(url_strategy="subdomain", base_domain="scim.example.com")
    with pytest.raises(HttpScimError) as raised:
        subdomain.tenant_hint(request(host))
    assert (raised.value.status, raised.value.detail) == (
        404,
        f"no tenant is served at host {host!r}",
    )


def test_header_strategy_order() -> None:
    header = strategy(url_strategy="header")
    both = request("localhost", headers={"Tenant": "c", "X-Client-ID": "b"})
    assert header.tenant_hint(both) == "b"
    assert header.tenant_hint(request("h", headers={"X-Tenant-ID": "a", "Tenant": "c"})) == "a"
    assert header.tenant_hint(request("h")) is None


def test_path_strategy_reads_the_tenant_from_the_path() -> None:
    req = request("localhost", path_params={"tenant": "acme"})
    assert strategy().tenant_hint(req) == "acme"


@pytest.mark.parametrize(
    ("public_url", "problem"),
    [
        ("ftp://scim.example.com", "the scheme must be http or https"),
        ("scim.example.com", "the scheme must be http or https"),
        ("https://", "needs a host name"),
        ("https://user@scim.example.com", "needs a host name"),
        ("https://scim.example.com:0", "needs a host name"),
        ("https://scim.example.com/scim", "without a path, query or fragment"),
        ("https://scim.example.com?x=1", "without a path, query or fragment"),
        ("https://scim.example.com/#top", "without a path, query or fragment"),
    ],
)
def test_a_bad_public_url_is_refused_at_start(public_url: str, problem: str) -> None:
    with pytest.raises(UrlSettingsError) as raised:
        strategy(public_url=public_url)
    [line] = raised.value.problems
    assert line.startswith("SCIMTENANCY_PUBLIC_URL: ")
    assert problem in line
    assert line.endswith(f"(got {public_url!r})")


def test_every_bad_url_setting_is_named() -> None:
    with pytest.raises(UrlSettingsError) as raised:
        strategy(
            url_strategy="subdomain",
            base_domain="scim.example.com",
            public_url="https://other.example.com",
            trusted_hosts=["ok.example.com", "host:8080", "https://x", "*", "a.*.com", ""],
        )
    assert raised.value.problems == [
        "SCIMTENANCY_TRUSTED_HOSTS: not a host name, address or *.domain: "
        "'host:8080', 'https://x', '*', 'a.*.com', ''",
        "SCIMTENANCY_PUBLIC_URL: with the subdomain strategy its host must be "
        "SCIMTENANCY_BASE_DOMAIN 'scim.example.com' (got 'other.example.com')",
    ]


def test_a_base_domain_that_matches_no_host_is_refused() -> None:
    with pytest.raises(UrlSettingsError) as raised:
        strategy(url_strategy="subdomain", base_domain="scim.test:8080")
    assert raised.value.problems == [
        "SCIMTENANCY_BASE_DOMAIN: not a domain name (got 'scim.test:8080')"
    ]


def test_the_transcoder_stops_with_status_2_on_a_bad_public_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        load_transcoder_settings(["--public-url", "https://scim.example.com/scim/v2"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "invalid settings:",
        "  SCIMTENANCY_PUBLIC_URL: must be scheme://host[:port], without a path, query or "
        "fragment (got 'https://scim.example.com/scim/v2')",
    ]


def test_openapi_servers_echo_no_untrusted_host() -> None:
    forged = request("evil.example.com:666")
    assert servers(strategy(), forged)[0]["url"] == "/tenants/{tenant}/scim/v2"
    assert servers(strategy(url_strategy="header"), forged) == [{"url": "/scim/v2"}]
    assert servers(strategy(public_url=PUBLIC), forged)[0]["url"] == (
        f"{PUBLIC}/tenants/{{tenant}}/scim/v2"
    )
    subdomain = strategy(url_strategy="subdomain", base_domain="scim.test")
    assert servers(subdomain, request("127.0.0.1:8080"))[0]["url"] == (
        "http://{tenant}.scim.test:8080/scim/v2"
    )
    with pytest.raises(HttpScimError) as raised:
        servers(subdomain, forged)
    assert raised.value.status == 400


def test_the_dev_banner_names_a_host_that_is_served() -> None:
    wildcard = banner(Settings(http_host="0.0.0.0"), 8080, 50051)  # noqa: S104
    assert "SCIM base URL  http://127.0.0.1:8080/tenants/dev/scim/v2" in wildcard
    public = banner(Settings(public_url="https://scim.example.com"), 8080, 50051)
    assert "SCIM base URL  https://scim.example.com/tenants/dev/scim/v2" in public
    subdomain = banner(Settings(url_strategy="subdomain", base_domain="scim.test"), 8080, 1)
    assert "--resolve dev.scim.test:8080:127.0.0.1 -X POST http://dev.scim.test:8080/" in (
        subdomain
    )
