"""Bulk requests (RFC 7644 §3.7): parsing, `bulkId` references and the order to run in."""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from typing import Any

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.filter_eval import get_case_insensitive
from scimtenancy_server.domain.resource import message_operations

BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_REFERENCE = re.compile(r"^bulkId:(.+)$")


@dataclass(frozen=True, slots=True)
class BulkOperation:
    index: int
    method: str
    path: str
    bulk_id: str | None
    version: str
    data: Any


@dataclass(frozen=True, slots=True)
class BulkPlan:
    operations: list[BulkOperation]
    fail_on_errors: int | None


def too_large(detail: str) -> ScimError:
    return ScimError(413, detail, "tooLarge")


def parse_bulk(document: dict[str, Any], max_operations: int) -> BulkPlan:
    operations = message_operations(document, BULK_REQUEST_SCHEMA, "bulk")
    if len(operations) > max_operations:
        raise too_large(f"a bulk request may hold at most {max_operations} operations")
    fail_on_errors = get_case_insensitive(document, "failOnErrors")
    if fail_on_errors is not None and (
        not isinstance(fail_on_errors, int)
        or isinstance(fail_on_errors, bool)
        or fail_on_errors < 1
    ):
        raise ScimError.invalid_value("'failOnErrors' must be a positive integer")
    parsed = [_operation(i, op) for i, op in enumerate(operations)]
    bulk_ids = [op.bulk_id for op in parsed if op.bulk_id]
    if len(bulk_ids) != len(set(bulk_ids)):
        raise ScimError.invalid_value("each bulkId may appear only once in a request")
    return BulkPlan(parsed, fail_on_errors)


def _operation(index: int, item: object) -> BulkOperation:
    if not isinstance(item, dict):
        raise ScimError.invalid_syntax(f"operation {index} must be a JSON object")
    method = get_case_insensitive(item, "method")
    path = get_case_insensitive(item, "path")
    bulk_id = get_case_insensitive(item, "bulkId")
    version = get_case_insensitive(item, "version")
    data = get_case_insensitive(item, "data")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise ScimError.invalid_syntax(
            f"operation {index}: 'method' must be one of {sorted(_METHODS)}"
        )
    if not isinstance(path, str) or not path.startswith("/"):
        raise ScimError.invalid_syntax(f"operation {index}: 'path' must start with '/'")
    if bulk_id is not None and not isinstance(bulk_id, str):
        raise ScimError.invalid_syntax(f"operation {index}: 'bulkId' must be a string")
    if method.upper() == "POST" and not bulk_id:
        raise ScimError.invalid_syntax(f"operation {index}: a POST needs a 'bulkId'")
    if method.upper() != "DELETE" and not isinstance(data, dict):
        raise ScimError.invalid_syntax(f"operation {index}: 'data' must be a JSON object")
    return BulkOperation(
        index,
        method.upper(),
        path,
        bulk_id or None,
        version if isinstance(version, str) else "",
        data,
    )


def references(value: Any) -> set[str]:
    """The bulkIds a value refers to (`"bulkId:<id>"` strings, anywhere inside it)."""
    if isinstance(value, str):
        match = _REFERENCE.match(value)
        return {match.group(1)} if match else set()
    if isinstance(value, dict):
        return set().union(*(references(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(references(v) for v in value))
    return set()


def operation_references(operation: BulkOperation) -> set[str]:
    in_path = {r for segment in operation.path.split("/") for r in references(segment)}
    return in_path | references(operation.data)


def substitute(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        match = _REFERENCE.match(value)
        return ids.get(match.group(1), value) if match else value
    if isinstance(value, dict):
        return {k: substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, ids) for v in value]
    return value


def execution_order(
    operations: list[BulkOperation],
) -> tuple[list[BulkOperation], list[BulkOperation]]:
    """Request order, except that an operation waits for the POSTs whose bulkIds it uses
    (forward references): each step runs the earliest operation whose POSTs have run. Returns
    the runnable order and the operations caught in cycles; linear in operations and
    references (a heap of the runnable ones)."""
    creators = {op.bulk_id: op.index for op in operations if op.method == "POST" and op.bulk_id}
    by_index = {op.index: op for op in operations}
    unmet: dict[int, int] = {}
    dependants: dict[int, list[int]] = {}
    for op in operations:
        needs = {creators[r] for r in operation_references(op) if r in creators} - {op.index}
        unmet[op.index] = len(needs)
        for creator in needs:
            dependants.setdefault(creator, []).append(op.index)
    runnable = [index for index, count in unmet.items() if count == 0]
    heapq.heapify(runnable)
    order: list[BulkOperation] = []
    while runnable:
        index = heapq.heappop(runnable)
        order.append(by_index[index])
        for waiting in dependants.get(index, ()):
            unmet[waiting] -= 1
            if unmet[waiting] == 0:
                heapq.heappush(runnable, waiting)
    ran = {op.index for op in order}
    return order, [op for op in operations if op.index not in ran]
