"""Resolves attribute paths against a resource type: canonical names and case-exactness."""

from __future__ import annotations

from dataclasses import dataclass

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import AttrPath
from scimtenancy_server.domain.schema import ResourceType

# Sub-attributes compared case-exactly: references to other resources (RFC 7643 §4.1.2, §4.2).
_CASE_EXACT_SUBS = frozenset({"value", "$ref"})
_REFERENCE_ATTRIBUTES = frozenset({"members", "groups"})
META_FIELDS = frozenset({"created", "lastModified", "resourceType"})


@dataclass(frozen=True, slots=True)
class ResolvedPath:
    """A path with canonical core names; `extension` is set for extension attributes."""

    extension: str | None
    attribute: str
    sub: str | None
    case_exact: bool
    multi_valued: bool
    # A caseExact=false attribute kept again lower-cased: it supports ordering comparisons.
    lookup: bool = False

    @property
    def is_meta(self) -> bool:
        return self.extension is None and self.attribute == "meta"


def resolve_path(
    resource_type: ResourceType, path: AttrPath, *, whole_values: bool = False
) -> ResolvedPath:
    """Resolves a filter path; `whole_values` keeps a multi-valued complex path at its values
    (for `emails[type eq "work"]`) instead of comparing their `value` sub-attribute."""
    if path.schema is not None and path.schema.lower() != resource_type.schema.lower():
        extension = resource_type.extension(path.schema)
        if extension is None:
            raise ScimError.invalid_filter(f"unknown schema {path.schema!r} in attribute path")
        return ResolvedPath(extension, path.attribute, path.sub, False, False)
    attribute = resource_type.attribute(path.attribute)
    if attribute is None:
        raise ScimError.invalid_filter(f"unknown attribute {path.attribute!r}")
    if attribute.name == "meta":
        sub = next((f for f in META_FIELDS if path.sub and f.lower() == path.sub.lower()), None)
        if sub is None:
            raise ScimError.invalid_filter(
                "only meta.created, meta.lastModified and meta.resourceType can be filtered"
            )
        return ResolvedPath(None, "meta", sub, True, False)
    sub = path.sub
    if attribute.multi_valued and attribute.complex and sub is None and not whole_values:
        sub = "value"  # RFC 7644 §3.4.2.2: a multi-valued complex attribute compares its value
    case_exact = attribute.case_exact or (
        attribute.name in _REFERENCE_ATTRIBUTES and sub in _CASE_EXACT_SUBS
    )
    lookup = sub is None and attribute.name in resource_type.lookup
    return ResolvedPath(None, attribute.name, sub, case_exact, attribute.multi_valued, lookup)


def resolve_sub_path(parent: ResolvedPath, path: AttrPath) -> ResolvedPath:
    """A path inside `parent[...]`: names a sub-attribute of the parent's values."""
    if path.schema is not None or path.sub is not None:
        raise ScimError.invalid_filter("a value filter may only name sub-attributes")
    case_exact = parent.attribute in _REFERENCE_ATTRIBUTES and path.attribute in _CASE_EXACT_SUBS
    return ResolvedPath(parent.extension, parent.attribute, path.attribute, case_exact, True)
