"""The most expensive requests the service's input limits still allow, one per class: what
tenant B of the noisy-neighbour section sends (bench/noisy.py).

Each is built from the limit values (the server's defaults, or what `--set` gave them), so
it stays just inside them as they change. Bodies carry a fixed-width marker that each request
replaces with its own number, so creates never collide and sizes never change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

import orjson

from bench.data import BULK_REQUEST, USER_SCHEMA
from bench.loadgen import PATCH_OP, SEARCH_REQUEST
from scimtenancy_common.settings import Settings
from scimtenancy_server.domain.limits import DEFAULT_LIMITS

MARKER = b"#########"  # replaced by the request's number, zero-padded to the same width
# ResourceService.max_count: the largest page, not a setting.
MAX_COUNT = 1000
# Room left below a byte limit, for what the server adds to a body it measures.
_MARGIN = 128
_DISPLAY = ',"display":"d"'  # what one PATCH operation adds to each email of its target
# String attributes of a User that take any text (RFC 7643 §4.1.1).
_FREE_TEXT = ("displayName", "nickName", "title", "userType")
_NAME_TEXT = ("formatted", "familyName", "givenName", "middleName")

Tenant = Literal["data", "writes"]


@dataclass(frozen=True)
class Limits:
    """The limits the requests are built against, by their setting names."""

    max_string_length: int
    max_values: int
    max_resource_bytes: int
    max_filter_length: int
    max_filter_terms: int
    max_path_length: int
    max_filter_scan: int
    bulk_max_operations: int
    bulk_max_payload: int
    max_body_bytes: int
    max_patch_operations: int

    @classmethod
    def of(cls, service_env: dict[str, str]) -> Limits:
        """What our processes run with: the `SCIMTENANCY_*` settings they get, else the
        settings' defaults, else (limits that are no setting) InputLimits' defaults."""
        values = {}
        for item in fields(cls):
            override = service_env.get(f"SCIMTENANCY_{item.name.upper()}")
            setting = Settings.model_fields.get(item.name)
            if override is not None and setting is not None:
                values[item.name] = int(override)
            elif setting is not None:
                values[item.name] = int(setting.default)
            else:
                values[item.name] = int(getattr(DEFAULT_LIMITS, item.name))
        return cls(**values)


@dataclass(frozen=True)
class Hostile:
    """One class of request: `{target}` in the path is a patch target's id, MARKER in the
    body the request's number."""

    name: str
    label: str
    tenant: Tenant
    method: str
    path: str
    ok: tuple[int, ...]
    params: dict[str, str] | None = None
    body: bytes | None = None
    # Documented refusals that still count as a clean answer (scimType values).
    refusals: tuple[str, ...] = ()

    def request(self, number: int, targets: list[str]) -> tuple[str, dict[str, str] | None, bytes]:
        """The path, query and body of request `number`."""
        path = self.path.format(target=targets[number % len(targets)] if targets else "")
        return path, self.params, stamped(self.body or b"", number)


def stamped(body: bytes, number: int) -> bytes:
    """The body with MARKER replaced by `number` (same width: the size does not change)."""
    return body.replace(MARKER, f"{number % 10 ** len(MARKER):0{len(MARKER)}d}".encode())


def _json_size(build: Callable[[int], Any]) -> Callable[[int], int]:
    return lambda n: len(orjson.dumps(build(n)))


def _fill(size: Callable[[int], int], budget: int, most: int) -> int:
    """The largest n <= most with size(n) <= budget (0 if none), by bisection: size grows
    with n."""
    low, high = 0, most
    while low < high:
        middle = (low + high + 1) // 2
        if size(middle) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def _or_chain(
    limits: Limits, term: Callable[[int], str], last: str, wrap: str = "{}", fixed: int = 0
) -> str:
    """`term(0) or term(1) ... or last` with as many terms as max_filter_terms and
    max_filter_length allow; `wrap` places the chain inside a filter of `fixed` more terms.
    Nothing matches the terms and everything matches `last`: each resource meets them all."""

    def chain(count: int) -> str:
        return wrap.format(" or ".join([*(term(i) for i in range(count)), last]))

    most = max(0, limits.max_filter_terms - fixed - 1)
    return chain(_fill(lambda n: len(chain(n)), limits.max_filter_length, most))


def _page(filter_text: str | None, order: str = "ascending") -> dict[str, str]:
    """The largest sorted page, from the first result."""
    query = {"startIndex": "1", "count": str(MAX_COUNT), "sortBy": "displayName"}
    query["sortOrder"] = order
    if filter_text is not None:
        query["filter"] = filter_text
    return query


def big_user(limits: Limits, headroom: int = 0) -> dict[str, Any]:
    """A User with max_values emails and strings of max_string_length, up to
    max_resource_bytes less `headroom`; its userName carries MARKER."""
    document: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "userName": f"big-{MARKER.decode()}@hostile.example",
        "emails": [
            {"value": f"e{i:04d}.{MARKER.decode()}@hostile.example", "type": "work"}
            for i in range(limits.max_values)
        ],
        "name": {},
    }
    budget = limits.max_resource_bytes - _MARGIN - headroom
    for key in (*_FREE_TEXT, *(f"name.{k}" for k in _NAME_TEXT)):
        owner, _, attribute = key.rpartition(".")
        place = document["name"] if owner else document

        def sized(n: int, place: dict[str, Any] = place, attribute: str = attribute) -> Any:
            place[attribute] = "w" * n
            return document

        length = _fill(_json_size(sized), budget, limits.max_string_length)
        if length == 0:
            place.pop(attribute, None)
            break
        place[attribute] = "w" * length
    return document


def patch_target(limits: Limits) -> dict[str, Any]:
    """A big User with room for what the PATCH class adds (a display on every email)."""
    return big_user(limits, headroom=limits.max_values * len(_DISPLAY) + _MARGIN)


def _patch_body(limits: Limits) -> bytes:
    """max_patch_operations (as many as fit in the body) replacing the display of every
    email of the target, each through a value filter of as many terms as the path allows."""
    terms = _or_chain(
        replace(limits, max_filter_length=limits.max_path_length - len("emails[].display")),
        lambda i: f'value co "zq{i:03d}"',
        'type eq "work"',
    )
    operation = {"op": "replace", "path": f"emails[{terms}].display", "value": "d"}

    def message(count: int) -> dict[str, Any]:
        return {"schemas": [PATCH_OP], "Operations": [operation] * count}

    budget = limits.max_body_bytes - _MARGIN
    return orjson.dumps(message(_fill(_json_size(message), budget, limits.max_patch_operations)))


def _bulk_user(limits: Limits, j: int, width: int, emails: int, pad: int) -> dict[str, Any]:
    name = f"bk-{MARKER.decode()}-{j:0{width}d}"
    return {
        "schemas": [USER_SCHEMA],
        "userName": f"{name}@hostile.example",
        "displayName": "w" * min(pad, limits.max_string_length),
        "emails": [{"value": f"{name}.{i}@hostile.example", "type": "work"} for i in range(emails)],
    }


def _bulk_body(limits: Limits) -> bytes:
    """BULK_MAX_OPERATIONS creates of Users with as many emails as fit in the payload."""
    operations, width = limits.bulk_max_operations, len(str(limits.bulk_max_operations))
    budget = min(limits.bulk_max_payload, limits.max_body_bytes) - _MARGIN

    def message(emails: int, pad: int = 0) -> dict[str, Any]:
        return {
            "schemas": [BULK_REQUEST],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": str(j),
                    "data": _bulk_user(limits, j, width, emails, pad),
                }
                for j in range(operations)
            ],
        }

    emails = _fill(_json_size(message), budget, limits.max_values)
    pad = (budget - len(orjson.dumps(message(emails)))) // operations
    return orjson.dumps(message(emails, max(0, pad)))


def build(limits: Limits) -> list[Hostile]:
    """Every class, in the order tenant B sends them."""
    unmatched = _or_chain(limits, lambda i: f'emails.value co "zq{i:03d}"', "userName pr")
    scan = _or_chain(
        limits,
        lambda i: f'value co "zq{i:03d}"',
        'value co "@"',
        wrap='emails[type eq "work" and ({})]',
        fixed=1,
    )
    search = _or_chain(limits, lambda i: f'displayName co "zq{i:03d}"', "displayName pr")
    search_body = {
        "schemas": [SEARCH_REQUEST],
        "filter": search,
        "startIndex": 1,
        "count": MAX_COUNT,
        "sortBy": "displayName",
    }
    users = "/Users"
    return [
        Hostile("filter_terms", "filter of most terms, page of 1000", "data", "GET", users, (200,),
                _page(unmatched)),
        Hostile("value_filter", "value filter scanning the tenant", "data", "GET", users, (200,),
                _page(scan, "descending"), refusals=("tooMany",)),
        Hostile("big_user", "create a User of max_resource_bytes", "writes", "POST", users, (201,),
                body=orjson.dumps(big_user(limits))),
        Hostile("patch_ops", "PATCH of most operations", "data", "PATCH", "/Users/{target}",
                (200, 204), body=_patch_body(limits)),
        Hostile("bulk_create", "/Bulk of most creates", "writes", "POST", "/Bulk", (200,),
                body=_bulk_body(limits)),
        Hostile("list_page", "page of 1000 with sortBy", "data", "GET", users, (200,),
                _page(None, "descending")),
        Hostile("root_search", "POST /.search at the root", "data", "POST", "/.search", (200,),
                body=orjson.dumps(search_body), refusals=("tooMany",)),
    ]  # fmt: skip


def sizes(hostile: Hostile) -> str:
    """What makes the request big, for the report."""
    if hostile.body:
        return f"{len(hostile.body):,} B body"
    found = (hostile.params or {}).get("filter", "")
    return f"{len(found):,} char filter" if found else f"count={MAX_COUNT}"
