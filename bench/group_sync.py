"""The small SCIM client of the `groups` section (bench/group_scale.py), and its scenarios
that make many groups:

- issue 11's IdP-shaped first sync: N users created one POST each, then three groups filled
  one `add members` PATCH per member, as Entra ID and Okta do, a few clients at a time,
  within a wall-clock cap. It reports how far it got, the total time and the requests per
  second, and counts the members each group holds afterwards (a PATCH answered 2xx whose
  member is missing is a lost add);
- a User in many groups, read with its computed `groups` (RFC 7643 §4.1.2)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp  # type: ignore[import-not-found, unused-ignore]
import orjson

from bench.admin import open_tenant
from bench.data import BULK_REQUEST, headers, user
from bench.flood import Tally
from bench.loadgen import PATCH_OP, percentile
from bench.plan import Reads, Run, SyncPlan
from bench.report_format import number, table
from bench.services import Database, Target

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
_GRACE = 10.0  # seconds a request in flight at the cap may still take
_MIN_CAP = 30.0  # seconds a sync gets even when the section is late
_GROUPS_PER_BULK = 100


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer (connection error or client timeout)
    seconds: float
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def problem(self) -> str | None:
        return None if self.ok else f"{self.status} {self.body[:200]!r}"

    def json(self) -> Any:
        return orjson.loads(self.body)


class Scim:
    """One system's SCIM base URL and credential over a shared aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self._session = session
        self._base_url = base_url
        self._headers = headers(token)

    async def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, str] | None = None,
        within: float = 120.0,
    ) -> Answer:
        data = None if body is None else orjson.dumps(body)
        started = time.perf_counter()
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                data=data,
                params=params,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=max(1.0, within)),
            ) as response:
                payload = await response.read()
                return Answer(response.status, time.perf_counter() - started, payload)
        except (aiohttp.ClientError, TimeoutError) as error:
            return Answer(0, time.perf_counter() - started, f"{type(error).__name__}".encode())

    async def create_group(self, name: str) -> str:
        body = {"schemas": [GROUP_SCHEMA], "displayName": name}
        answer = await self.send("POST", "/Groups", body)
        if answer.status != 201:
            raise RuntimeError(f"creating group {name}: {answer.problem()}")
        group_id: str = answer.json()["id"]
        return group_id

    async def add_members(
        self,
        group_id: str,
        members: list[str],
        params: dict[str, str] | None = None,
        within: float = 120.0,
    ) -> Answer:
        """One PATCH adding `members` in one operation (RFC 7644 §3.5.2.1)."""
        body = {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "add", "path": "members", "value": [{"value": m} for m in members]}
            ],
        }
        return await self.send("PATCH", f"/Groups/{group_id}", body, params, within)

    async def member_count(self, group_id: str) -> int | None:
        answer = await self.send("GET", f"/Groups/{group_id}", params={"attributes": "members"})
        return counted(answer, "members")


@asynccontextmanager
async def client(base_url: str, token: str) -> AsyncIterator[Scim]:
    async with aiohttp.ClientSession() as session:
        yield Scim(session, base_url, token)


@dataclass
class Sized(Tally):
    """A Tally that also keeps the response sizes, and reports p95."""

    sizes: list[int] = field(default_factory=list)

    def answer(self, answer: Answer) -> None:
        self.note(answer.status, answer.seconds, answer.problem())
        self.sizes.append(len(answer.body))

    def figures(self) -> dict[str, Any]:
        found = self.summary()
        found["p95_ms"] = percentile(sorted(self.latencies), 95)
        found["bytes_p50"] = int(statistics.median(self.sizes)) if self.sizes else None
        found["bytes_max"] = max(self.sizes, default=None)
        return found


async def repeat(scim: Scim, path: str, params: dict[str, str] | None, reads: Reads) -> Any:
    """The figures of GETs one at a time, and the last answer."""
    tally, deadline, last = Sized(), time.monotonic() + reads.seconds, None
    for _ in range(reads.gets):
        last = await scim.send("GET", path, params=params)
        tally.answer(last)
        if time.monotonic() >= deadline:
            break
    return tally.figures(), last


def counted(answer: Answer | None, attribute: str) -> int | None:
    if answer is None or not answer.ok:
        return None
    return len(answer.json().get(attribute) or [])


def _bulk_groups(user_id: str, first: int, count: int) -> dict[str, Any]:
    operations = [
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": f"g{number}",
            "data": {
                "schemas": [GROUP_SCHEMA],
                "displayName": f"member-of {number}",
                "members": [{"value": user_id}],
            },
        }
        for number in range(first, first + count)
    ]
    return {"schemas": [BULK_REQUEST], "Operations": operations}


async def _join_groups(scim: Scim, user_id: str, groups: int, seconds: float) -> str | None:
    """`groups` groups of that one member, through /Bulk; why not, or None."""
    deadline = time.monotonic() + seconds
    for first in range(0, groups, _GROUPS_PER_BULK):
        left = deadline - time.monotonic()
        if left <= 0:
            return f"creating the groups passed {seconds:.0f} s at {first:,}"
        body = _bulk_groups(user_id, first, min(_GROUPS_PER_BULK, groups - first))
        answer = await scim.send("POST", "/Bulk", body, within=left)
        if not answer.ok:
            return f"/Bulk of groups at {first:,}: {answer.problem()}"
        failed = [o for o in answer.json()["Operations"] if o["status"] != "201"]
        if failed:
            return f"/Bulk of groups at {first:,}: {str(failed[0])[:200]}"
    return None


async def member_of(target: Target, groups: int, reads: Reads, seconds: float) -> dict[str, Any]:
    """GET of a User in `groups` groups (its computed `groups`), in a tenant of its own."""
    opened = await open_tenant(target, "member-of")
    found: dict[str, Any] = {"groups": groups}
    async with client(opened.base_url, opened.token) as scim:
        created = await scim.send("POST", "/Users", user(0))
        if created.status != 201:
            return {**found, "reason": f"creating the user: {created.problem()}"}
        user_id = created.json()["id"]
        reason = await _join_groups(scim, user_id, groups, seconds)
        if reason is not None:
            return {**found, "reason": reason}
        figures, answer = await repeat(scim, f"/Users/{user_id}", None, reads)
    return {**found, **figures, "groups_returned": counted(answer, "groups")}


Call = Callable[[float], Awaitable[Answer]]  # given the seconds it may take


async def _pool(concurrency: int, deadline: float, work: Iterator[Call], tally: Sized) -> bool:
    """Sends the calls a few at a time until `work` or the time runs out. Returns whether
    everything was sent before the deadline."""
    late = False

    async def worker() -> None:
        nonlocal late
        for call in work:  # shared: each call is taken once
            left = deadline - time.monotonic()
            if left <= 0:
                late = True
                return
            tally.answer(await call(left + _GRACE))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return not late


async def _create_users(scim: Scim, plan: SyncPlan, deadline: float, tally: Sized) -> list[str]:
    made: dict[int, str] = {}

    def create(index: int) -> Call:
        async def call(within: float) -> Answer:
            answer = await scim.send("POST", "/Users", user(index), within=within)
            if answer.status == 201:
                made[index] = answer.json()["id"]
            return answer

        return call

    await _pool(plan.concurrency, deadline, (create(i) for i in range(plan.users)), tally)
    return [made[i] for i in sorted(made)]


def _add(scim: Scim, group_id: str, member: str, added: dict[str, int]) -> Call:
    async def call(within: float) -> Answer:
        answer = await scim.add_members(group_id, [member], within=within)
        if answer.ok:
            added[group_id] += 1
        return answer

    return call


async def first_sync(scim: Scim, plan: SyncPlan) -> dict[str, Any]:
    """Users one POST each, then the groups filled one PATCH per member, within the cap."""
    started = time.monotonic()
    deadline = started + plan.cap_seconds
    creates, patches = Sized(), Sized()
    users = await _create_users(scim, plan, deadline, creates)
    users_s = time.monotonic() - started
    groups = [await scim.create_group(f"sync-{size}") for size in plan.groups]
    added = dict.fromkeys(groups, 0)
    work = (
        _add(scim, group_id, member, added)
        for group_id, size in zip(groups, plan.groups, strict=True)
        for member in users[:size]
    )
    complete = await _pool(plan.concurrency, deadline, work, patches)
    elapsed = time.monotonic() - started
    ok = creates.clean + patches.clean + len(groups)
    held = [await scim.member_count(group_id) for group_id in groups]
    return {
        "planned": {"users": plan.users, "groups": list(plan.groups), "cap_s": plan.cap_seconds},
        "concurrency": plan.concurrency,
        "capped": len(users) < plan.users or not complete,
        "seconds": round(elapsed, 1),
        "users_seconds": round(users_s, 1),
        "rps": round(ok / elapsed, 1) if elapsed else None,
        "users_created": len(users),
        "patches_planned": sum(plan.groups),
        "creates": creates.figures(),
        "patches": patches.figures(),
        "members_found": held,
        "members_added": [added[group_id] for group_id in groups],
    }


def guarded(found: dict[str, Any], name: str, work: Callable[[], Any]) -> None:
    try:
        found[name] = work()
    except Exception as error:  # one broken system must not lose the others' figures
        found[name] = {"error": f"{type(error).__name__}: {error}"[:300]}
        print(f"  · {name}: {found[name]['error']}", flush=True)


def _target(run: Run, name: str, database: Database | None) -> Target:
    if name == "peer":
        return run.services.peer()
    server = run.services.ours(f"sync-{name}", database, "sync")
    return asyncio.run(open_tenant(server, "sync"))


async def _sync(target: Target, plan: SyncPlan) -> dict[str, Any]:
    async with client(target.base_url, target.token) as scim:
        return await first_sync(scim, plan)


def syncs(run: Run, plan: SyncPlan, sqlite: Database, end: float) -> dict[str, Any]:
    """The sync on the embedded storage, the peer and FerretDB-SQLite, one after the other;
    each gets its cap, or its share of the time left before `end` (at least _MIN_CAP)."""
    found: dict[str, Any] = {}
    order: list[tuple[str, Database | None]] = [("embedded", None), ("peer", None)]
    order.append((sqlite.name, sqlite))
    for left, (name, database) in zip(range(len(order), 0, -1), order, strict=True):
        cap = min(plan.cap_seconds, max(_MIN_CAP, (end - time.monotonic()) / left))
        capped = SyncPlan(plan.users, plan.groups, round(cap, 1), plan.concurrency)

        def one(
            name: str = name, database: Database | None = database, capped: SyncPlan = capped
        ) -> Any:
            target = _target(run, name, database)
            try:
                result = asyncio.run(_sync(target, capped))
            finally:
                run.services.stop(target)
            run.note(f"{name}: sync {result['seconds']} s, {result['rps']} req/s")
            return result

        guarded(found, name, one)
    return found


def _codes(figures: dict[str, Any]) -> str:
    return " ".join(f"{c} x{n}" for c, n in sorted(figures["codes"].items())) or "-"


def _held(found: dict[str, Any]) -> str:
    pairs = zip(found["members_found"], found["members_added"], strict=True)
    return " / ".join(f"{number(held)} of {added:,}" for held, added in pairs)


def sync_table(sync: dict[str, Any]) -> str:
    rows = []
    for system, found in sync.items():
        if "error" in found:
            rows.append([system, found["error"][:70], *[""] * 8])
            continue
        patches = found["patches"]
        rows.append(
            [
                system,
                f"{found['users_created']:,} of {found['planned']['users']:,}",
                f"{patches['sent']:,} of {found['patches_planned']:,}",
                number(found["seconds"]),
                number(found["rps"]),
                number(found["users_seconds"]),
                f"{number(patches['p50_ms'], 1)} / {number(patches['p99_ms'], 1)}",
                f"{_codes(found['creates'])}; {_codes(patches)}",
                _held(found),
                f"CAPPED at {found['planned']['cap_s']:.0f} s" if found["capped"] else "done",
            ]
        )
    header = [
        "system",
        "users (one POST each)",
        "PATCHes (one per member)",
        "total s",
        "req/s",
        "users s",
        "PATCH p50 / p99 ms",
        "status (creates; PATCHes)",
        "members found / added",
        "end",
    ]
    return table("## groups: IdP-shaped first sync (4 clients)", header, rows)
