"""Idempotency keys: their form, request fingerprints, and the service's decisions (replay,
422, in progress, release, take-over, expiry) on the in-memory store, with a clock the tests
move and attempts they hold back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from helpers import make_tenant, unique_id

from scimtenancy_server.bootstrap import nothing_done
from scimtenancy_server.deadlines import Budget, working_to
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.idempotency import (
    MAX_KEY_LENGTH,
    Answer,
    IdempotencyRecord,
    create_scope,
    fingerprint,
    key_hash,
    parse_key,
)
from scimtenancy_server.domain.projection import Projection
from scimtenancy_server.domain.schema import DEFAULT_REGISTRY, GROUP_SCHEMA
from scimtenancy_server.domain.search import ListRequest
from scimtenancy_server.domain.tenant import TenantContext
from scimtenancy_server.services.idempotency import MIN_LEASE, Attempt, IdempotencyService
from scimtenancy_server.services.resources import ResourceService
from scimtenancy_server.storage.idempotency import InMemoryIdempotencyStore
from scimtenancy_server.storage.memory import InMemoryResourceRepository

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
RETENTION = timedelta(hours=24)
SCOPE = create_scope("Group")
PRINT = fingerprint(SCOPE, b'{"displayName": "Team"}')


# -- the key's form


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ('"8e03978e-40d5-43e8-bc93-6894a57f9324"', "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ("8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ('  "spaced key"\t', "spaced key"),
        (r'"a \"quoted\" \\ key"', 'a "quoted" \\ key'),
        ("retry;1", "retry;1"),
        ("k" * MAX_KEY_LENGTH, "k" * MAX_KEY_LENGTH),
        ("", None),
        ("   ", None),
    ],
)
def test_keys_are_sf_strings_or_bare_tokens(value: str, key: str | None) -> None:
    assert parse_key(value) == key


@pytest.mark.parametrize(
    "value",
    [
        '""',  # a quoted key holds something
        "k" * (MAX_KEY_LENGTH + 1),
        '"' + "k" * (MAX_KEY_LENGTH + 1) + '"',
        '"a","b"',  # the header sent twice, as the transcoder joins it
        "a,b",
        "two words",
        '"unterminated',
        '"bad \\x escape"',
        '"key";param=1',
        '"key" trailing',
        "clé",
        '"clé"',
        '"tab\tinside"',
        'bare"quote',
    ],
)
def test_malformed_keys_are_invalid_values_naming_the_header(value: str) -> None:
    with pytest.raises(ScimError) as raised:
        parse_key(value)
    assert raised.value.status == 400
    assert raised.value.scim_type == "invalidValue"
    assert "Idempotency-Key" in raised.value.detail
    assert len(raised.value.detail) < 120


# -- fingerprints


def test_a_fingerprint_names_operation_type_body_and_projection() -> None:
    body = b'{"displayName": "Team"}'
    same = fingerprint(SCOPE, body, ["displayName"], ["members"])
    assert same == fingerprint(SCOPE, body, ("displayName",), ("members",))
    assert (
        len(
            {
                same,
                fingerprint(SCOPE, body),
                fingerprint(create_scope("User"), body, ["displayName"], ["members"]),
                fingerprint(SCOPE, body + b" ", ["displayName"], ["members"]),
                fingerprint(SCOPE, body, ["members"], ["displayName"]),
                fingerprint(SCOPE, body, ["displayName", "members"]),
                fingerprint(SCOPE, body, ["displayNamemembers"]),
                fingerprint("bulk", body),
            }
        )
        == 8
    )


def test_a_stored_key_is_its_hash() -> None:
    assert key_hash("k1") == key_hash("k1") != key_hash("k2")
    assert "k1" not in key_hash("k1")


# -- the service


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Attempts:
    """An attempt function that records its runs, answers `reply` or raises `error`, and can
    be held back until released."""

    def __init__(self, reply: bytes = b"reply", error: BaseException | None = None) -> None:
        self.runs: list[Attempt] = []
        self.reply = reply
        self.error = error
        self.entered = asyncio.Event()
        self.go = asyncio.Event()
        self.go.set()

    def hold(self) -> None:
        """The next run waits for `go`; `entered` tells when it has begun."""
        self.go.clear()
        self.entered.clear()

    async def __call__(self, attempt: Attempt) -> bytes:
        self.runs.append(attempt)
        self.entered.set()
        await self.go.wait()
        if self.error is not None:
            raise self.error
        return self.reply


class Service:
    def __init__(
        self,
        store: type[InMemoryIdempotencyStore] = InMemoryIdempotencyStore,
        retention: timedelta = RETENTION,
        **options: object,
    ) -> None:
        self.clock = Clock()
        self.store = store(clock=self.clock)
        self.repository = InMemoryResourceRepository()
        self.resources = ResourceService(self.repository, DEFAULT_REGISTRY)
        self.service = IdempotencyService(
            self.store,
            retention,
            nothing_done,
            clock=self.clock,
            **options,  # type: ignore[arg-type]
        )

    async def run(
        self,
        attempts: Callable[[Attempt], object],
        *,
        tenant: str = "acme",
        key: str = "k1",
        request: str = PRINT,
        **options: object,
    ) -> bytes:
        return await self.service.run(tenant, key, SCOPE, request, attempts, **options)  # type: ignore[arg-type]


async def refused(run: object, status: int) -> ScimError:
    with pytest.raises(ScimError) as raised:
        await run  # type: ignore[misc]
    assert raised.value.status == status, raised.value
    return raised.value


async def test_a_retry_replays_the_first_answer_without_running_again() -> None:
    s, attempts = Service(), Attempts()
    assert await s.run(attempts) == b"reply"
    attempts.reply = b"another answer"
    assert await s.run(attempts) == b"reply"
    assert len(attempts.runs) == 1
    assert attempts.runs[0].resumed is False


async def test_a_replay_is_logged_with_the_key_hash_never_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s, attempts = Service(), Attempts()
    key = "secret-looking-key-123"
    await s.run(attempts, key=key)
    with caplog.at_level(logging.INFO, logger="scimtenancy_server.services.idempotency"):
        await s.run(attempts, key=key)
    replays = [r for r in caplog.records if "replaying" in r.getMessage()]
    assert len(replays) == 1
    assert key_hash(key)[:16] in replays[0].getMessage()
    assert "acme" in replays[0].getMessage()
    assert key not in caplog.text


async def test_the_same_key_for_a_different_request_is_422() -> None:
    s, attempts = Service(), Attempts()
    await s.run(attempts)
    error = await refused(s.run(attempts, request=fingerprint(SCOPE, b"{}")), 422)
    assert error.scim_type is None
    assert error.detail == "this Idempotency-Key was used for a different request"
    assert len(attempts.runs) == 1


async def test_a_retry_while_the_first_runs_is_409_then_replays_its_answer() -> None:
    s, first = Service(), Attempts()
    first.hold()
    running = asyncio.create_task(s.run(first))
    await first.entered.wait()
    second = Attempts(b"second")
    error = await refused(s.run(second), 409)
    assert "in progress" in error.detail
    first.go.set()
    assert await running == b"reply"
    assert await s.run(second) == b"reply"
    assert second.runs == []


async def test_client_errors_the_request_earns_are_kept_and_replayed() -> None:
    s = Service()
    attempts = Attempts(error=ScimError.invalid_value("emails must be a list"))
    await refused(s.run(attempts), 400)
    attempts.error = None
    error = await refused(s.run(attempts), 400)
    assert (error.scim_type, error.detail) == ("invalidValue", "emails must be a list")
    assert len(attempts.runs) == 1


@pytest.mark.parametrize(
    "error",
    [
        ScimError.uniqueness("userName 'ann' is taken"),
        ScimError.forbidden("the tenant's limit max_users=1 is reached"),
        ScimError(408, "later"),
        ScimError(429, "later"),
    ],
    ids=["uniqueness", "limit", "408", "429"],
)
async def test_refusals_that_depend_on_the_state_free_the_key(error: ScimError) -> None:
    """A limit raised, a name freed, a calmer moment: a retry may now succeed, and since a
    refusal changed nothing, it runs afresh."""
    s = Service()
    attempts = Attempts(error=error)
    await refused(s.run(attempts), error.status)
    attempts.error = None
    assert await s.run(attempts) == b"reply"
    assert len(attempts.runs) == 2


async def test_unavailable_frees_the_key_for_a_fresh_run() -> None:
    s = Service()
    attempts = Attempts(error=ScimError.unavailable("the database is unavailable; retry later"))
    await refused(s.run(attempts), 503)
    attempts.error = None
    assert await s.run(attempts) == b"reply"
    assert [a.resumed for a in attempts.runs] == [False, False]
    assert attempts.runs[0].reserved_id != attempts.runs[1].reserved_id


@pytest.mark.parametrize(
    "error",
    [
        ScimError.outcome_unknown("the outcome is unknown"),
        ScimError.internal(),
        RuntimeError("a bug"),
        asyncio.CancelledError(),
    ],
    ids=["outcome-unknown", "internal", "bug", "cancelled"],
)
async def test_an_unknown_outcome_keeps_the_key_until_its_lease_ends(
    error: BaseException,
) -> None:
    s = Service()
    attempts = Attempts(error=error)
    with pytest.raises(type(error)):
        await s.run(attempts)
    attempts.error = None
    await refused(s.run(attempts), 409)
    s.clock.now += MIN_LEASE
    assert await s.run(attempts) == b"reply"
    first, retry = attempts.runs[0], attempts.runs[-1]
    assert len(attempts.runs) == 2
    assert retry.resumed is True
    assert retry.reserved_id == first.reserved_id
    assert await s.run(attempts) == b"reply"  # and now it is kept


async def test_a_fault_after_writing_began_keeps_the_key() -> None:
    s = Service()
    fault = ScimError.unavailable("the database did not answer in time")
    attempts = Attempts(error=fault)
    with working_to(Budget()) as budget:
        budget.writing = True
        await refused(s.run(attempts), 503)
    attempts.error = None
    await refused(s.run(attempts), 409)


async def test_of_two_retries_after_the_lease_one_takes_over() -> None:
    s, attempts = Service(), Attempts(error=ScimError.internal())
    await refused(s.run(attempts), 500)
    s.clock.now += MIN_LEASE
    attempts.error = None
    attempts.hold()
    taking_over = asyncio.create_task(s.run(attempts))
    await attempts.entered.wait()
    await refused(s.run(attempts), 409)
    attempts.go.set()
    assert await taking_over == b"reply"
    assert len(attempts.runs) == 2


async def test_an_expired_key_is_never_replayed() -> None:
    s, attempts = Service(), Attempts()
    await s.run(attempts)
    s.clock.now += RETENTION
    attempts.reply = b"fresh"
    # Even a different request: the old one is forgotten.
    assert await s.run(attempts, request=fingerprint(SCOPE, b"{}")) == b"fresh"
    assert [a.resumed for a in attempts.runs] == [False, False]
    assert attempts.runs[0].reserved_id != attempts.runs[1].reserved_id


async def test_keys_are_per_tenant() -> None:
    s = Service()
    a, b = Attempts(b"answer of a"), Attempts(b"answer of b")
    assert await s.run(a, tenant="tenant-a") == b"answer of a"
    assert await s.run(b, tenant="tenant-b") == b"answer of b"
    assert await s.run(b, tenant="tenant-b", request=PRINT) == b"answer of b"
    assert a.runs[0].reserved_id != b.runs[0].reserved_id


async def test_an_answer_too_large_to_keep_is_rebuilt_or_refused() -> None:
    s = Service(max_answer_bytes=8)
    attempts = Attempts(b"a large answer")
    assert await s.run(attempts) == b"a large answer"
    reread: list[str] = []

    async def rebuilt(resource_id: str) -> bytes:
        reread.append(resource_id)
        return b"rebuilt"

    assert await s.run(attempts, reread=rebuilt) == b"rebuilt"
    assert reread == [attempts.runs[0].reserved_id]
    error = await refused(s.run(attempts), 409)
    assert "too large to keep" in error.detail
    assert len(attempts.runs) == 1


class UnwritableAnswers(InMemoryIdempotencyStore):
    async def complete(self, record: IdempotencyRecord, answer: Answer) -> None:
        raise ScimError.unavailable("the database is unavailable; retry later")


async def test_an_answer_that_cannot_be_kept_is_still_given() -> None:
    s = Service(UnwritableAnswers)
    attempts = Attempts()
    assert await s.run(attempts) == b"reply"
    await refused(s.run(attempts), 409)
    s.clock.now += MIN_LEASE
    assert await s.run(attempts) == b"reply"
    assert [a.resumed for a in attempts.runs] == [False, True]


# -- creates under a reserved id


def group(name: str) -> bytes:
    return f'{{"schemas": ["{GROUP_SCHEMA}"], "displayName": "{name}"}}'.encode()


async def test_a_resumed_create_answers_what_the_first_attempt_created() -> None:
    s = Service()
    tenant = make_tenant()
    await s.repository.provision(tenant, DEFAULT_REGISTRY.all())
    ctx = TenantContext(tenant, "key-1")
    reserved = unique_id("id")
    projection = Projection()
    first = await s.resources.create(ctx, "Groups", group("Team"), projection, reserved)
    again = await s.resources.create(
        ctx, "Groups", group("Team"), projection, reserved, resumed=True
    )
    assert first.id == again.id == reserved
    assert again.version == first.version
    total = (await s.resources.list_resources(ctx, "Groups", ListRequest())).page.total
    assert total == 1
    with pytest.raises(ScimError) as raised:  # without resuming, the id is taken
        await s.resources.create(ctx, "Groups", group("Team"), projection, reserved)
    assert raised.value.status == 409


class LateReservations(InMemoryIdempotencyStore):
    """A database that stores the first reservation but answers it too late (a timeout)."""

    late = 1

    async def reserve(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        stored = await super().reserve(record)
        if self.late:
            self.late -= 1
            raise ScimError.unavailable("the database did not answer in time; retry later")
        return stored


async def test_a_reservation_that_timed_out_is_taken_back() -> None:
    s, attempts = Service(LateReservations), Attempts()
    await refused(s.run(attempts), 503)
    assert await s.run(attempts) == b"reply"  # not 409 "in progress" for a whole lease
    assert len(attempts.runs) == 1


async def test_a_key_outlives_its_running_attempt_whatever_the_retention() -> None:
    s = Service(retention=timedelta(seconds=1))
    first = Attempts()
    first.hold()
    running = asyncio.ensure_future(s.run(first))
    await first.entered.wait()
    s.clock.now += timedelta(seconds=30)  # past the retention, within the lease
    await refused(s.run(Attempts()), 409)
    first.go.set()
    assert await running == b"reply"
