"""Tenant URL strategies: where a URL names its tenant, and how tenant URLs are rendered.

Every rendered URL (`Location` here; `meta.location` and `$ref` by the server, from the base
URL sent as `x-scim-base-url`) starts with the configured public URL, or else with the
request's own origin when its Host is trusted: a client must not be able to make the service
hand out links to a host of its choosing (host-header injection)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from starlette.requests import Request

from scimtenancy_common.settings import ENV_PREFIX, Settings
from scimtenancy_transcoder.errors import HttpScimError

SCIM_PREFIX = "/scim/v2"
# Headers of the header strategy, in the order they are consulted.
TENANT_HEADERS = ("x-tenant-id", "x-client-id", "tenant")
SHOWN_HOST_CHARS = 64  # of a refused Host, echoed in the error's detail
# A DNS name or an IPv4 address, with the optional trailing dot of an absolute name.
_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?\.?", re.IGNORECASE)
# uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2): an IPv6 address is in brackets.
_HOST_AND_PORT = re.compile(r"(\[[^\]]*\]|[^:\[\]]*)(?::([0-9]{0,5}))?")


class UrlSettingsError(ValueError):
    """The URL settings cannot work; `problems` holds one line per bad value."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def host_name(text: str) -> str | None:
    """`text` as hosts are compared and rendered (lower case, no trailing dot, IPv6 compressed
    and in brackets), or None when it is no DNS name, IPv4 or bracketed IPv6 address."""
    if text.startswith("[") and text.endswith("]"):
        try:
            return f"[{ipaddress.IPv6Address(text[1:-1]).compressed}]"
        except ValueError:
            return None
    return text.lower().rstrip(".") if _NAME.fullmatch(text) else None


def parse_host(text: str) -> tuple[str, int | None] | None:
    """The host name and port of a Host header or URL authority, or None when malformed."""
    match = _HOST_AND_PORT.fullmatch(text)
    if match is None:
        return None
    name, port = host_name(match[1]), int(match[2]) if match[2] else None
    if name is None or (port is not None and not 0 < port < 65536):
        return None
    return name, port


def _shown_host(request: Request) -> str:
    host = request.headers.get("host", "")
    return repr(host if len(host) <= SHOWN_HOST_CHARS else host[:SHOWN_HOST_CHARS] + "...")


@dataclass(frozen=True)
class Origin:
    """`scheme://host[:port]`, the start of every rendered URL."""

    scheme: str
    host: str  # as `host_name` gives it
    port: int | None = None

    def url(self, host: str = "") -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"{self.scheme}://{host or self.host}{port}"


@dataclass(frozen=True)
class TrustedHosts:
    """Host names the service answers for: `names` exactly, and any name ending with one of
    `suffixes` (`.example.com` for the pattern `*.example.com`)."""

    names: frozenset[str]
    suffixes: tuple[str, ...] = ()

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self.names or name.endswith(self.suffixes))


@dataclass(frozen=True)
class Origins:
    """Where rendered URLs point: the public origin when one is configured, else the
    request's own origin, provided its Host is trusted (else 400, before any RPC)."""

    public: Origin | None
    trusted: TrustedHosts

    def of(self, request: Request) -> Origin:
        if self.public is not None:
            return self.public
        host = parse_host(request.headers.get("host", ""))
        if host is None or host[0] not in self.trusted:
            raise HttpScimError(400, f"host {_shown_host(request)} is not served here")
        return Origin(request.scope.get("scheme", "http"), *host)


class UrlStrategy(Protocol):
    """Routes are mounted at `mount`; `tenant_hint` reads the tenant a request's URL names
    (None when it names none); `render` gives the SCIM base URL at an origin, and `base_url`
    the one to render for a request (at `origins.of(request)`)."""

    @property
    def mount(self) -> str: ...

    @property
    def origins(self) -> Origins: ...

    def tenant_hint(self, request: Request) -> str | None: ...

    def render(self, origin: Origin, tenant_hint: str | None) -> str: ...

    def base_url(self, request: Request, tenant_hint: str | None) -> str: ...


class _Rendering:
    """`base_url` of every strategy: its `render` at the request's origin."""

    origins: Origins

    def render(self, origin: Origin, tenant_hint: str | None) -> str:
        raise NotImplementedError

    def base_url(self, request: Request, tenant_hint: str | None) -> str:
        return self.render(self.origins.of(request), tenant_hint)


@dataclass(frozen=True)
class PathStrategy(_Rendering):
    origins: Origins
    mount: str = "/tenants/{tenant}" + SCIM_PREFIX

    def tenant_hint(self, request: Request) -> str | None:
        tenant: str = request.path_params["tenant"]
        return tenant

    def render(self, origin: Origin, tenant_hint: str | None) -> str:
        return f"{origin.url()}/tenants/{tenant_hint}{SCIM_PREFIX}"


@dataclass(frozen=True)
class SubdomainStrategy(_Rendering):
    """The tenant is the one label in front of `base_domain` (lower case) in the Host; its
    URLs are `{scheme}://{tenant}.{base_domain}[:port]/scim/v2`, scheme and port from the
    origin."""

    origins: Origins
    base_domain: str
    mount: str = SCIM_PREFIX

    def tenant_hint(self, request: Request) -> str | None:
        host = parse_host(request.headers.get("host", ""))
        name, suffix = host[0] if host else "", "." + self.base_domain
        label = name.removesuffix(suffix) if name.endswith(suffix) else ""
        if not label or "." in label:
            raise HttpScimError(404, f"no tenant is served at host {_shown_host(request)}")
        return label

    def render(self, origin: Origin, tenant_hint: str | None) -> str:
        return f"{origin.url(f'{tenant_hint}.{self.base_domain}')}{SCIM_PREFIX}"


@dataclass(frozen=True)
class HeaderStrategy(_Rendering):
    origins: Origins
    mount: str = SCIM_PREFIX

    def tenant_hint(self, request: Request) -> str | None:
        return next((request.headers[h] for h in TENANT_HEADERS if request.headers.get(h)), None)

    def render(self, origin: Origin, tenant_hint: str | None) -> str:
        return f"{origin.url()}{SCIM_PREFIX}"


def public_origin(url: str) -> Origin:
    """The origin `scheme://host[:port]` that `url` is; ValueError says what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("the scheme must be http or https")
    host = parse_host(parts.netloc)
    if host is None:
        raise ValueError("needs a host name or address, and a port from 1 to 65535 if any")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("must be scheme://host[:port], without a path, query or fragment")
    return Origin(parts.scheme, *host)


def _pattern(entry: str) -> str | None:
    """A trusted-hosts entry (`name`, `*.domain`, an IPv6 address with or without brackets)
    in `host_name` form, or None when it can match no Host."""
    wildcard = entry.startswith("*.")
    text = entry.removeprefix("*.")
    name = host_name(f"[{text}]" if ":" in text and not text.startswith("[") else text)
    if name is None or (wildcard and name.startswith("[")):
        return None
    return "*." + name if wildcard else name


def _trusted(patterns: list[str]) -> TrustedHosts:
    names = frozenset(p for p in patterns if not p.startswith("*."))
    return TrustedHosts(names, tuple(p[1:] for p in patterns if p.startswith("*.")))


def _subdomain_problems(base_domain: str, public: Origin | None) -> list[str]:
    domain = host_name(base_domain)
    if domain is None or domain.startswith("["):
        return [f"{ENV_PREFIX}BASE_DOMAIN: not a domain name (got {base_domain!r})"]
    if public is not None and public.host != domain:
        return [
            f"{ENV_PREFIX}PUBLIC_URL: with the subdomain strategy its host must be "
            f"{ENV_PREFIX}BASE_DOMAIN {domain!r} (got {public.host!r})"
        ]
    return []


def origins_for(settings: Settings) -> Origins:
    """The configured origins; UrlSettingsError names every bad value."""
    problems: list[str] = []
    public = None
    if settings.public_url:
        try:
            public = public_origin(settings.public_url)
        except ValueError as error:
            problems.append(f"{ENV_PREFIX}PUBLIC_URL: {error} (got {settings.public_url!r})")
    patterns = [_pattern(entry) for entry in settings.trusted_hosts]
    bad = [entry for entry, p in zip(settings.trusted_hosts, patterns, strict=True) if p is None]
    if bad:
        problems.append(
            f"{ENV_PREFIX}TRUSTED_HOSTS: not a host name, address or *.domain: "
            + ", ".join(repr(entry) for entry in bad)
        )
    if settings.url_strategy == "subdomain":
        problems += _subdomain_problems(settings.base_domain, public)
        patterns.append(_pattern("*." + settings.base_domain))
    if problems:
        raise UrlSettingsError(problems)
    return Origins(public, _trusted([p for p in patterns if p is not None]))


def strategy_for(settings: Settings) -> UrlStrategy:
    """The configured strategy; UrlSettingsError names every bad URL setting."""
    origins = origins_for(settings)
    if settings.url_strategy == "subdomain":
        return SubdomainStrategy(origins, settings.base_domain.lower().rstrip("."))
    if settings.url_strategy == "header":
        return HeaderStrategy(origins)
    return PathStrategy(origins)
