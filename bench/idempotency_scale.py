"""What a keyed create costs as the keys held grow (issue 12).

`python -m bench.idempotency_scale [MONGODB_URI]`: the server's own services (no HTTP). A
tenant holds 100 completed keys and then 9,000 (2,000 on MongoDB), written straight into the
key store so that only the keys grow between the two points; at each point, 200 creates with
new keys are timed one at a time. It prints p50 per point and the ratio of the larger to the
smaller (target: at most 1.5, flat). Embedded storage always; MongoDB/FerretDB when a URI is
given (FerretDB 1.24 scans a collection even for a lookup by `_id`, so there the ratio shows
FerretDB's cost; on MongoDB every key operation is an `_id` index lookup)."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

import orjson

from scimtenancy_server.bootstrap import nothing_done
from scimtenancy_server.domain.clock import utc_now
from scimtenancy_server.domain.idempotency import (
    IdempotencyRecord,
    Replied,
    create_scope,
    fingerprint,
    key_hash,
)
from scimtenancy_server.domain.schema import DEFAULT_REGISTRY, USER_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant, TenantContext, TenantStatus
from scimtenancy_server.services.idempotency import Attempt, IdempotencyService
from scimtenancy_server.services.resources import ResourceService
from scimtenancy_server.storage.idempotency import IdempotencyStore, InMemoryIdempotencyStore
from scimtenancy_server.storage.memory import InMemoryResourceRepository
from scimtenancy_server.storage.repository import ResourceRepository

# Keys held at each point: the embedded store keeps at most 10,000; FerretDB fills slowly.
SIZES = {"embedded": (100, 9_000), "mongodb": (100, 2_000)}
TIMED = 200
SCOPE = create_scope("User")


async def _fill(store: IdempotencyStore, tenant_id: str, count: int) -> None:
    now = utc_now()
    for number in range(count):
        record = IdempotencyRecord(
            tenant_id,
            SCOPE,
            key_hash(f"filler-{number}"),
            "f" * 64,
            str(uuid.uuid4()),
            lease_until=now,
            expires_at=now + timedelta(hours=24),
        )
        await store.reserve(record)
        await store.complete(record, Replied(b"{}"))


async def _timed(service: IdempotencyService, resources: ResourceService, ctx: Any) -> float:
    """p50 of keyed creates with new keys, in milliseconds."""
    latencies = []
    for _ in range(TIMED):
        key = uuid.uuid4().hex
        body = orjson.dumps({"schemas": [USER_SCHEMA], "userName": f"u-{key}"})

        async def attempt(run: Attempt, body: bytes = body) -> bytes:
            created = await resources.create(ctx, "Users", body, resource_id=run.reserved_id)
            return created.id.encode()

        started = time.perf_counter()
        await service.run(ctx.tenant_id, key, SCOPE, fingerprint(SCOPE, body), attempt)
        latencies.append(time.perf_counter() - started)
    return 1000 * statistics.median(latencies)


async def measure(
    repository: ResourceRepository, store: IdempotencyStore, sizes: tuple[int, int]
) -> dict[str, float]:
    tenant = Tenant(
        f"keys-{uuid.uuid4().hex[:8]}",
        "keys",
        IsolationLevel.STANDARD,
        TenantStatus.ACTIVE,
        utc_now(),
    )
    await repository.provision(tenant, DEFAULT_REGISTRY.all())
    ctx = TenantContext(tenant, "bench")
    resources = ResourceService(repository, DEFAULT_REGISTRY)
    service = IdempotencyService(store, timedelta(hours=24), nothing_done)
    found: dict[str, float] = {}
    held = 0
    for size in sizes:
        await _fill(store, tenant.tenant_id, size - held)
        held = size
        found[f"p50 ms at {size:,} keys"] = await _timed(service, resources, ctx)
    found["ratio"] = found[f"p50 ms at {sizes[1]:,} keys"] / found[f"p50 ms at {sizes[0]:,} keys"]
    await service.close()
    return found


async def main(uri: str | None) -> None:
    runs: dict[str, dict[str, float]] = {
        "embedded": await measure(
            InMemoryResourceRepository(), InMemoryIdempotencyStore(), SIZES["embedded"]
        )
    }
    if uri:
        from scimtenancy_server.storage.mongo import MongoResourceRepository
        from scimtenancy_server.storage.mongo_driver import close, connect
        from scimtenancy_server.storage.mongo_idempotency import MongoIdempotencyStore

        client = connect(uri, 10_000)
        name = f"bench_keys_{uuid.uuid4().hex[:8]}"
        try:
            database = client[name]
            runs["mongodb"] = await measure(
                MongoResourceRepository(database),
                MongoIdempotencyStore(database),
                SIZES["mongodb"],
            )
        finally:
            await client.drop_database(name)
            await close(client)
    for system, found in runs.items():
        figures = ", ".join(f"{name} {value:.3f}" for name, value in found.items())
        verdict = "PASS" if found["ratio"] <= 1.5 else "MISS"
        print(f"keyed create, {system}: {figures} (target ratio <= 1.5: {verdict})")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
