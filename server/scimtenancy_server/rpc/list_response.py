"""The reply fields ListResourcesResponse and SearchResourcesResponse share, in the view the
caller asked for: typed resources, or the whole ListResponse message ready for HTTP."""

from __future__ import annotations

from typing import Any

from scimtenancy.resources.v1 import resources_pb2 as pb
from scimtenancy_server.domain.render import list_response_json
from scimtenancy_server.services.resources import ListResult


def page_fields(result: ListResult, resources: list[pb.Resource], view: int) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "total_results": result.page.total,
        "start_index": result.start_index,
        "next_cursor": result.next_cursor,
        "previous_cursor": result.previous_cursor,
        "cursor_paging": result.cursor_paging,
    }
    if view != pb.LIST_VIEW_LIST_RESPONSE:
        return fields | {"resources": resources}
    cursors = (result.next_cursor, result.previous_cursor) if result.cursor_paging else None
    message = list_response_json(
        result.page.total, [r.json for r in resources], result.start_index, cursors
    )
    return fields | {"list_response_json": message}
