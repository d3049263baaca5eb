"""A misbehaving network between the server and the database (toxiproxy in between) under steady
load: added latency slows requests but fails none; a stalled, a reset and a closed connection
answer SCIM 503s that tell the truth, before the RPC deadline; once the network heals, the
service recovers without a restart and every acknowledged change is there."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from e2e.fault_load import fault_load, fault_tenants
from e2e.ferretdb_process import private_ferretdb
from e2e.stack import running_stack, server_settings
from e2e.toxiproxy import UPSTREAM, Proxy, toxiproxy

RPC_TIMEOUT = 10.0
CLIENTS = 4
BUDGET = 400  # requests at most, whatever happens
LATENCY_MS = 100  # each way, well inside MONGODB_TIMEOUT_MS
FAULTS: dict[str, Callable[[Proxy], Awaitable[None]]] = {
    "stalled": lambda proxy: proxy.stall("stalled"),  # answers stop, connections stay open
    # Each connection is cut by a TCP RST a little after its first answer: mid-request.
    "reset": lambda proxy: proxy.reset_peer("reset", after_ms=50),
    "closed": lambda proxy: proxy.set_enabled(False),  # connections closed and refused
}


@asynccontextmanager
async def database() -> AsyncIterator[str]:
    """host:port of the suite's database (MONGODB_URI), else of a private FerretDB."""
    uri = os.environ.get("MONGODB_URI", "")
    if uri:
        parts = urlsplit(uri)
        yield f"{parts.hostname or '127.0.0.1'}:{parts.port or 27017}"
        return
    async with private_ferretdb() as ferretdb:
        yield f"127.0.0.1:{ferretdb.port}"


async def test_latency_then_cut_connections_lose_no_acknowledged_write() -> None:
    async with database() as upstream, toxiproxy() as tools:
        proxy = await tools.proxy("mongodb", upstream)
        settings = server_settings("mongodb", f"mongodb://{proxy.listen}/?directConnection=true")
        settings.mongodb_timeout_ms = 1500
        async with running_stack(settings, rpc_timeout=RPC_TIMEOUT) as stack:
            clients = await fault_tenants(stack, CLIENTS)
            try:
                async with fault_load(clients, BUDGET, RPC_TIMEOUT) as load:
                    await load.more(20)
                    load.begin("latency")
                    await proxy.latency("latency", LATENCY_MS)
                    await proxy.latency("latency-up", LATENCY_MS, stream=UPSTREAM)
                    await load.more(32)
                    for phase, answers in (("stalled", 12), ("reset", 16), ("closed", 12)):
                        await proxy.heal()
                        load.begin(phase)
                        await FAULTS[phase](proxy)
                        await load.more(answers)
                    healed_at = load.begin("healing")
                    await proxy.heal()
                    healed = await load.first_success_after(healed_at)
                    load.begin("after")
                    await load.more(40)
            finally:
                await proxy.heal()  # the stack drops its database through the proxy
            findings = await load.verify()

    print(load.summary(), *findings.unknown, sep="\n")
    print(f"recovered {healed.answered - healed_at:.2f} s after the network began to heal")
    assert not findings.problems, findings.message()
    failed = [str(e) for e in load.settled("before") if not e.ok]
    assert not failed, f"failed with a sound network: {failed}"
    slow = [str(e) for e in load.settled("latency") if not e.ok]
    assert not slow, f"failed under latency alone: {slow}"
    for phase in FAULTS:
        assert any(e.status == 503 for e in load.settled(phase)), f"no 503 while {phase}"
    failed = [str(e) for e in load.answers("after") if not e.ok]
    assert not failed, f"failed after recovery: {failed}"
