"""The idempotency store contract (storage/idempotency.py), in memory and on MongoDB: a key is
reserved once, completed or released only by the attempt that holds it, taken over by one
retry at most, forgotten when it expires or its tenant goes, and kept apart per tenant."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers import unique_id

from scimtenancy_server.domain.idempotency import (
    IdempotencyRecord,
    Refused,
    Replied,
    Unkept,
    create_scope,
    fingerprint,
    key_hash,
)
from scimtenancy_server.storage.idempotency import IdempotencyStore, InMemoryIdempotencyStore
from scimtenancy_server.storage.mongo_idempotency import EXPIRY_INDEX, MongoIdempotencyStore

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
LEASE = timedelta(seconds=60)
RETENTION = timedelta(hours=24)


@pytest.fixture(params=["memory", "mongodb"])
def keys(request: pytest.FixtureRequest) -> IdempotencyStore:
    """A store whose clock stands still, so it never sweeps in the background."""
    if request.param == "memory":
        return InMemoryIdempotencyStore(clock=lambda: NOW)
    database: Any = request.getfixturevalue("mongo_database")
    return MongoIdempotencyStore(database, clock=lambda: NOW)


def record(
    tenant_id: str = "", key: str = "k1", age: timedelta = timedelta(0), **changes: Any
) -> IdempotencyRecord:
    at = NOW - age
    made = IdempotencyRecord(
        tenant_id or unique_id(),
        create_scope("Group"),
        key_hash(key),
        fingerprint(create_scope("Group"), b"{}"),
        unique_id("id"),
        lease_until=at + LEASE,
        expires_at=at + RETENTION,
    )
    return replace(made, **changes)


def next_attempt(old: IdempotencyRecord) -> IdempotencyRecord:
    return replace(old, attempt=old.attempt + 1, lease_until=NOW + LEASE, answer=None)


async def test_a_key_is_reserved_once(keys: IdempotencyStore) -> None:
    first = record()
    assert await keys.reserve(first) is None
    assert await keys.reserve(replace(first, reserved_id="another")) == first


async def test_keys_are_apart_per_tenant_scope_and_key(keys: IdempotencyStore) -> None:
    first = record()
    assert await keys.reserve(first) is None
    for other in (
        record(key="k1"),  # another tenant
        record(first.tenant_id, "k2"),
        record(first.tenant_id, "k1", scope="bulk"),
    ):
        assert await keys.reserve(other) is None
    assert await keys.reserve(first) == first


@pytest.mark.parametrize(
    "answer",
    [
        Replied(b'\x00\x01{"id": "g1"}'),
        Refused(409, "uniqueness", "userName 'ann' is taken"),
        Refused(404, "", "no such resource type"),
        Unkept(5_000_000),
    ],
    ids=["reply", "error", "error-without-type", "unkept"],
)
async def test_a_completed_key_is_found_with_its_answer(
    keys: IdempotencyStore, answer: Any
) -> None:
    first = record()
    await keys.reserve(first)
    await keys.complete(first, answer)
    assert await keys.reserve(record(first.tenant_id)) == replace(first, answer=answer)


async def test_only_the_holding_attempt_completes_or_releases(keys: IdempotencyStore) -> None:
    first = record(age=LEASE)
    await keys.reserve(first)
    second = next_attempt(first)
    assert await keys.take_over(first, second)
    await keys.complete(first, Replied(b"late"))
    await keys.release(first)
    assert await keys.reserve(first) == second
    await keys.complete(second, Replied(b"answer"))
    await keys.release(second)  # a completed key is not released
    assert await keys.reserve(first) == replace(second, answer=Replied(b"answer"))


async def test_a_released_key_can_be_reserved_afresh(keys: IdempotencyStore) -> None:
    first = record()
    await keys.reserve(first)
    await keys.release(first)
    fresh = replace(first, reserved_id="fresh")
    assert await keys.reserve(fresh) is None
    assert await keys.reserve(first) == fresh


async def test_of_concurrent_take_overs_one_wins(keys: IdempotencyStore) -> None:
    first = record(age=LEASE)
    await keys.reserve(first)
    successors = [replace(next_attempt(first), lease_until=NOW + LEASE * i) for i in range(5)]
    won = await asyncio.gather(*(keys.take_over(first, s) for s in successors))
    assert won.count(True) == 1
    assert await keys.reserve(first) == successors[won.index(True)]
    # The next generation is taken over from the winner only.
    third = next_attempt(successors[won.index(True)])
    assert not await keys.take_over(first, next_attempt(first))
    assert await keys.take_over(successors[won.index(True)], third)


async def test_a_take_over_fails_once_the_key_moved_on(keys: IdempotencyStore) -> None:
    completed = record(age=LEASE)
    await keys.reserve(completed)
    await keys.complete(completed, Replied(b"done"))
    assert not await keys.take_over(completed, next_attempt(completed))
    released = record(age=LEASE)
    await keys.reserve(released)
    await keys.release(released)
    assert not await keys.take_over(released, next_attempt(released))
    assert await keys.reserve(released) is None  # the take-over left nothing behind


async def test_an_expired_completed_key_can_be_replaced(keys: IdempotencyStore) -> None:
    old = record(age=RETENTION)
    await keys.reserve(old)
    await keys.complete(old, Replied(b"old"))
    stored = replace(old, answer=Replied(b"old"))
    fresh = record(old.tenant_id, attempt=1, fingerprint="another request")
    assert await keys.take_over(stored, fresh)
    assert await keys.reserve(old) == fresh


async def test_expired_keys_are_removed_a_bounded_number_at_a_time(
    keys: IdempotencyStore,
) -> None:
    tenant_id = unique_id()
    expired = [record(tenant_id, f"old-{i}", RETENTION + timedelta(seconds=i)) for i in range(3)]
    kept = record(tenant_id, "live", RETENTION - timedelta(seconds=1))
    for r in [*expired, kept]:
        await keys.reserve(r)
    assert await keys.remove_expired(2) == 2
    assert await keys.remove_expired(10) >= 1
    assert await keys.remove_expired(10) == 0
    for r in expired:
        assert await keys.reserve(r) is None
    assert await keys.reserve(kept) == kept


async def test_purging_a_tenant_forgets_its_keys_only(keys: IdempotencyStore) -> None:
    done, other = record(), record()
    running = record(done.tenant_id, "k2")
    for r in (done, running, other):
        await keys.reserve(r)
    await keys.complete(done, Replied(b"answer"))
    await keys.purge(done.tenant_id)
    assert await keys.reserve(done) is None
    assert await keys.reserve(running) is None
    assert await keys.reserve(other) == other


async def test_mongodb_expiry_is_a_ttl_index_or_a_sweep(mongo_database: Any) -> None:
    expired, kept = record(age=RETENTION), record()
    store = MongoIdempotencyStore(mongo_database, clock=lambda: NOW)
    await store.reserve(expired)
    indexes = await store.collection.index_information()
    if store.expiry == "ttl_index":
        assert indexes[EXPIRY_INDEX]["expireAfterSeconds"] == 0
        assert indexes[EXPIRY_INDEX]["key"] == [("expires_at", 1)]
    else:
        assert store.expiry == "sweep"
        assert EXPIRY_INDEX not in indexes
        # A store that starts sweeps what expired before it reserves anything.
        again = MongoIdempotencyStore(mongo_database, clock=lambda: NOW)
        assert await again.reserve(kept) is None
        assert await store.collection.find_one({"_id": expired.record_id}) is None
        await again.close()
    await store.close()


async def test_the_memory_store_keeps_a_bounded_number_of_keys() -> None:
    store = InMemoryIdempotencyStore(clock=lambda: NOW, max_records=3)
    tenant_id = unique_id()
    records = [record(tenant_id, f"k{i}") for i in range(4)]
    for r in records:
        await store.reserve(r)
    assert await store.reserve(records[3]) == records[3]
    assert await store.reserve(records[0]) is None  # the oldest went first


async def test_the_memory_store_keeps_a_bounded_number_of_bytes() -> None:
    store = InMemoryIdempotencyStore(clock=lambda: NOW, max_bytes=10)
    first, second = record(), record()
    await store.reserve(first)
    await store.reserve(second)
    await store.complete(first, Replied(b"0123456789"))
    await store.complete(second, Replied(b"x"))  # 11 bytes: the oldest goes
    assert await store.reserve(second) == replace(second, answer=Replied(b"x"))
    assert await store.reserve(first) is None
