"""The ListResponse message the server renders for list and search replies (RFC 7644 §3.4.2,
RFC 9865 §2.2), and the reply view that carries it instead of typed resources."""

from __future__ import annotations

from typing import Any

import orjson

from scimtenancy.resources.v1 import resources_pb2 as pb
from scimtenancy_common.wire import LIST_RESPONSE_SCHEMA
from scimtenancy_server.domain.render import list_response_json
from scimtenancy_server.rpc.list_response import page_fields
from scimtenancy_server.services.resources import ListResult
from scimtenancy_server.storage.repository import Page

ALICE = pb.Resource(id="a", resource_type="User", version='W/"1"', json=b'{"id":"a"}')
BOB = pb.Resource(id="b", resource_type="User", version='W/"2"', json=b'{"id":"b"}')


def test_index_paging_names_start_index_and_keeps_the_resources_bytes() -> None:
    body = list_response_json(7, [ALICE.json, BOB.json], start_index=3)
    assert body == (
        b'{"schemas":["' + LIST_RESPONSE_SCHEMA.encode() + b'"],"totalResults":7,'
        b'"startIndex":3,"itemsPerPage":2,"Resources":[{"id":"a"},{"id":"b"}]}'
    )


def test_cursor_paging_names_only_the_cursors_there_are() -> None:
    first = orjson.loads(list_response_json(5, [ALICE.json], cursors=('n"1', "")))
    assert first["nextCursor"] == 'n"1'
    assert "previousCursor" not in first
    assert "startIndex" not in first
    last = orjson.loads(list_response_json(5, [], cursors=("", "p1")))
    assert (last.get("nextCursor"), last["previousCursor"]) == (None, "p1")
    assert (last["itemsPerPage"], last["Resources"]) == (0, [])


def test_a_discovery_list_renders_as_its_documents_did() -> None:
    documents: list[dict[str, Any]] = [{"id": "User", "name": "Üser"}, {"id": "Group"}]
    rendered = list_response_json(2, [orjson.dumps(d) for d in documents])
    assert rendered == orjson.dumps(
        {
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": 2,
            "startIndex": 1,
            "itemsPerPage": 2,
            "Resources": documents,
        }
    )


def test_the_default_view_is_typed_resources_without_the_message() -> None:
    result = ListResult(Page(2, []), start_index=1)
    reply = pb.ListResourcesResponse(**page_fields(result, [ALICE, BOB], pb.LIST_VIEW_UNSPECIFIED))
    assert [r.id for r in reply.resources] == ["a", "b"]
    assert (reply.total_results, reply.start_index, reply.list_response_json) == (2, 1, b"")


def test_the_list_response_view_carries_the_message_and_no_typed_resources() -> None:
    result = ListResult(Page(9, []), start_index=4, cursor_paging=True, next_cursor="n")
    view = pb.LIST_VIEW_LIST_RESPONSE
    reply = pb.SearchResourcesResponse(**page_fields(result, [ALICE, BOB], view))
    assert len(reply.resources) == 0
    assert (reply.total_results, reply.next_cursor, reply.cursor_paging) == (9, "n", True)
    message = orjson.loads(reply.list_response_json)
    assert message["Resources"] == [{"id": "a"}, {"id": "b"}]
    assert (message["totalResults"], message["nextCursor"], message["itemsPerPage"]) == (9, "n", 2)
