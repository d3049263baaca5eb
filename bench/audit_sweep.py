"""What an audited write costs the embedded audit store as its log grows: the store forgets
expired events every 1,000 writes, and that sweep must read the expired events, not the whole
log. The same 10,000 writes are timed after a log of n and of 20n kept events; flat work shows
a ratio near 1. Not a test (the suite asserts no time):
`PYTHONPATH=server:common:protos/gen/python .venv/bin/python -m bench.audit_sweep [--n 10000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

from scimtenancy_server.domain.audit import AuditEvent, Outcome, new_event_id
from scimtenancy_server.storage.audit_memory import InMemoryAuditStore

START = datetime(2026, 1, 1, tzinfo=UTC)
WRITES = 10_000


def _event(number: int) -> AuditEvent:
    at = START + timedelta(milliseconds=number)
    return AuditEvent(
        new_event_id(at), "t", at, "key-1", "create", "User", f"u{number}", Outcome.SUCCESS
    )


async def microseconds_per_write(held: int) -> float:
    """The mean cost of WRITES writes after `held` kept events."""
    store = InMemoryAuditStore(timedelta(days=365), clock=lambda: START)
    for number in range(held):
        await store.add(_event(number))
    started = time.perf_counter()
    for number in range(held, held + WRITES):
        await store.add(_event(number))
    return (time.perf_counter() - started) / WRITES * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    n = min(parser.parse_args().n, 100_000)
    small, large = (
        asyncio.run(microseconds_per_write(n)),
        asyncio.run(microseconds_per_write(20 * n)),
    )
    print(f"audited write, log of {n:,}: {small:.2f} µs; of {20 * n:,}: {large:.2f} µs")
    print(f"ratio {large / small:.2f} (flat: near 1; a whole-log sweep: far above)")


if __name__ == "__main__":
    main()
