"""Operation permissions (one per kind of SCIM operation) carried by a credential."""

from __future__ import annotations

from enum import StrEnum

from scimtenancy_server.domain.errors import ScimError


class Permission(StrEnum):
    CREATE = "scim:create"
    READ = "scim:read"
    UPDATE = "scim:update"
    DELETE = "scim:delete"
    LIST = "scim:list"


ALL_PERMISSIONS = frozenset(Permission)


def parse_permissions(values: object) -> frozenset[Permission]:
    """Permissions from a JWT claim: a space-separated string (`scope`) or a list."""
    items = values.split() if isinstance(values, str) else values
    if not isinstance(items, list | tuple):
        return frozenset()
    known = {p.value: p for p in Permission}
    return frozenset(known[i] for i in items if isinstance(i, str) and i in known)


def require(granted: frozenset[Permission], needed: Permission) -> None:
    if needed not in granted:
        raise ScimError.forbidden(f"the credential lacks the permission {needed.value}")
