"""Group membership as its own facts (ARCHITECTURE.md, "Storage model"): a Group's `members`
are not kept in the group's document but as one membership per (group, member), so that a
change costs work in proportion to the members it names, never to the group's size.

`MembershipChange` is what one PATCH, PUT or POST does to a group's members, folded in request
order: start over (`reset`) or not, then add and remove named members. Adds and removes of
different members commute, and applying the same change twice gives the same members: that
is what lets replicas apply changes without reading the member list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

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

# The resource types a group may list as members (RFC 7643 §4.2).
MEMBER_TYPES = ("User", "Group")


@dataclass(frozen=True, slots=True)
class Member:
    """One member of one group: the member's id, its resource type, and its name for display
    (RFC 7643 §4.2 `display`), kept current when the member is renamed."""

    value: str
    type: str
    display: str | None = None

    def as_json(self) -> dict[str, Any]:
        member = {"value": self.value, "type": self.type}
        if self.display is not None:
            member["display"] = self.display
        return member


def display_name(attributes: dict[str, Any]) -> str | None:
    """How a member is shown in its groups: its `displayName`, else a User's `userName`."""
    for name in ("displayName", "userName"):
        value = attributes.get(name)
        if isinstance(value, str):
            return value
    return None


@dataclass(slots=True)
class MembershipChange:
    """A change to one group's members. `added` maps each member id to the `type` the client
    gave (or None); `removal_filters` select stored members to remove by a value filter other
    than `value eq`, and are resolved against the stored members before the change applies."""

    reset: bool = False
    added: dict[str, str | None] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    removal_filters: list[Filter] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.reset or self.added or self.removed or self.removal_filters)

    def add(self, values: Iterable[dict[str, Any]]) -> None:
        for value in values:
            member_id = value["value"]
            self.removed.discard(member_id)
            self.added.setdefault(member_id, value.get("type"))

    def remove(self, member_ids: Iterable[str]) -> None:
        for member_id in member_ids:
            self.added.pop(member_id, None)
            self.removed.add(member_id)

    def replace_all(self, values: Iterable[dict[str, Any]]) -> None:
        self.reset = True
        self.added.clear()
        self.removed.clear()
        self.removal_filters.clear()
        self.add(values)

    def remove_matching(self, value_filter: Filter) -> None:
        """`remove members[filter]`: ids named by `value eq` go straight to `removed`."""
        named = named_members(value_filter)
        if named is not None:
            self.remove(named)
        elif self.added:
            raise ScimError.invalid_path(
                "a PATCH that adds members may remove others only by `value eq` filters"
            )
        else:
            self.removal_filters.append(value_filter)


def named_members(value_filter: Filter) -> list[str] | None:
    """The member ids a value filter names when it is `value eq "…"` or an `or` of those."""
    pending, named = [value_filter], []
    while pending:
        node = pending.pop()
        if isinstance(node, Or):
            pending += [node.right, node.left]
        elif (
            isinstance(node, Compare)
            and node.op == "eq"
            and node.path.sub is None
            and node.path.attribute.lower() == "value"
            and isinstance(node.value, str)
        ):
            named.append(node.value)
        else:
            return None
    return named


def member_condition(node: Compare | Present | ValuePath) -> str | None:
    """The member id a Group filter condition names: `members.value eq "…"`,
    `members eq "…"` or `members[value eq "…"]`. None when the node is not about members;
    a 400 for any other condition on members (they are not in the group's document)."""
    path = node.path
    if path.attribute.lower() != "members" or (path.schema or _GROUP).lower() != _GROUP.lower():
        return None
    if isinstance(node, ValuePath):
        named = named_members(node.filter)
        if named is not None and len(named) == 1:
            return named[0]
    elif (
        isinstance(node, Compare)
        and node.op == "eq"
        and isinstance(node.value, str)
        and (path.sub or "value").lower() == "value"
    ):
        return node.value
    raise ScimError.invalid_filter(
        'members can be filtered only by a member id: members[value eq "…"] or members.value eq "…"'
    )


def members_named(where: Filter) -> set[str]:
    """The member ids the filter's member conditions name."""
    named: set[str] = set()
    pending = [where]
    while pending:
        node = pending.pop()
        if isinstance(node, And | Or):
            pending += [node.left, node.right]
        elif isinstance(node, Not):
            pending.append(node.inner)
        elif (member := member_condition(node)) is not None:
            named.add(member)
    return named


def by_group_ids(where: Filter, groups_of: dict[str, list[str]]) -> Filter:
    """The filter with each member condition replaced by `id eq` the groups holding that
    member (`groups_of`, from the membership index), which every adapter can push down."""
    if isinstance(where, And | Or):
        return type(where)(
            by_group_ids(where.left, groups_of), by_group_ids(where.right, groups_of)
        )
    if isinstance(where, Not):
        return Not(by_group_ids(where.inner, groups_of))
    member = member_condition(where)
    if member is None:
        return where
    groups = groups_of.get(member, [])
    if not groups:
        return Not(Present(_ID))  # every resource has an id: matches nothing
    return any_of([Compare(_ID, "eq", group_id) for group_id in sorted(groups)])


_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
_ID = AttrPath(None, "id")
