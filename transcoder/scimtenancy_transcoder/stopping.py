"""The answer to a request still being served when the shutdown grace period ends.

uvicorn then cancels the request's task; left alone, that is a 500 and a logged traceback. The
request is answered instead with a SCIM 503 that says what is known: nothing was done if no
change had been sent to the server yet, else the change's outcome is unknown (the server
finishes a change it began even when its caller stops waiting)."""

from __future__ import annotations

from contextvars import ContextVar

from starlette.responses import Response

from scimtenancy_common.wire import OUTCOME_UNKNOWN
from scimtenancy_transcoder.errors import HttpScimError, error_response

NOT_SERVED = "the service stopped before it served this request; retry"

# Set, in the request's own task, once a call that may change data is sent.
change_sent: ContextVar[bool] = ContextVar("scim_change_sent", default=False)


def stopped_answer() -> Response:
    detail = OUTCOME_UNKNOWN if change_sent.get() else NOT_SERVED
    return error_response(HttpScimError(503, detail))
