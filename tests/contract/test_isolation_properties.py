"""Stateful property: random operations by three tenants (strict, standard and shared isolation
side by side) on each storage adapter; no response ever shows one tenant another tenant's data."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import orjson
import pytest
from helpers import make_tenant, require_mongodb
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.schema import DEFAULT_REGISTRY, USER_SCHEMA
from scimtenancy_server.domain.search import ListRequest
from scimtenancy_server.domain.tenant import IsolationLevel, TenantContext
from scimtenancy_server.services.resources import ResourceService
from scimtenancy_server.storage.memory import InMemoryResourceRepository
from scimtenancy_server.storage.mongo import MongoResourceRepository, connect
from scimtenancy_server.storage.repository import ResourceRepository

T = TypeVar("T")
NAMES = st.sampled_from(["ann", "ANN", "bob", "carol", "dave"])
LEVELS = (IsolationLevel.STRICT, IsolationLevel.STANDARD, IsolationLevel.SHARED)


class _Loop:
    """An event loop in a thread: hypothesis drives rules synchronously."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


def body(name: str) -> bytes:
    return orjson.dumps({"schemas": [USER_SCHEMA], "userName": name})


class TenantIsolation(RuleBasedStateMachine):
    storage = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.runner = _Loop()
        self.client: Any = None
        repository: ResourceRepository
        if self.storage == "mongodb":
            self.client = self.runner.run(self._connect())
            self.database = f"scimtenancy_iso_{uuid.uuid4().hex[:8]}"
            repository = MongoResourceRepository(self.client[self.database])
        else:
            repository = InMemoryResourceRepository()
        self.service = ResourceService(repository, DEFAULT_REGISTRY)
        self.contexts = []
        for level in LEVELS:
            tenant = make_tenant(level)
            self.runner.run(repository.provision(tenant, DEFAULT_REGISTRY.all()))
            self.contexts.append(TenantContext(tenant, "test"))
        self.owned: list[dict[str, str]] = [{} for _ in LEVELS]  # id -> userName, per tenant

    async def _connect(self) -> Any:
        return connect(os.environ["MONGODB_URI"])

    async def _drop(self) -> None:
        await self.client.drop_database(self.database)
        self.client.close()

    def teardown(self) -> None:
        if self.client is not None:
            self.runner.run(self._drop())
        self.runner.close()

    def _attempt(self, coroutine: Coroutine[Any, Any, T]) -> tuple[T | None, ScimError | None]:
        try:
            return self.runner.run(coroutine), None
        except ScimError as error:
            return None, error

    def _all_ids(self) -> list[str]:
        return [i for owned in self.owned for i in owned]

    @rule(who=st.integers(0, 2), name=NAMES)
    def create(self, who: int, name: str) -> None:
        created, error = self._attempt(self.service.create(self.contexts[who], "User", body(name)))
        taken = name.lower() in {n.lower() for n in self.owned[who].values()}
        if error is not None:
            assert (error.scim_type, taken) == ("uniqueness", True)
            return
        assert created is not None
        assert not taken
        self.owned[who][created.id] = name

    @rule(who=st.integers(0, 2), pick=st.integers(0, 50))
    def get_any(self, who: int, pick: int) -> None:
        ids = self._all_ids()
        if not ids:
            return
        target = ids[pick % len(ids)]
        found, error = self._attempt(self.service.get(self.contexts[who], "User", target))
        if target not in self.owned[who]:
            assert error is not None
            assert error.status == 404
            return
        assert found is not None
        assert found.attributes["userName"] == self.owned[who][target]

    @rule(who=st.integers(0, 2), pick=st.integers(0, 50), name=NAMES)
    def replace_any(self, who: int, pick: int, name: str) -> None:
        ids = self._all_ids()
        if not ids:
            return
        target = ids[pick % len(ids)]
        _, error = self._attempt(
            self.service.replace(self.contexts[who], "User", target, body(name), "")
        )
        if target not in self.owned[who]:
            assert error is not None
            assert error.status == 404
            return
        others = {n.lower() for i, n in self.owned[who].items() if i != target}
        if error is not None:
            assert (error.status, name.lower() in others) == (409, True)
            return
        self.owned[who][target] = name

    @rule(who=st.integers(0, 2), pick=st.integers(0, 50))
    def delete_any(self, who: int, pick: int) -> None:
        ids = self._all_ids()
        if not ids:
            return
        target = ids[pick % len(ids)]
        _, error = self._attempt(self.service.delete(self.contexts[who], "User", target, ""))
        if target not in self.owned[who]:
            assert error is not None
            assert error.status == 404
            return
        assert error is None
        del self.owned[who][target]

    @rule(who=st.integers(0, 2), name=NAMES)
    def filter_by_name(self, who: int, name: str) -> None:
        request = ListRequest(filter=f'userName eq "{name}"')
        result = self.runner.run(self.service.list_resources(self.contexts[who], "User", request))
        expected = {i for i, n in self.owned[who].items() if n.lower() == name.lower()}
        assert {r.id for r in result.page.resources} == expected

    @invariant()
    def lists_show_only_own_resources(self) -> None:
        for who, context in enumerate(self.contexts):
            page = self.runner.run(
                self.service.list_resources(context, "User", ListRequest(count=1000))
            )
            assert {r.id for r in page.page.resources} == set(self.owned[who])
            assert page.page.total == len(self.owned[who])


class MongoTenantIsolation(TenantIsolation):
    storage = "mongodb"


TestMemoryIsolation = TenantIsolation.TestCase
TestMemoryIsolation.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)


class TestMongoIsolation(MongoTenantIsolation.TestCase):  # type: ignore[misc,valid-type]
    settings = settings(max_examples=10, stateful_step_count=15, deadline=None)

    @pytest.fixture(autouse=True)
    def _needs_mongodb(self) -> None:
        require_mongodb()
