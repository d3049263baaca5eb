"""The files of a tenants file made one document, keeping where each value was written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scimtenancy_server.tenants_file.model import FORMAT_VERSION, MAX_TENANTS
from scimtenancy_server.tenants_file.problems import (
    Location,
    Problem,
    TenantsFileInvalid,
    field_path,
)
from scimtenancy_server.tenants_file.yaml_nodes import Document, Origin

Read = Document | list[Problem]  # a file's document, or why it could not be read
Positions = dict[Location, Origin]  # within one tenant, relative to it
_TOP_LEVEL = frozenset({"version", "tenants"})


@dataclass
class Merged:
    """The tenants of every file, in order, and where each of their values was written."""

    first_file: str
    tenants: list[Any] = field(default_factory=list)
    positions: list[Positions] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)

    def origin(self, location: Location) -> Origin:
        index = location[1] if len(location) > 1 and location[0] == "tenants" else None
        if not isinstance(index, int) or not 0 <= index < len(self.positions):
            return Origin(self.first_file, None, location)
        positions, rest = self.positions[index], location[2:]
        for cut in range(len(rest), -1, -1):
            found = positions.get(rest[:cut])
            if found is not None:
                return Origin(found.file, found.line, (*found.shown, *rest[cut:]))
        return Origin(self.first_file, None, location)

    def problem(self, location: Location, message: str) -> Problem:
        where = self.origin(location)
        return Problem(where.file, where.line, field_path(where.shown), message)

    def rename(self, index: int, path: Location, key: str) -> None:
        """Positions under `path` are now those of its sibling `key`."""
        moved = (*path[:-1], key)
        positions = self.positions[index]
        for rel in [p for p in positions if p[: len(path)] == path]:
            positions[(*moved, *rel[len(path) :])] = positions.pop(rel)

    def add(self, tenant: Any, positions: Positions) -> None:
        tenant_id = tenant.get("id") if isinstance(tenant, dict) else None
        if isinstance(tenant_id, str):
            first = self._index.get(tenant_id)
            if first is not None:
                here = positions.get(("id",), positions[()])
                there = self.positions[first].get(("id",), self.positions[first][()])
                message = f"tenant {tenant_id!r} is also defined at {there.file}:{there.line}"
                self.problems.append(Problem(here.file, here.line, field_path(here.shown), message))
                return
            self._index[tenant_id] = len(self.tenants)
        self.tenants.append(tenant)
        self.positions.append(positions)

    def overlay(self, tenant: Any, positions: Positions) -> None:
        """An overlay's tenant merged into the one with its id, or added."""
        tenant_id = tenant.get("id") if isinstance(tenant, dict) else None
        found = self._index.get(tenant_id) if isinstance(tenant_id, str) else None
        if found is None:
            self.add(tenant, positions)
            return
        _merge(self.tenants[found], tenant, (), self.positions[found], positions)


def _merge(
    base: dict[str, Any], over: dict[str, Any], path: Location, into: Positions, source: Positions
) -> None:
    for key, value in over.items():
        here = (*path, key)
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, here, into, source)
            continue
        base[key] = value
        for stale in [p for p in into if p[: len(here)] == here]:
            del into[stale]
        into.update({p: o for p, o in source.items() if p[: len(here)] == here})


def _tenant_positions(document: Document) -> dict[int, Positions]:
    grouped: dict[int, Positions] = {}
    for location, origin in document.positions.items():
        if len(location) > 1 and location[0] == "tenants" and isinstance(location[1], int):
            grouped.setdefault(location[1], {})[location[2:]] = origin
    return grouped


def _tenants_of(document: Document, problems: list[Problem]) -> list[tuple[Any, Positions]]:
    """The file's tenants, after checking the file's own keys and version."""
    data, at = document.data, document.positions
    name = at[()].file

    def refuse(location: Location, message: str) -> None:
        origin = at.get(location, at[()])
        problems.append(Problem(name, origin.line, field_path(location), message))

    if not isinstance(data, dict):
        refuse((), "the file must be a mapping with 'version' and 'tenants'")
        return []
    for key in sorted(set(data) - _TOP_LEVEL):
        refuse((key,), f"unknown field {key!r}")
    version = data.get("version")
    if type(version) is not int or version != FORMAT_VERSION:
        refuse(("version",), f"must be {FORMAT_VERSION}")
    tenants = data.get("tenants", [])
    if not isinstance(tenants, list):
        refuse(("tenants",), "must be a list of tenants")
        return []
    grouped = _tenant_positions(document)
    return [(tenant, grouped[i]) for i, tenant in enumerate(tenants)]


def merge_files(bases: list[Read], overlays: list[Read]) -> Merged:
    first = next((d.positions[()].file for d in bases if isinstance(d, Document)), "")
    merged = Merged(first)
    for read, is_overlay in [*((b, False) for b in bases), *((o, True) for o in overlays)]:
        if not isinstance(read, Document):
            merged.problems.extend(read)
            continue
        for tenant, positions in _tenants_of(read, merged.problems):
            (merged.overlay if is_overlay else merged.add)(tenant, positions)
    if len(merged.tenants) > MAX_TENANTS:
        # Refused before validation, which would cost time in proportion.
        raise TenantsFileInvalid(
            [Problem(first, None, "tenants", f"more than {MAX_TENANTS} tenants")]
        )
    return merged
