"""A tenant's requests beyond its fair share wait their turn in arrival order; other tenants
never wait for it; cancelled waiters give their place on."""

from __future__ import annotations

import asyncio

import pytest

from scimtenancy_server.services.fair_share import TenantFairShare


async def hold(
    share: TenantFairShare, tenant: str, log: list[str], name: str, release: asyncio.Event
) -> None:
    async with share.turn(tenant):
        log.append(name)
        await release.wait()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_requests_past_the_share_wait_in_arrival_order() -> None:
    share, log = TenantFairShare(2), list[str]()
    gates = [asyncio.Event() for _ in range(5)]
    tasks = [asyncio.create_task(hold(share, "b", log, f"b{i}", gates[i])) for i in range(5)]
    await settle()
    assert log == ["b0", "b1"]
    assert (share.working("b"), share.waiting("b")) == (2, 3)
    gates[1].set()
    await settle()
    assert log == ["b0", "b1", "b2"]
    for gate in gates:
        gate.set()
    await asyncio.gather(*tasks)
    assert log == ["b0", "b1", "b2", "b3", "b4"]
    assert (share.working("b"), share.waiting("b")) == (0, 0)


async def test_another_tenant_never_waits_behind_a_busy_one() -> None:
    share, log = TenantFairShare(1), list[str]()
    busy = asyncio.Event()
    flood = [asyncio.create_task(hold(share, "b", log, f"b{i}", busy)) for i in range(4)]
    await settle()
    done = asyncio.Event()
    done.set()
    await asyncio.wait_for(hold(share, "a", log, "a", done), timeout=5)
    assert log == ["b0", "a"]
    busy.set()
    await asyncio.gather(*flood)


async def test_a_cancelled_waiter_leaves_its_place_to_the_next() -> None:
    share, log = TenantFairShare(1), list[str]()
    first, rest = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(hold(share, "b", log, "b0", first))
    await settle()
    cancelled = asyncio.create_task(hold(share, "b", log, "cancelled", rest))
    after = asyncio.create_task(hold(share, "b", log, "b2", rest))
    await settle()
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    first.set()
    rest.set()
    await asyncio.gather(holder, after)
    assert log == ["b0", "b2"]
    assert (share.working("b"), share.waiting("b")) == (0, 0)


async def test_a_place_handed_to_a_request_cancelled_at_that_moment_passes_on() -> None:
    share, log = TenantFairShare(1), list[str]()
    gate = asyncio.Event()
    holder = asyncio.create_task(hold(share, "b", log, "b0", gate))
    await settle()
    handed = asyncio.create_task(hold(share, "b", log, "handed", gate))
    after = asyncio.create_task(hold(share, "b", log, "b2", gate))
    await settle()
    gate.set()
    await asyncio.sleep(0)  # the holder leaves and hands its place to `handed` ...
    handed.cancel()  # ... which is cancelled before it runs
    await asyncio.gather(holder, after, handed, return_exceptions=True)
    assert "b2" in log
    assert (share.working("b"), share.waiting("b")) == (0, 0)


async def test_no_bound_when_the_share_is_zero() -> None:
    share, log = TenantFairShare(0), list[str]()
    gate = asyncio.Event()
    tasks = [asyncio.create_task(hold(share, "b", log, f"b{i}", gate)) for i in range(10)]
    await settle()
    assert len(log) == 10
    gate.set()
    await asyncio.gather(*tasks)
