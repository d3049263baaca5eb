"""Tenants and the context a request runs in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.permissions import ALL_PERMISSIONS, Permission, require
from scimtenancy_server.domain.schema import Schema

# Tenant ids appear in collection names, subdomains and URL paths, so they keep to the
# characters that are safe in all three.
_TENANT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


class IsolationLevel(StrEnum):
    """How a tenant's resources are stored (see ARCHITECTURE.md, "Storage model")."""

    STRICT = "strict"
    STANDARD = "standard"
    SHARED = "shared"


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    MOVING = "moving"  # between isolation levels: reads are served, writes wait (503)


class Compatibility(StrEnum):
    """How strictly a tenant's requests are read. `lenient` is opt-in, for clients written
    against lenient servers: it ignores unknown attributes in bodies and PATCH values and
    accepts a value filter in `attributes` (README, "What is served")."""

    STRICT = "strict"
    LENIENT = "lenient"


def validate_tenant_id(tenant_id: str) -> str:
    if not _TENANT_ID.fullmatch(tenant_id):
        raise ScimError.invalid_value(
            "tenant id must be 1 to 63 lower-case letters, digits or hyphens, "
            "starting with a letter or digit"
        )
    return tenant_id


@dataclass(frozen=True, slots=True)
class TenantExtension:
    resource_type: str
    schema: Schema
    required: bool = False


class PatchAnswer(StrEnum):
    """What a successful PATCH returns (RFC 7644 §3.5.2 allows either). A client's own
    `Prefer: return=`, `attributes` or `excludedAttributes` still decides for its request."""

    DEFAULT = "default"  # the server's rule: the resource, 204 after Group member changes
    REPRESENTATION = "representation"  # 200 with the resource
    NO_CONTENT = "no_content"  # 204


@dataclass(frozen=True, slots=True)
class AuthenticationScheme:
    """One ServiceProviderConfig `authenticationSchemes` entry (RFC 7643 §5)."""

    type: str
    name: str
    description: str
    spec_uri: str = ""
    documentation_uri: str = ""
    primary: bool = False


@dataclass(frozen=True, slots=True)
class ResponseOptions:
    """What a tenant's discovery documents say, and the optional features it is served; the
    server enforces exactly what its ServiceProviderConfig offers."""

    documentation_uri: str = ""  # empty: the server's
    authentication_schemes: tuple[AuthenticationScheme, ...] = ()  # empty: the server's
    bulk: bool = True
    sort: bool = True
    etag: bool = True
    filter_max_results: int = 0  # 0: the server's MAX_PAGE_SIZE (and never more than it)
    patch_answer: PatchAnswer = PatchAnswer.DEFAULT

    def max_results(self, server_max: int) -> int:
        """The most resources one list or search page of the tenant holds."""
        return min(server_max, self.filter_max_results or server_max)


DEFAULT_RESPONSES = ResponseOptions()


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A tenant's own token bucket, per server process."""

    requests_per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class Tenant:
    tenant_id: str
    display_name: str
    isolation: IsolationLevel
    status: TenantStatus
    created: datetime
    # Most resources per resource type name (`User`, `Group`); absent: unlimited.
    limits: Mapping[str, int] = field(default_factory=dict)
    # Schema extensions of this tenant only (visible to and enforced for no other tenant).
    extensions: tuple[TenantExtension, ...] = ()
    # What the tenant's credentials may do at most.
    permissions: frozenset[Permission] = ALL_PERMISSIONS
    compatibility: Compatibility = Compatibility.STRICT
    responses: ResponseOptions = DEFAULT_RESPONSES
    # None: the server's RATE_LIMIT and RATE_BURST.
    rate_limit: RateLimit | None = None

    def limit(self, resource_type: str) -> int | None:
        return self.limits.get(resource_type)

    def with_status(self, status: TenantStatus) -> Tenant:
        return replace(self, status=status)


@dataclass(frozen=True, slots=True)
class TenantContext:
    """Who is calling: the resolved tenant, the credential's public id (the audit actor),
    what it may do, and the person it names, if any (a JWT `sub`, for /Me)."""

    tenant: Tenant
    actor: str
    permissions: frozenset[Permission] = ALL_PERMISSIONS
    subject: str | None = None

    def require(self, permission: Permission) -> None:
        require(self.permissions, permission)

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id
