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
from scimtenancy_server.domain.filter import Compare, Filter, Or

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
