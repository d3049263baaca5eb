"""One YAML file read as plain data, with the line of every value, within fixed bounds:
no anchors or aliases (so no expansion bombs), limited size, nodes and nesting, plain
scalars only (strings, numbers, booleans, null)."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scimtenancy_server.tenants_file.problems import Location, Problem, TenantsFileInvalid

MAX_FILE_BYTES = 1 << 20
MAX_NODES = 200_000
MAX_DEPTH = 32
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null")
)
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"

# libyaml's loader where it is installed: the same nodes and marks, 4-5x faster, so a reload
# holds the interpreter (and the event loop beside it) for less time.
_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value was written: its file, line and path within that file."""

    file: str
    line: int | None
    shown: Location


@dataclass(frozen=True, slots=True)
class Document:
    data: Any
    positions: dict[Location, Origin]


def _refuse(name: str, mark: Any, message: str) -> TenantsFileInvalid:
    line = None if mark is None else mark.line + 1
    return TenantsFileInvalid([Problem(name, line, "", message)])


def read_text(path: Path, name: str, limit: int = MAX_FILE_BYTES) -> str:
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO or a device would block or not end
            raise _refuse(name, None, "is not a regular file")
        with path.open("rb") as file:
            raw = file.read(limit + 1)
    except OSError as error:
        raise _refuse(name, None, f"cannot be read: {error.strerror}") from None
    if len(raw) > limit:
        raise _refuse(name, None, f"is larger than {limit} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _refuse(name, None, f"is not UTF-8 (byte {error.start})") from None


def _check_events(text: str, name: str) -> None:
    """One pass over the events before anything is built: bounds, no aliases, one document."""
    depth = nodes = documents = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _refuse(name, event.start_mark, "anchors and aliases (& and *) are not supported")
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _refuse(name, event.start_mark, "holds more than one YAML document")
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                raise _refuse(name, event.start_mark, f"has more than {MAX_NODES} values")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _refuse(name, event.start_mark, f"nests deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class _Builder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.positions: dict[Location, Origin] = {}
        self._scalars = SafeConstructor()

    def value(self, node: Node, path: Location, mark: Any) -> Any:
        self.positions[path] = Origin(self.name, mark.line + 1, path)
        if isinstance(node, MappingNode) and node.tag == _MAP_TAG:
            return self._mapping(node, path)
        if isinstance(node, SequenceNode) and node.tag == _SEQ_TAG:
            return [
                self.value(item, (*path, i), item.start_mark) for i, item in enumerate(node.value)
            ]
        if isinstance(node, ScalarNode) and node.tag in _SCALAR_TAGS:
            try:
                return self._scalars.construct_object(node)
            except ConstructorError as error:
                raise _refuse(self.name, node.start_mark, str(error.problem)) from None
        tag = node.tag.removeprefix("tag:yaml.org,2002:")
        raise _refuse(self.name, node.start_mark, f"values tagged {tag} are not supported")

    def _mapping(self, node: MappingNode, path: Location) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node, (*path, "<key>"), key_node.start_mark)
            if not isinstance(key, str):
                raise _refuse(self.name, key_node.start_mark, f"key {key!r} is not a string")
            if key in result:
                raise _refuse(self.name, key_node.start_mark, f"key {key!r} appears twice")
            result[key] = self.value(value_node, (*path, key), key_node.start_mark)
        self.positions.pop((*path, "<key>"), None)
        return result


def read_document(path: Path, name: str) -> Document:
    """The file's data and where each value was written; raises TenantsFileInvalid."""
    text = read_text(path, name)
    try:
        _check_events(text, name)
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as error:
        raise _refuse(name, error.problem_mark, f"is not valid YAML: {error.problem}") from None
    except yaml.YAMLError as error:
        raise _refuse(name, None, f"is not valid YAML: {error}") from None
    if root is None:
        raise _refuse(name, None, "is empty")
    builder = _Builder(name)
    data = builder.value(root, (), root.start_mark)
    return Document(data, builder.positions)
