"""A tenant past its request rate gets 429 with Retry-After; other tenants are unaffected."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from e2e.stack import Stack, running_stack, server_settings
from e2e.test_bad_input import assert_scim_error
from e2e.test_metrics import _total
from telemetry_capture import telemetry_capture

from scimtenancy_server.domain.tenant import IsolationLevel


@pytest.fixture
async def limited_stack() -> AsyncIterator[Stack]:
    settings = server_settings("memory")
    settings.rate_limit = 0.01
    settings.rate_burst = 3
    async with running_stack(settings) as stack:
        yield stack


async def test_rate_limit(limited_stack: Stack) -> None:
    capture = telemetry_capture()
    busy = await limited_stack.tenant(IsolationLevel.STANDARD)
    quiet = await limited_stack.tenant(IsolationLevel.STANDARD)
    statuses = [(await busy.get("/Users")).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = await busy.get("/Users")
    assert_scim_error(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert (await quiet.get("/Users")).status_code == 200
    # Counted as the tenant's, so that an alert on refusals can name it.
    refusals = {"tenant.id": busy.tenant_id, "scim.error_type": "429"}
    assert _total(capture.points("scim.operations"), **refusals) == 1
