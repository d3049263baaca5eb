"""Resolves filter attribute paths against a resource type's schemas."""

from __future__ import annotations

from dataclasses import dataclass

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import AttrPath
from scimtenancy_server.domain.schema import Attribute, ResourceType

META_FIELDS = frozenset({"created", "lastModified", "resourceType"})


@dataclass(frozen=True, slots=True)
class ResolvedPath:
    """A path with canonical names; `extension` is set for extension attributes."""

    extension: str | None
    attribute: str
    sub: str | None
    case_exact: bool
    multi_valued: bool
    # A caseExact=false attribute kept again folded (domain/text_folding.py) in storage: it
    # compares by its identity fold and supports ordering comparisons.
    lookup: bool = False
    kind: str = "string"

    @property
    def lookup_key(self) -> str:
        """How `ResourceType.lookup` names this path (`userName`, `emails.value`)."""
        return self.attribute if self.sub is None else f"{self.attribute}.{self.sub}"

    @property
    def is_meta(self) -> bool:
        return self.extension is None and self.attribute == "meta"


def _definition(resource_type: ResourceType, path: AttrPath) -> tuple[str | None, Attribute]:
    if path.schema is not None and path.schema.lower() != resource_type.schema.id.lower():
        extension = resource_type.extension(path.schema)
        if extension is None:
            raise ScimError.invalid_filter(f"unknown schema {path.schema!r} in attribute path")
        found = extension.attribute(path.attribute)
        owner: str | None = extension.id
    else:
        found, owner = resource_type.attribute(path.attribute), None
    if found is None:
        raise ScimError.invalid_filter(f"unknown attribute {path.attribute!r}")
    if found.never_returned:  # a filter would tell its value, a guess at a time
        raise ScimError.invalid_filter(f"attribute {found.name!r} cannot be filtered")
    return owner, found


def resolve_path(
    resource_type: ResourceType, path: AttrPath, *, whole_values: bool = False
) -> ResolvedPath:
    """Resolves a filter path; `whole_values` keeps a multi-valued complex path at its values
    (for `emails[type eq "work"]`) instead of comparing their `value` sub-attribute."""
    extension, attribute = _definition(resource_type, path)
    if attribute.name == "meta" and extension is None:
        sub = next((f for f in META_FIELDS if path.sub and f.lower() == path.sub.lower()), None)
        if sub is None:
            raise ScimError.invalid_filter(
                "only meta.created, meta.lastModified and meta.resourceType can be filtered"
            )
        kind = "string" if sub == "resourceType" else "dateTime"
        return ResolvedPath(None, "meta", sub, True, False, kind=kind)
    definition: Attribute | None = attribute
    sub_name = path.sub
    if attribute.complex and sub_name is None and attribute.multi_valued and not whole_values:
        sub_name = "value"  # RFC 7644 §3.4.2.2: a multi-valued complex attribute compares its value
    if sub_name is not None:
        definition = attribute.sub(sub_name)
        if definition is None:
            raise ScimError.invalid_filter(f"unknown sub-attribute {path.attribute}.{sub_name}")
        sub_name = definition.name
    elif attribute.complex and not whole_values:
        raise ScimError.invalid_filter(
            f"attribute {attribute.name!r} is complex: name a sub-attribute"
        )
    key = attribute.name if sub_name is None else f"{attribute.name}.{sub_name}"
    lookup = extension is None and key in resource_type.lookup
    return ResolvedPath(
        extension,
        attribute.name,
        sub_name,
        definition.case_exact if definition else True,
        attribute.multi_valued,
        lookup,
        definition.type if definition else "complex",
    )


def resolve_sub_path(
    resource_type: ResourceType, parent: ResolvedPath, path: AttrPath
) -> ResolvedPath:
    """A path inside `parent[...]`: names a sub-attribute of the parent's values."""
    if path.schema is not None or path.sub is not None:
        raise ScimError.invalid_filter("a value filter may only name sub-attributes")
    parent_path = AttrPath(parent.extension, parent.attribute)
    _, attribute = _definition(resource_type, parent_path)
    sub = attribute.sub(path.attribute)
    if sub is None:
        raise ScimError.invalid_filter(f"unknown sub-attribute {parent.attribute}.{path.attribute}")
    # `emails[value eq "x"]` folds like `emails.value eq "x"`.
    lookup = parent.extension is None and f"{parent.attribute}.{sub.name}" in resource_type.lookup
    return ResolvedPath(
        parent.extension, parent.attribute, sub.name, sub.case_exact, True, lookup, sub.type
    )
