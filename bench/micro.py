"""In-process measurements, each run in a process of its own (JSON job on stdin, JSON result
on stdout):

- resolver: cached tenant resolution (the server's TenantResolver, as bootstrap builds it).
- find_one: raw motor `find_one`s (by `_id`, or any filters given), one at a time, on the
  service's own database: what the database alone costs.
- drivers: the MongoDB repository (MongoResourceRepository) on each value of the server's
  `MONGODB_DRIVER` (motor, and PyMongo's native `AsyncMongoClient`), its client made by the
  server's own `mongo_driver.connect`, same workload (insert, get, `userName eq`, replace on a
  version, delete with the removal from groups).
"""

from __future__ import annotations

import asyncio
import sys
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import uvloop

from bench.data import user, user_name
from bench.loadgen import percentile
from scimtenancy_server.storage.mongo_driver import DRIVERS, DriverName, close, connect

Job = dict[str, Any]


async def resolver(job: Job) -> dict[str, Any]:
    """The server's TenantResolver over API keys in the in-memory tenant store, its cache
    filled: what every request pays before any SCIM work."""
    from scimtenancy_server.domain.credentials import new_api_key
    from scimtenancy_server.domain.tenant import IsolationLevel, Tenant, TenantStatus
    from scimtenancy_server.services.resolution import ApiKeyResolver, TenantResolver
    from scimtenancy_server.storage.tenants import InMemoryTenantStore

    store = InMemoryTenantStore()
    cached = TenantResolver([ApiKeyResolver(store)], ttl=3600)
    now = datetime.now(UTC)
    keys = []
    for number in range(job["tenants"]):
        tenant_id = f"r{number}"
        await store.create(
            Tenant(tenant_id, tenant_id, IsolationLevel.STRICT, TenantStatus.ACTIVE, now)
        )
        record, secret = new_api_key(tenant_id, now)
        await store.save_key(record)
        keys.append(f"Bearer {secret}")
    for key in keys:  # fill the cache
        await cached.resolve(key)
    resolve, calls, count = cached.resolve, 0, len(keys)
    deadline = time.perf_counter() + job["seconds"]
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        for number in range(10_000):
            await resolve(keys[number % count])
        calls += 10_000
    elapsed = time.perf_counter() - started
    if cached.misses != count:
        raise RuntimeError(f"{cached.misses} cache misses for {count} keys")
    return {"calls": calls, "per_second": round(calls / elapsed), "keys": count}


async def _timed(call: Callable[[int], Awaitable[Any]], seconds: float, limit: int) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    for number in range(limit):
        if time.perf_counter() >= deadline:
            break
        t0 = time.perf_counter()
        await call(number)
        latencies.append(time.perf_counter() - t0)
    return sorted(latencies)


def _latency(latencies: list[float]) -> dict[str, Any]:
    return {
        "requests": len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "rps": round(len(latencies) / sum(latencies), 1) if latencies else 0.0,
    }


async def find_one(job: Job) -> dict[str, Any]:
    from motor.motor_asyncio import AsyncIOMotorClient

    client: Any = AsyncIOMotorClient(job["uri"], tz_aware=True)
    database = client[job["database"]]
    # Each lookup: [collection name, filter]; one request each, in turn.
    lookups = [(database[name], where) for name, where in job["lookups"]]
    try:
        await lookups[0][0].find_one(lookups[0][1])  # connect

        async def one(number: int) -> None:
            collection, where = lookups[number % len(lookups)]
            if await collection.find_one(where) is None:
                raise LookupError(f"nothing matches {where}")

        return _latency(await _timed(one, job["seconds"], 1_000_000))
    finally:
        client.close()


async def _driver_workload(driver: DriverName, job: Job) -> dict[str, Any]:
    from scimtenancy_server.domain.filter import parse_filter
    from scimtenancy_server.domain.resource import StoredResource
    from scimtenancy_server.domain.schema import DEFAULT_REGISTRY
    from scimtenancy_server.domain.tenant import IsolationLevel, Tenant, TenantStatus
    from scimtenancy_server.domain.validation import canonical_attributes
    from scimtenancy_server.storage.mongo import MongoResourceRepository

    # The client as the server makes it with SCIMTENANCY_MONGODB_DRIVER=<driver> (and the
    # default MONGODB_TIMEOUT_MS).
    client = connect(job["uri"], driver=driver)
    database = client[f"drivers_{driver}"]
    users = DEFAULT_REGISTRY.resolve("Users")
    now = datetime.now(UTC)
    tenant = Tenant("drivers", "drivers", IsolationLevel.STANDARD, TenantStatus.ACTIVE, now)
    count, seconds = job["count"], job["seconds"]
    try:
        repository = MongoResourceRepository(database)
        await repository.provision(tenant, DEFAULT_REGISTRY.all())
        ids = [str(uuid.uuid4()) for _ in range(count)]

        async def insert(number: int) -> None:
            attributes = canonical_attributes(users, user(number))
            resource = StoredResource(users.name, ids[number], 1, now, now, attributes)
            await repository.insert(tenant, resource, users)

        async def get(number: int) -> None:
            if await repository.get(tenant, users, ids[number % count]) is None:
                raise LookupError("a stored user was not found")

        async def replace(number: int) -> None:
            current = await repository.get(tenant, users, ids[number])
            assert current is not None
            attributes = {**current.attributes, "displayName": f"Replaced {number}"}
            revised = current.revised(attributes, now)
            if not await repository.replace(tenant, users, revised, current.version):
                raise LookupError("a replace on the current version was refused")

        async def delete(number: int) -> None:
            # As the service deletes a User: the resource, then its memberships, group by group.
            user_id = ids[count - 1 - number]
            if not await repository.delete(tenant, users, user_id, None):
                raise LookupError("a stored user could not be deleted")
            memberships = repository.memberships
            for group_id in (await memberships.groups_of(tenant, [user_id])).get(user_id, []):
                await memberships.remove(tenant, group_id, [user_id])

        async def filter_eq(number: int) -> None:
            where = parse_filter(f'userName eq "{user_name(number % count)}"')
            page = await repository.list(tenant, users, where, 0, 10)
            if page.total != 1:
                raise LookupError(f"userName eq found {page.total}")

        result = {"insert": _latency(await _timed(insert, seconds * 3, count))}
        count = result["insert"]["requests"]
        result["get"] = _latency(await _timed(get, seconds, 1_000_000))
        result["filter_eq"] = _latency(await _timed(filter_eq, seconds, 1_000_000))
        started = time.perf_counter()
        gets = 0
        while time.perf_counter() - started < seconds:
            await asyncio.gather(*(get(gets + n) for n in range(16)))
            gets += 16
        result["get_16_concurrent"] = {"rps": round(gets / (time.perf_counter() - started), 1)}
        result["replace"] = _latency(await _timed(replace, seconds, count // 2))
        result["delete"] = _latency(await _timed(delete, seconds, count // 2))
        return result
    finally:
        await client.drop_database(f"drivers_{driver}")
        await close(client)


async def drivers(job: Job) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for driver in DRIVERS:
        try:
            results[driver] = await _driver_workload(driver, job)
        except Exception as error:  # reported, not fatal: the point is whether it works
            results[driver] = {
                "error": f"{type(error).__name__}: {error}",
                "trace": traceback.format_exc(limit=6),
            }
    return results


TASKS: dict[str, Callable[[Job], Awaitable[dict[str, Any]]]] = {
    "resolver": resolver,
    "find_one": find_one,
    "drivers": drivers,
}


def main() -> None:
    job = orjson.loads(sys.stdin.buffer.read())

    async def task() -> dict[str, Any]:
        return await TASKS[job["task"]](job)

    result = uvloop.run(task())
    sys.stdout.buffer.write(orjson.dumps(result))


if __name__ == "__main__":
    main()
