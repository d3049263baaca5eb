"""Tenant URL strategies: where a URL names its tenant, and how tenant URLs are rendered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from scimtenancy_common.settings import Settings
from scimtenancy_transcoder.errors import HttpScimError

SCIM_PREFIX = "/scim/v2"
# Headers of the header strategy, in the order they are consulted.
TENANT_HEADERS = ("x-tenant-id", "x-client-id", "tenant")


class UrlStrategy(Protocol):
    """Routes are mounted at `mount`; `tenant_hint` reads the tenant a request's URL names
    (None when it names none); `base_url` is the SCIM base URL to render for that request."""

    @property
    def mount(self) -> str: ...

    def tenant_hint(self, request: Request) -> str | None: ...

    def base_url(self, request: Request, tenant_hint: str | None) -> str: ...


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


@dataclass(frozen=True)
class PathStrategy:
    mount: str = "/tenants/{tenant}" + SCIM_PREFIX

    def tenant_hint(self, request: Request) -> str | None:
        tenant: str = request.path_params["tenant"]
        return tenant

    def base_url(self, request: Request, tenant_hint: str | None) -> str:
        return f"{_origin(request)}/tenants/{tenant_hint}{SCIM_PREFIX}"


@dataclass(frozen=True)
class SubdomainStrategy:
    base_domain: str
    mount: str = SCIM_PREFIX

    def tenant_hint(self, request: Request) -> str | None:
        host = (request.url.hostname or "").lower().rstrip(".")
        suffix = "." + self.base_domain.lower()
        label = host.removesuffix(suffix) if host.endswith(suffix) else ""
        if not label or "." in label:
            raise HttpScimError(404, f"no tenant is served at host {host!r}")
        return label

    def base_url(self, request: Request, tenant_hint: str | None) -> str:
        return f"{_origin(request)}{SCIM_PREFIX}"


@dataclass(frozen=True)
class HeaderStrategy:
    mount: str = SCIM_PREFIX

    def tenant_hint(self, request: Request) -> str | None:
        return next((request.headers[h] for h in TENANT_HEADERS if request.headers.get(h)), None)

    def base_url(self, request: Request, tenant_hint: str | None) -> str:
        return f"{_origin(request)}{SCIM_PREFIX}"


def strategy_for(settings: Settings) -> UrlStrategy:
    if settings.url_strategy == "subdomain":
        return SubdomainStrategy(settings.base_domain)
    if settings.url_strategy == "header":
        return HeaderStrategy()
    return PathStrategy()
