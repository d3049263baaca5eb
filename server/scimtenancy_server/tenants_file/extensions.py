"""The server's checks of a schema extension, where they need no tenant: the file is refused
for an extension the admin API would refuse."""

from __future__ import annotations

from typing import Any

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.extension_schemas import extension_schema as checked
from scimtenancy_server.domain.schema import DEFAULT_REGISTRY, Schema


def extension_schema(document: dict[str, Any]) -> Schema:
    """The schema the server would register; raises ValueError with the server's reason."""
    try:
        return checked(document, DEFAULT_REGISTRY)
    except ScimError as error:
        raise ValueError(error.detail) from None


def check_extension_schema(document: dict[str, Any]) -> None:
    extension_schema(document)
