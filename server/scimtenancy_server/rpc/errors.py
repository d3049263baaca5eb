"""ScimError → gRPC status with a `scimtenancy.errors.v1.ScimError` detail (google.rpc.Status)."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import status_pb2

from scimtenancy.errors.v1 import errors_pb2
from scimtenancy_common.wire import NO_RETRY, STATUS_DETAILS_KEY
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.services.rate_limits import RateLimited

_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ALREADY_EXISTS,
    412: grpc.StatusCode.FAILED_PRECONDITION,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
}


def grpc_code(error: ScimError) -> grpc.StatusCode:
    """The status for a gRPC caller; UNAVAILABLE always means nothing was done (a client may
    retry it anywhere, and the transcoder's channel does), so an unknown outcome is UNKNOWN."""
    if error.unknown_outcome:
        return grpc.StatusCode.UNKNOWN
    if error.status == 409 and error.scim_type != "uniqueness":
        return grpc.StatusCode.ABORTED
    return _CODES.get(error.status, grpc.StatusCode.INTERNAL)


def status_details(error: ScimError) -> bytes:
    detail = any_pb2.Any()
    detail.Pack(
        errors_pb2.ScimError(
            status=error.status, scim_type=error.scim_type or "", detail=error.detail
        )
    )
    code = grpc_code(error)
    status = status_pb2.Status(code=code.value[0], message=error.detail, details=[detail])
    serialized: bytes = status.SerializeToString()
    return serialized


RETRY_AFTER_KEY = "retry-after"


async def abort(context: grpc.aio.ServicerContext, error: ScimError) -> None:
    """Ends the call with the error; raises, as grpc's `abort` always does."""
    trailers: tuple[tuple[str, str | bytes], ...] = (
        (STATUS_DETAILS_KEY, status_details(error)),
        NO_RETRY,
    )
    if isinstance(error, RateLimited):
        trailers += ((RETRY_AFTER_KEY, str(error.retry_after)),)
    await context.abort(grpc_code(error), error.detail, trailing_metadata=trailers)
