"""Driver failures become SCIM errors that say what happened: an outage, a slow answer, a
duplicate, or a refusal."""

from __future__ import annotations

import pytest
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.storage.mongo_errors import database_errors


def answer(error: Exception) -> ScimError:
    with pytest.raises(ScimError) as raised, database_errors("userName is taken"):
        raise error
    return raised.value


@pytest.mark.parametrize("error", [ServerSelectionTimeoutError("x"), AutoReconnect("x")])
def test_an_unreachable_database_is_an_outage(error: Exception) -> None:
    found = answer(error)
    assert (found.status, found.detail) == (503, "the database is unavailable; retry later")


@pytest.mark.parametrize("error", [ExecutionTimeout("x"), NetworkTimeout("x")])
def test_a_slow_answer_is_not_called_an_outage(error: Exception) -> None:
    found = answer(error)
    assert found.status == 503
    assert "did not answer within" in found.detail


def test_duplicates_are_uniqueness_errors_even_as_ferretdb_reports_them() -> None:
    assert answer(DuplicateKeyError("x")).scim_type == "uniqueness"
    ferretdb = OperationFailure("UNIQUE constraint failed: users.lc_userName", code=1)
    assert answer(ferretdb).detail == "userName is taken"


def test_other_refusals_are_internal_errors_without_the_drivers_text() -> None:
    found = answer(OperationFailure("secret internals", code=2))
    assert (found.status, found.detail) == (500, "the database refused the operation")
