"""Filters on memberships: a Group's `members` and a User's `groups` are not in the resources'
documents, so conditions on them are answered from the membership index and replaced by `id`
conditions that every storage adapter pushes down (RFC 7644 §3.4.2.2 filters on them name
a resource by id: `members[value eq "…"]`, `members.value eq "…"`, `groups.value eq "…"`,
and `groups pr`, a User in any group)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
    any_of,
)
from scimtenancy_server.domain.membership import named_members

# What `groups pr` names: membership of any group.
ANY_GROUP = ""

Leaf = Compare | Present | ValuePath
# The id a membership condition names (ANY_GROUP for `groups pr`), None when the node is not
# about memberships; a ScimError for a condition on them that is not by id.
Condition = Callable[[Leaf], str | None]

_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
_ID = AttrPath(None, "id")


def _by_id(attribute: str, schema: str, *, present: bool) -> Condition:
    def condition(node: Leaf) -> str | None:
        path = node.path
        if path.attribute.lower() != attribute or (path.schema or schema).lower() != schema.lower():
            return None
        if isinstance(node, ValuePath):
            named = named_members(node.filter)
            if named is not None and len(named) == 1:
                return named[0]
        elif isinstance(node, Present):
            if present and path.sub is None:
                return ANY_GROUP
        elif (
            node.op == "eq"
            and isinstance(node.value, str)
            and (path.sub or "value").lower() == "value"
        ):
            return node.value
        forms = f'{attribute}[value eq "…"], {attribute}.value eq "…"'
        if present:
            forms += f" or {attribute} pr"
        raise ScimError.invalid_filter(f"{attribute} can be filtered only by id: {forms}")

    return condition


# A Group's members, by member id.
MEMBERS = _by_id("members", _GROUP, present=False)
# A User's groups, by group id, or `groups pr`.
GROUPS = _by_id("groups", _USER, present=True)


def named(where: Filter, condition: Condition) -> set[str]:
    """The ids the filter's membership conditions name."""
    found: set[str] = set()
    pending = [where]
    while pending:
        node = pending.pop()
        if isinstance(node, And | Or):
            pending += [node.left, node.right]
        elif isinstance(node, Not):
            pending.append(node.inner)
        elif (name := condition(node)) is not None:
            found.add(name)
    return found


def by_ids(where: Filter, condition: Condition, ids: Mapping[str, Collection[str]]) -> Filter:
    """The filter with each membership condition replaced by `id eq` the resources `ids` has
    for the id it names."""
    if isinstance(where, And | Or):
        left, right = by_ids(where.left, condition, ids), by_ids(where.right, condition, ids)
        return type(where)(left, right)
    if isinstance(where, Not):
        return Not(by_ids(where.inner, condition, ids))
    name = condition(where)
    if name is None:
        return where
    found = ids.get(name, ())
    if not found:
        return Not(Present(_ID))  # every resource has an id: matches nothing
    return any_of([Compare(_ID, "eq", resource_id) for resource_id in sorted(found)])
