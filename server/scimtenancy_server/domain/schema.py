"""Schemas and resource types (RFC 7643 §2, §6, §7), loaded from the schema representations
in `schemas/*.json`, which /Schemas serves as they are."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import StrEnum
from importlib import resources
from typing import TYPE_CHECKING, Any

from scimtenancy_server.domain.errors import ScimError

if TYPE_CHECKING:
    from scimtenancy_server.domain.tenant import Tenant

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class Mutability(StrEnum):
    READ_ONLY = "readOnly"
    READ_WRITE = "readWrite"
    IMMUTABLE = "immutable"
    WRITE_ONLY = "writeOnly"


class Returned(StrEnum):
    ALWAYS = "always"
    NEVER = "never"
    DEFAULT = "default"
    REQUEST = "request"


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute definition with its characteristics (RFC 7643 §2.2)."""

    name: str
    type: str = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: Mutability = Mutability.READ_WRITE
    returned: Returned = Returned.DEFAULT
    uniqueness: str = "none"
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()
    _by_lower: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)
    # RFC 7643 §2.2: `returned: never` and write-only values never appear in a response.
    never_returned: bool = field(default=False, init=False, compare=False, repr=False)
    # Whether some sub-attribute is never returned (rendering must then look inside).
    hides_sub_attributes: bool = field(default=False, init=False, compare=False, repr=False)
    # Whether it or a sub-attribute must be present in a full representation (only those are
    # looked at when a create or replacement is checked for them).
    checks_required: bool = field(default=False, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({a.name.lower(): a for a in self.sub_attributes})
        hidden = self.returned is Returned.NEVER or self.mutability is Mutability.WRITE_ONLY
        object.__setattr__(self, "never_returned", hidden)
        hides = any(s.never_returned for s in self.sub_attributes)
        object.__setattr__(self, "hides_sub_attributes", hides)
        required = self.required and self.mutability is not Mutability.READ_ONLY
        checks = required or any(s.checks_required for s in self.sub_attributes)
        object.__setattr__(self, "checks_required", checks)

    @property
    def complex(self) -> bool:
        return self.type == "complex"

    def sub(self, name: str) -> Attribute | None:
        return self._by_lower.get(name.lower())

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Attribute:
        return cls(
            name=document["name"],
            type=document.get("type", "string"),
            multi_valued=document.get("multiValued", False),
            required=document.get("required", False),
            case_exact=document.get("caseExact", False),
            mutability=Mutability(document.get("mutability", "readWrite")),
            returned=Returned(document.get("returned", "default")),
            uniqueness=document.get("uniqueness", "none"),
            canonical_values=tuple(document.get("canonicalValues", ())),
            reference_types=tuple(document.get("referenceTypes", ())),
            sub_attributes=tuple(cls.from_json(s) for s in document.get("subAttributes", ())),
        )


@dataclass(frozen=True, slots=True)
class Schema:
    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    document: dict[str, Any] = field(compare=False, repr=False)
    _by_lower: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({a.name.lower(): a for a in self.attributes})

    def attribute(self, name: str) -> Attribute | None:
        return self._by_lower.get(name.lower())

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Schema:
        return cls(
            id=document["id"],
            name=document.get("name", ""),
            description=document.get("description", ""),
            attributes=tuple(Attribute.from_json(a) for a in document["attributes"]),
            document=document,
        )


def load_schema(filename: str) -> Schema:
    text = resources.files("scimtenancy_server.domain").joinpath("schemas", filename).read_text()
    return Schema.from_json(json.loads(text))


_META = Attribute(
    "meta",
    type="complex",
    mutability=Mutability.READ_ONLY,
    sub_attributes=tuple(
        Attribute(name, type=kind, case_exact=True, mutability=Mutability.READ_ONLY)
        for name, kind in (
            ("resourceType", "string"),
            ("created", "dateTime"),
            ("lastModified", "dateTime"),
            ("location", "reference"),
            ("version", "string"),
        )
    ),
)

# Attributes every resource has (RFC 7643 §3.1); they belong to no schema.
COMMON_ATTRIBUTES = (
    Attribute(
        "id",
        case_exact=True,
        mutability=Mutability.READ_ONLY,
        returned=Returned.ALWAYS,
        uniqueness="server",
    ),
    Attribute("externalId", case_exact=True),
    _META,
)


@dataclass(frozen=True, slots=True)
class ResourceType:
    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[tuple[Schema, bool], ...] = ()  # (schema, required)
    # The attribute unique per tenant, compared case-insensitively (RFC 7643 §4.1.1 userName).
    unique: str | None = None
    # caseExact=false attributes (or `attribute.sub` paths) used for lookups and sorting:
    # stored again lower-cased, with an index.
    lookup: tuple[str, ...] = ()
    _by_lower: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({a.name.lower(): a for a in COMMON_ATTRIBUTES})
        self._by_lower.update({a.name.lower(): a for a in self.schema.attributes})

    def attribute(self, name: str) -> Attribute | None:
        """A core or common attribute by name, case-insensitively (RFC 7643 §2.1)."""
        return self._by_lower.get(name.lower())

    def extension(self, urn: str) -> Schema | None:
        lower = urn.lower()
        return next((s for s, _ in self.extensions if s.id.lower() == lower), None)

    def schema_of(self, urn: str) -> Schema | None:
        """The core schema or an extension, by URN (case-insensitively)."""
        return self.schema if urn.lower() == self.schema.id.lower() else self.extension(urn)

    @property
    def schemas(self) -> tuple[str, ...]:
        return (self.schema.id, *(s.id for s, _ in self.extensions))

    @property
    def required_extensions(self) -> tuple[Schema, ...]:
        return tuple(s for s, required in self.extensions if required)


USER_CORE = load_schema("user.json")
GROUP_CORE = load_schema("group.json")
ENTERPRISE_USER = load_schema("enterprise_user.json")

USER = ResourceType(
    name="User",
    endpoint="Users",
    description="User Account",
    schema=USER_CORE,
    extensions=((ENTERPRISE_USER, False),),
    unique="userName",
    lookup=("userName", "displayName", "emails.value"),
)

GROUP = ResourceType(
    name="Group",
    endpoint="Groups",
    description="Group",
    schema=GROUP_CORE,
    lookup=("displayName",),
)


class ResourceTypeRegistry:
    """Finds a resource type by its name (`User`) or its endpoint (`Users`), in any case."""

    def __init__(self, types: tuple[ResourceType, ...]) -> None:
        self._types = types
        self._by_key = {k.lower(): t for t in types for k in (t.name, t.endpoint)}
        self._per_tenant: dict[tuple[str, tuple[Any, ...]], ResourceTypeRegistry] = {}

    def for_tenant(self, tenant: Tenant | None) -> ResourceTypeRegistry:
        """The resource types as one tenant sees them: with its own schema extensions."""
        if tenant is None or not tenant.extensions:
            return self
        key = (tenant.tenant_id, tenant.extensions)
        found = self._per_tenant.get(key)
        if found is None:
            if len(self._per_tenant) > 10_000:
                self._per_tenant.clear()
            found = self._per_tenant[key] = ResourceTypeRegistry(
                tuple(
                    replace(
                        rt,
                        extensions=(
                            *rt.extensions,
                            *(
                                (e.schema, e.required)
                                for e in tenant.extensions
                                if e.resource_type == rt.name
                            ),
                        ),
                        _by_lower={},
                    )
                    for rt in self._types
                )
            )
        return found

    def all(self) -> tuple[ResourceType, ...]:
        return self._types

    def resolve(self, key: str) -> ResourceType:
        # Clients spell endpoints as they spell attribute names, in any case (RFC 7643 §2.1).
        resource_type = self._by_key.get(key.lstrip("/").lower())
        if resource_type is None:
            raise ScimError.not_found(f"unknown resource type {key!r}")
        return resource_type

    def schemas(self) -> tuple[Schema, ...]:
        seen: dict[str, Schema] = {}
        for rt in self._types:
            for schema in (rt.schema, *(s for s, _ in rt.extensions)):
                seen.setdefault(schema.id, schema)
        return tuple(seen.values())


DEFAULT_REGISTRY = ResourceTypeRegistry((USER, GROUP))
