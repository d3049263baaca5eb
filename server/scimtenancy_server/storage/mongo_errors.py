"""Turns driver failures into SCIM errors: faults become 503 and clear up by themselves."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.errors import (
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    OperationFailure,
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
    except DuplicateKeyError:
        raise ScimError.uniqueness(unique_detail) from None
    except _UNAVAILABLE as error:
        logger.warning("database unavailable: %s", type(error).__name__)
        raise ScimError.unavailable("the database is unavailable; retry later") from None
    except (OperationFailure, PyMongoError) as error:
        if any(marker in str(error) for marker in _DUPLICATE_MARKERS):
            raise ScimError.uniqueness(unique_detail) from None
        if getattr(error, "timeout", False):
            raise ScimError.unavailable("the database timed out; retry later") from None
        logger.exception("database operation failed")
        raise ScimError.internal("the database refused the operation") from None
