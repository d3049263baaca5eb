"""The resource types served and what the service must know of their attributes (RFC 7643)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from scimtenancy_server.domain.errors import ScimError

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class Mutability(StrEnum):
    READ_ONLY = "readOnly"
    READ_WRITE = "readWrite"
    IMMUTABLE = "immutable"
    WRITE_ONLY = "writeOnly"


@dataclass(frozen=True, slots=True)
class Attribute:
    """A top-level attribute: enough to normalise names, merge PATCH values and compare."""

    name: str
    multi_valued: bool = False
    complex: bool = False
    case_exact: bool = False
    mutability: Mutability = Mutability.READ_WRITE

    @property
    def returned(self) -> bool:
        return self.mutability is not Mutability.WRITE_ONLY


@dataclass(frozen=True, slots=True)
class ResourceType:
    name: str
    endpoint: str
    schema: str
    attributes: tuple[Attribute, ...]
    required: tuple[str, ...]
    extensions: tuple[str, ...] = ()
    # The attribute unique per tenant, compared case-insensitively (RFC 7643 §4.1.1 userName).
    unique: str | None = None
    # caseExact=false attributes used for lookups: stored again lower-cased, with an index.
    lookup: tuple[str, ...] = ()
    _by_lower: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({a.name.lower(): a for a in self.attributes})

    def attribute(self, name: str) -> Attribute | None:
        """Looks an attribute up by name, case-insensitively (RFC 7643 §2.1)."""
        return self._by_lower.get(name.lower())

    def extension(self, urn: str) -> str | None:
        lower = urn.lower()
        return next((e for e in self.extensions if e.lower() == lower), None)

    @property
    def schemas(self) -> tuple[str, ...]:
        return (self.schema, *self.extensions)


def _attrs(*names: str, multi_valued: bool = False, complex: bool = False) -> list[Attribute]:
    return [Attribute(n, multi_valued=multi_valued, complex=complex) for n in names]


_COMMON = [
    Attribute("id", case_exact=True, mutability=Mutability.READ_ONLY),
    Attribute("externalId", case_exact=True),
    Attribute("meta", complex=True, mutability=Mutability.READ_ONLY),
    Attribute("schemas", multi_valued=True, case_exact=True),
]

USER = ResourceType(
    name="User",
    endpoint="Users",
    schema=USER_SCHEMA,
    attributes=(
        *_COMMON,
        *_attrs("userName", "displayName", "nickName", "title", "userType"),
        *_attrs("preferredLanguage", "locale", "timezone"),
        Attribute("profileUrl", case_exact=True),
        Attribute("active"),
        Attribute("name", complex=True),
        Attribute("password", case_exact=True, mutability=Mutability.WRITE_ONLY),
        *_attrs(
            "emails",
            "phoneNumbers",
            "ims",
            "photos",
            "addresses",
            "entitlements",
            "roles",
            "x509Certificates",
            multi_valued=True,
            complex=True,
        ),
        Attribute("groups", multi_valued=True, complex=True, mutability=Mutability.READ_ONLY),
    ),
    required=("userName",),
    extensions=(ENTERPRISE_USER_SCHEMA,),
    unique="userName",
    lookup=("userName", "displayName"),
)

GROUP = ResourceType(
    name="Group",
    endpoint="Groups",
    schema=GROUP_SCHEMA,
    attributes=(
        *_COMMON,
        Attribute("displayName"),
        Attribute("members", multi_valued=True, complex=True),
    ),
    required=("displayName",),
    lookup=("displayName",),
)


class ResourceTypeRegistry:
    """Finds a resource type by its name (`User`) or its endpoint (`Users`)."""

    def __init__(self, types: Iterable[ResourceType]) -> None:
        self._types = tuple(types)
        self._by_key = {k: t for t in self._types for k in (t.name, t.endpoint)}

    def all(self) -> tuple[ResourceType, ...]:
        return self._types

    def resolve(self, key: str) -> ResourceType:
        resource_type = self._by_key.get(key.lstrip("/"))
        if resource_type is None:
            raise ScimError.not_found(f"unknown resource type {key!r}")
        return resource_type


DEFAULT_REGISTRY = ResourceTypeRegistry((USER, GROUP))
