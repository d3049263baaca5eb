"""Per-tenant fair share of a server process: at most `limit` requests of one tenant are
worked on at once; the tenant's further requests wait their turn, in arrival order, and cost
nothing while they wait.

The event loop is fair between requests, not between tenants: a tenant sending many
expensive requests at once would otherwise take a slice of every round for each of them, and
every other tenant's request would wait behind all of them. A waiting request ends when its
caller's deadline does (gRPC cancels it), so nothing waits unboundedly."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class _Turns:
    """The places of one tenant: how many are taken, and who waits, first come first served."""

    def __init__(self) -> None:
        self.taken = 0
        self.waiting: deque[asyncio.Future[None]] = deque()


class Place:
    """A place held by one request; `release` gives it back (once)."""

    __slots__ = ("_share", "_tenant_id", "_turns")

    def __init__(self, share: TenantFairShare | None, tenant_id: str, turns: _Turns | None) -> None:
        self._share = share
        self._tenant_id = tenant_id
        self._turns = turns

    def release(self) -> None:
        share, turns = self._share, self._turns
        if share is not None and turns is not None:
            self._share = self._turns = None
            share._release(self._tenant_id, turns)


# What a request holds where there is no bound: nothing to give back.
UNBOUNDED = Place(None, "", None)


class TenantFairShare:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._tenants: dict[str, _Turns] = {}

    def working(self, tenant_id: str) -> int:
        """Requests of the tenant being worked on now."""
        turns = self._tenants.get(tenant_id)
        return turns.taken if turns else 0

    def waiting(self, tenant_id: str) -> int:
        """Requests of the tenant waiting for their turn."""
        turns = self._tenants.get(tenant_id)
        return len(turns.waiting) if turns else 0

    def try_take(self, tenant_id: str) -> Place | None:
        """One of the tenant's places at once, if one is free and no request waits for one;
        None: the request has to wait its turn (`take`)."""
        if self.limit <= 0:
            return UNBOUNDED
        turns = self._tenants.get(tenant_id)
        if turns is None:
            turns = self._tenants[tenant_id] = _Turns()
        if turns.taken < self.limit and not turns.waiting:
            turns.taken += 1
            return Place(self, tenant_id, turns)
        return None

    async def take(self, tenant_id: str) -> Place:
        """One of the tenant's places, once it is the request's turn."""
        place = self.try_take(tenant_id)
        if place is not None:
            return place
        turns = self._tenants[tenant_id]
        await self._wait(turns)
        return Place(self, tenant_id, turns)

    @asynccontextmanager
    async def turn(self, tenant_id: str) -> AsyncIterator[None]:
        """Holds one of the tenant's places while the request is worked on."""
        place = await self.take(tenant_id)
        try:
            yield
        finally:
            place.release()

    async def _wait(self, turns: _Turns) -> None:
        ticket = asyncio.get_running_loop().create_future()
        turns.waiting.append(ticket)
        try:
            await ticket  # its place is handed over by `_release`
        except asyncio.CancelledError:
            if ticket in turns.waiting:
                turns.waiting.remove(ticket)
            elif not ticket.cancelled():
                turns.taken -= 1  # handed a place in the same moment: give it back on
                self._hand_over(turns)
            raise

    def _release(self, tenant_id: str, turns: _Turns) -> None:
        turns.taken -= 1
        self._hand_over(turns)
        if not turns.taken and not turns.waiting:
            self._tenants.pop(tenant_id, None)

    def _hand_over(self, turns: _Turns) -> None:
        if turns.waiting and turns.taken < self.limit:
            ticket = turns.waiting.popleft()
            turns.taken += 1
            ticket.set_result(None)
