"""SCIM Error responses (RFC 7644 §3.12): from gRPC statuses, and for HTTP-level failures."""

from __future__ import annotations

import grpc
import orjson
from google.rpc import status_pb2
from starlette.responses import Response

from scimtenancy.errors.v1 import errors_pb2
from scimtenancy_common.wire import (
    ERROR_SCHEMA,
    OUTCOME_UNKNOWN,
    STARTED_KEY,
    STATUS_DETAILS_KEY,
    short_detail,
)

SCIM_MEDIA_TYPE = "application/scim+json"

# Used only when the server sent no ScimError detail (e.g. it was unreachable).
_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 412,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
    # A server shutting down cancels the calls it had received but not started: retry them.
    grpc.StatusCode.CANCELLED: 503,
    # Only gRPC's own message and metadata limits answer this without a ScimError.
    grpc.StatusCode.RESOURCE_EXHAUSTED: 413,
}
_GENERIC_DETAIL = {
    413: "the request is larger than the service accepts",
    503: "the tenancy server is unavailable; retry later",
}
# Statuses after which a change may have been made without its answer arriving: the deadline
# passed, or the connection broke, while the server was at work.
_UNCERTAIN = frozenset(
    {
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
    }
)


class HttpScimError(Exception):
    def __init__(
        self, status: int, detail: str, scim_type: str = "", headers: dict[str, str] | None = None
    ) -> None:
        detail = short_detail(detail)
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.headers = headers or {}


def error_response(error: HttpScimError) -> Response:
    body: dict[str, object] = {
        "schemas": [ERROR_SCHEMA],
        "status": str(error.status),
        "detail": error.detail,
    }
    if error.scim_type:
        body["scimType"] = error.scim_type
    headers = dict(error.headers)
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="scim"'
    return Response(orjson.dumps(body), error.status, headers, media_type=SCIM_MEDIA_TYPE)


def from_rpc_error(error: grpc.aio.AioRpcError, changes: bool = False) -> HttpScimError:
    """The SCIM error for a failed call; `changes`: the call was a write, whose outcome is
    unknown when it failed in transit rather than by the server's answer."""
    trailers = dict(error.trailing_metadata() or ())
    retry_after = trailers.get("retry-after")
    headers = {"Retry-After": retry_after} if isinstance(retry_after, str) else None
    details = trailers.get(STATUS_DETAILS_KEY)
    if isinstance(details, bytes):
        detail = _scim_detail(details)
        if detail is not None:
            return HttpScimError(detail.status, detail.detail, detail.scim_type, headers)
    # No ScimError: the status comes from gRPC itself (a transport limit, an unreachable
    # server), and its text names gRPC internals, so it is never shown.
    if changes and _uncertain(error):
        return HttpScimError(503, OUTCOME_UNKNOWN)
    status = _HTTP_STATUS.get(error.code(), 500)
    return HttpScimError(status, _GENERIC_DETAIL.get(status, "the request failed"))


def _uncertain(error: grpc.aio.AioRpcError) -> bool:
    """Whether a change may have been made: its deadline passed (the server may have begun
    it a moment ago), or it broke after a server took it up (it sends headers first)."""
    code = error.code()
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return True
    started = any(key == STARTED_KEY for key, _ in error.initial_metadata() or ())
    return code in _UNCERTAIN and started


def _scim_detail(payload: bytes) -> errors_pb2.ScimError | None:
    status = status_pb2.Status.FromString(payload)
    for detail in status.details:
        if detail.Is(errors_pb2.ScimError.DESCRIPTOR):
            scim_error = errors_pb2.ScimError()
            detail.Unpack(scim_error)
            return scim_error
    return None
