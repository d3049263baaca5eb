"""Turns driver failures into SCIM errors: faults become 503 and clear up by themselves."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.errors import (
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    PyMongoError,
    ServerSelectionTimeoutError,
    WTimeoutError,
)

from scimtenancy_server.domain.errors import ScimError

logger = logging.getLogger(__name__)

# FerretDB 1.24 reports a unique-index violation on update as InternalError (code 1) with the
# backend's message instead of DuplicateKey (11000); these markers recognise it.
_DUPLICATE_MARKERS = ("UNIQUE constraint failed", "duplicate key value violates unique")

_UNAVAILABLE = (ConnectionFailure, ServerSelectionTimeoutError, ExecutionTimeout, WTimeoutError)


@contextmanager
def database_errors(unique_detail: str = "a unique attribute is already taken") -> Iterator[None]:
    try:
        yield
    except PyMongoError as error:
        raise _scim_error(error, unique_detail) from None


def is_duplicate(message: str) -> bool:
    """Whether a FerretDB error message reports a unique-index violation."""
    return any(marker in message for marker in _DUPLICATE_MARKERS)


def _scim_error(error: PyMongoError, unique_detail: str) -> ScimError:
    if isinstance(error, DuplicateKeyError) or is_duplicate(str(error)):
        return ScimError.uniqueness(unique_detail)
    if isinstance(error, ServerSelectionTimeoutError) or (
        isinstance(error, _UNAVAILABLE) and not error.timeout
    ):
        logger.warning("database unavailable: %s", type(error).__name__)
        return ScimError.unavailable("the database is unavailable; retry later")
    if error.timeout:
        # It answers, but not within MONGODB_TIMEOUT_MS: a slow query is not an outage.
        logger.warning("database timed out: %s", type(error).__name__)
        return ScimError.unavailable(
            "the database did not answer within the service's time limit; retry later"
        )
    logger.exception("database operation failed")
    return ScimError.internal("the database refused the operation")
