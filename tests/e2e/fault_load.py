"""Steady SCIM load for the fault tests, recorded so that the checks afterwards count every
acknowledged effect exactly.

A few clients, each on its own tenant and one request at a time, create, patch, delete and read
Users and Groups. A resource whose change got no success answer is left alone from then on, so
that afterwards it is in one of two states: as last acknowledged, or with that one change made.
A 503 saying "retry" promises the first (nothing was done); one saying "outcome is unknown"
allows either, but never a part of the change."""

from __future__ import annotations

import asyncio
import math
import random
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
from e2e.fault_checks import (
    GONE,
    Exchange,
    Findings,
    Resource,
    State,
    answer_problem,
    error_detail,
    observed,
    verify_tenant,
)
from e2e.stack import ScimClient, Stack
from e2e.test_groups import PATCH_OP, add_members, group_body
from helpers import user_body

from scimtenancy_server.domain.tenant import IsolationLevel

ANCHORS = 3  # Users per client that are only ever Group members, never changed or deleted
ACTIONS = {"user": 3, "group": 2, "rename": 3, "membership": 2, "delete": 2, "read": 3}


async def fault_tenants(stack: Stack, count: int) -> list[ScimClient]:
    """One tenant per load client, standard and strict in turn."""
    levels = (IsolationLevel.STANDARD, IsolationLevel.STRICT)
    return [await stack.tenant(levels[i % 2]) for i in range(count)]


def rename(display: str) -> dict[str, object]:
    operation = {"op": "replace", "path": "displayName", "value": display}
    return {"schemas": [PATCH_OP], "Operations": [operation]}


def remove_member(member: str) -> dict[str, object]:
    operation = {"op": "remove", "path": f'members[value eq "{member}"]'}
    return {"schemas": [PATCH_OP], "Operations": [operation]}


class Worker:
    """One client: its tenant, its resources, one request at a time."""

    def __init__(self, number: int, scim: ScimClient, load: FaultLoad) -> None:
        self.number = number
        self.scim = scim
        self._load = load
        self._rng = random.Random(number)
        self.resources: list[Resource] = []
        self._live: list[Resource] = []  # acknowledged and not in doubt: changed and read
        self._anchors: list[str] = []
        self._made = 0

    async def setup(self) -> None:
        for _ in range(ANCHORS):
            anchor = await self._create_user(live=False)
            assert anchor.id, f"worker {self.number}'s anchor user: {anchor.doubt}"
            self._anchors.append(anchor.id)

    async def step(self) -> None:
        action = self._rng.choices(list(ACTIONS), list(ACTIONS.values()))[0]
        kind = {"rename": "Users", "membership": "Groups"}.get(action)
        targets = [r for r in self._live if kind in (None, r.kind)]
        if action == "group" or (action == "membership" and not targets):
            await self._create_group()
        elif action == "user" or not targets:
            await self._create_user()
        else:
            changes = {
                "rename": self._rename,
                "membership": self._toggle_member,
                "delete": self._delete,
                "read": self._read,
            }
            await changes[action](self._rng.choice(targets))

    async def _send(
        self, method: str, path: str, expected: tuple[int, ...], body: Any = None
    ) -> tuple[Exchange, httpx.Response | None]:
        phase, sent = self._load.phase, time.monotonic()
        response: httpx.Response | None
        try:
            response = await self.scim.request(method, path, body)
        except httpx.HTTPError:
            response = None
        elapsed = time.monotonic() - sent
        detail = error_detail(response)
        problem = answer_problem(response, expected, elapsed, self._load.deadline)
        status = 0 if response is None else response.status_code
        exchange = Exchange(
            self.number, phase, method, path, expected, status, detail, sent, elapsed, problem
        )
        await self._load.record(exchange)
        return exchange, response

    def _name(self, prefix: str) -> str:
        self._made += 1
        return f"{prefix}{self.number}-{self._made}"

    async def _create_user(self, live: bool = True) -> Resource:
        name = self._name("u")
        effect = State(True, f"{name} v0")
        return await self._create(
            "Users", name, user_body(name, displayName=effect.display), effect, live
        )

    async def _create_group(self) -> None:
        name = self._name("g")
        members = self._rng.sample(self._anchors, self._rng.randint(1, ANCHORS))
        effect = State(True, name, frozenset(members))
        await self._create("Groups", name, group_body(name, *members), effect, live=True)

    async def _create(
        self, kind: str, name: str, body: dict[str, Any], effect: State, live: bool
    ) -> Resource:
        resource = Resource(kind, name)
        self.resources.append(resource)
        exchange, response = await self._send("POST", f"/{kind}", (201,), body)
        if exchange.ok and response is not None:
            resource.id = response.json()["id"]
            resource.acked = replace(effect, etag=response.headers["etag"])
            if live:
                self._live.append(resource)
        else:
            resource.doubt, resource.effect = exchange, effect
        return resource

    async def _rename(self, user: Resource) -> None:
        self._made += 1
        display = f"{user.name} v{self._made}"
        await self._change(user, "PATCH", rename(display), replace(user.acked, display=display))

    async def _toggle_member(self, group: Resource) -> None:
        member = self._rng.choice(self._anchors)
        if member in group.acked.members:
            body, members = remove_member(member), group.acked.members - {member}
        else:
            body, members = add_members(member), group.acked.members | {member}
        await self._change(group, "PATCH", body, replace(group.acked, members=members))

    async def _delete(self, resource: Resource) -> None:
        await self._change(resource, "DELETE", None, GONE)

    async def _change(
        self, resource: Resource, method: str, body: dict[str, object] | None, effect: State
    ) -> None:
        expected = (204,) if method == "DELETE" else (200, 204)
        exchange, response = await self._send(method, resource.path, expected, body)
        if exchange.ok and response is not None:
            resource.acked = replace(effect, etag=response.headers.get("etag", ""))
            if not effect.exists:
                self._live.remove(resource)
        else:
            resource.doubt, resource.effect = exchange, effect
            self._live.remove(resource)

    async def _read(self, resource: Resource) -> None:
        exchange, response = await self._send("GET", resource.path, (200,))
        if exchange.ok and response is not None:
            seen = observed(response)
            if seen != resource.acked:
                self._load.problems.append(
                    f"{exchange}: read {seen}, but {resource.acked} was acknowledged"
                )


class FaultLoad:
    """The workers, every exchange they had, and the phases the test marks."""

    def __init__(self, clients: Sequence[ScimClient], budget: int, deadline: float) -> None:
        self.phase = "before"
        self._began = {"before": time.monotonic()}
        self.deadline = deadline
        self.exchanges: list[Exchange] = []
        self.problems: list[str] = []  # of reads that saw less than was acknowledged
        self._budget = budget
        self._workers = [Worker(number, scim, self) for number, scim in enumerate(clients)]
        self._changed = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    async def record(self, exchange: Exchange) -> None:
        async with self._changed:
            self.exchanges.append(exchange)
            self._changed.notify_all()

    async def start(self) -> None:
        await asyncio.gather(*(worker.setup() for worker in self._workers))
        self._tasks = [asyncio.create_task(self._run(worker)) for worker in self._workers]

    async def stop(self) -> None:
        self._stopping = True
        await asyncio.gather(*self._tasks)

    async def _run(self, worker: Worker) -> None:
        try:
            while not self._stopping and len(self.exchanges) < self._budget:
                await worker.step()
        finally:
            async with self._changed:
                self._changed.notify_all()

    async def until(self, what: str, condition: Callable[[], bool], limit: float = 60) -> None:
        """Waits, at most `limit` seconds, for `condition` to hold as answers come in."""

        def reached() -> bool:
            if condition():
                return True
            for task in self._tasks:
                if task.done():
                    task.result()  # a worker's own failure, raised here
                    raise AssertionError(
                        f"the load's budget ran out before {what}:\n{self.summary()}"
                    )
            return False

        try:
            async with asyncio.timeout(limit), self._changed:
                await self._changed.wait_for(reached)
        except TimeoutError:
            raise AssertionError(f"no {what} within {limit} s:\n{self.summary()}") from None

    async def more(self, count: int) -> None:
        """Waits for `count` more answers."""
        target = len(self.exchanges) + count
        await self.until(f"{target} answers", lambda: len(self.exchanges) >= target)

    async def first_success_after(self, moment: float) -> Exchange:
        """The first success answered to a request sent after `moment`."""

        def found() -> Exchange | None:
            return next((e for e in self.exchanges if e.sent > moment and e.ok), None)

        await self.until("a success", lambda: found() is not None)
        success = found()
        assert success is not None
        return success

    def begin(self, phase: str) -> float:
        """From now on requests are sent in `phase`; returns when it began."""
        self.phase, self._began[phase] = phase, time.monotonic()
        return self._began[phase]

    def answers(self, phase: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.phase == phase]

    def settled(self, phase: str) -> list[Exchange]:
        """The answers to requests sent in `phase` that came before the next phase began."""
        phases = list(self._began)
        ended = self._began[phases[phases.index(phase) + 1]] if phase != phases[-1] else math.inf
        return [e for e in self.answers(phase) if e.answered < ended]

    async def verify(self) -> Findings:
        """Every resource as its answers allow, and nothing else in any tenant."""
        findings = Findings(problems=[f"{e}: {e.problem}" for e in self.exchanges if e.problem])
        findings.problems += self.problems
        for worker in self._workers:
            await verify_tenant(worker.scim, worker.resources, findings)
        return findings

    def summary(self) -> str:
        """Figures to print: answers per phase and kind, 503 details, outage answer times."""
        lines = []
        for phase in self._began:
            kinds = Counter(e.kind for e in self.answers(phase))
            lines.append(f"{phase}: {dict(kinds)}")
        details = Counter(f"{e.method} {e.detail}" for e in self.exchanges if e.status == 503)
        lines += [f"  503 x{n}: {detail}" for detail, n in details.most_common()]
        failed = [e.elapsed for e in self.exchanges if e.status == 503]
        if failed:
            lines.append(
                f"503 answer time: p50 {statistics.median(failed):.2f} s, max {max(failed):.2f} s"
            )
        return "\n".join(lines)


@asynccontextmanager
async def fault_load(
    clients: Sequence[ScimClient], budget: int, deadline: float
) -> AsyncIterator[FaultLoad]:
    """Load from `clients` until stopped or `budget` requests were answered."""
    load = FaultLoad(clients, budget, deadline)
    await load.start()
    try:
        yield load
    finally:
        await load.stop()
