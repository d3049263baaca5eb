"""A database outage answers 503 with a SCIM error, writes nothing, and heals by itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import httpx
import pytest
from e2e.proxy import CuttableProxy
from e2e.stack import Stack, running_stack, server_settings
from helpers import require_mongodb, user_body

from scimtenancy_server.domain.tenant import IsolationLevel

RECOVERY_ATTEMPTS = 40  # x 0.25 s: the driver must reconnect well within ten seconds


@pytest.fixture
async def outage() -> AsyncIterator[tuple[Stack, CuttableProxy]]:
    upstream = urlsplit(require_mongodb())
    proxy = CuttableProxy(upstream.hostname or "127.0.0.1", upstream.port or 27017)
    await proxy.start()
    settings = server_settings(
        "mongodb", f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true"
    )
    settings.mongodb_timeout_ms = 1500
    try:
        async with running_stack(settings) as stack:  # drops its database through the proxy
            yield stack, proxy
    finally:
        await proxy.stop()


async def _eventually_ok(request: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    for _ in range(RECOVERY_ATTEMPTS):
        response = await request()
        if response.status_code < 500:
            return response
        await asyncio.sleep(0.25)
    return response


async def test_outage_gives_503_and_recovers(outage: tuple[Stack, CuttableProxy]) -> None:
    stack, proxy = outage
    scim = await stack.tenant(IsolationLevel.STANDARD)
    created = (await scim.post("/Users", user_body("before"))).json()

    await proxy.cut()
    for response in (
        await scim.get(f"/Users/{created['id']}"),
        await scim.post("/Users", user_body("during")),
        await scim.get("/Users"),
    ):
        assert response.status_code == 503, response.text
        assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert "retry" in response.json()["detail"]

    readyz = f"{stack.origins['path']}/readyz"
    not_ready = await stack.http.get(readyz)
    assert (not_ready.status_code, not_ready.json()["status"]) == (503, "not ready")

    await proxy.restore()
    assert (await _eventually_ok(lambda: stack.http.get(readyz))).status_code == 200
    healed = await _eventually_ok(lambda: scim.get(f"/Users/{created['id']}"))
    assert healed.status_code == 200
    assert healed.json() == created
    names = [u["userName"] for u in (await scim.get("/Users")).json()["Resources"]]
    assert names == ["before"]  # the refused write left nothing behind
