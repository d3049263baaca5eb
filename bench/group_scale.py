"""The `groups` section (issue 11): what group membership costs as a group grows.

- One `add member` PATCH at a time, as an IdP sends them, at growing group sizes: p50, p95
  and response bytes per size; the targets (bench/report.py) are p50 at the largest size
  <= 1.5x p50 at 100 members, and response bytes flat (largest <= 1.5x smallest). Every
  user the largest size needs is created before the first timed size, by /Bulk (embedded)
  or straight into the database (FerretDB, bench.data.direct_load), so only the group grows
  between sizes: the curve is the cost of the group's size, not of the tenant's users. The
  group is pre-filled between sizes by PATCHes of 1,000 members each (asking for
  `excludedAttributes=members`). A size that cannot be reached within its time budget, or
  whose PATCHes fail, is recorded as not reached.
- On FerretDB, beside each size's p50, FerretDB's own figure at that moment: a raw motor
  `find_one` by `_id` on the tenant's users and groups collections (bench.scaling), since
  FerretDB 1.24 scans a collection even for a lookup by `_id`.
- GET of that group with its members and with `excludedAttributes=members`.
- GET of a User in many groups (its computed `groups`, RFC 7643 §4.1.2), another tenant.
- The IdP-shaped first sync (bench/group_sync.py): embedded, the peer, FerretDB-SQLite.

Sizes and time budgets per system: bench/plan.py (GroupBudget).

Everything talks SCIM over HTTP only, so it runs against any membership model."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bench import scaling
from bench.admin import open_tenant
from bench.data import bulk_load, direct_load
from bench.group_sync import (
    Scim,
    Sized,
    client,
    counted,
    guarded,
    member_of,
    repeat,
    sync_table,
    syncs,
)
from bench.plan import GroupBudget, Run
from bench.report_format import number, ratio, table
from bench.services import Database, Target

RATIO_BOUND = 1.5  # p50 at the largest size over p50 at 100 members, and bytes (issue 11)
_TENANT = "groups"
_NO_MEMBERS = {"excludedAttributes": "members"}
_SLOW = 30.0  # seconds a timed PATCH may run past its size's budget before it is cut
_RAW_USERS = 200  # users the raw find_one spreads over


@dataclass
class Curve:
    """One group being grown, and the users it draws its new members from, in order."""

    scim: Scim
    target: Target
    database: Database | None
    group_id: str
    users: list[str] = field(default_factory=list)
    used: int = 0  # users handed out so far
    members: int = 0  # of them, added with a 2xx answer

    async def ensure_users(self, count: int) -> float:
        """Creates users until `count` exist; returns the seconds it took."""
        started, missing = time.monotonic(), count - len(self.users)
        if missing > 0:
            if self.database is None:
                t = self.target
                loaded = await bulk_load(t.base_url, t.token, len(self.users), missing, 1000)
            else:
                loaded = await direct_load(
                    self.target.mongodb_uri,
                    self.target.mongodb_database,
                    _TENANT,
                    "standard",
                    len(self.users),
                    missing,
                )
            self.users += [item.id for item in loaded]
        return round(time.monotonic() - started, 1)

    def take(self, count: int) -> list[str]:
        taken = self.users[self.used : self.used + count]
        self.used += len(taken)
        return taken


async def _fill(curve: Curve, size: int, budget: GroupBudget) -> str | None:
    """Adds members until the group holds `size`; why it could not, or None."""
    deadline = time.monotonic() + budget.fill_seconds
    while curve.members < size:
        left = deadline - time.monotonic()
        if left <= 0:
            return f"pre-fill passed {budget.fill_seconds:.0f} s at {curve.members:,} members"
        chunk = curve.take(min(budget.fill_chunk, size - curve.members))
        answer = await curve.scim.add_members(curve.group_id, chunk, _NO_MEMBERS, within=left)
        if not answer.ok:
            return f"pre-fill PATCH at {curve.members:,} members: {answer.problem()}"
        curve.members += len(chunk)
    return None


async def _time_adds(curve: Curve, budget: GroupBudget) -> Sized:
    """The IdP's request: one member per PATCH, no query parameters, one at a time."""
    tally, deadline = Sized(), time.monotonic() + budget.timed_seconds
    for _ in range(budget.timed_adds):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        answer = await curve.scim.add_members(curve.group_id, curve.take(1), within=left + _SLOW)
        tally.answer(answer)
        curve.members += answer.ok
    return tally


def _stored(endpoint: str, resource_id: str) -> tuple[str, dict[str, Any]]:
    """The collection and `_id` the server stores one of the tenant's resources under."""
    from scimtenancy_server.domain.schema import DEFAULT_REGISTRY
    from scimtenancy_server.domain.tenant import IsolationLevel
    from scimtenancy_server.storage.mongo_codec import collection_name, document_id
    from scimtenancy_server.storage.repository import Scope

    scope = Scope(_TENANT, IsolationLevel.STANDARD, DEFAULT_REGISTRY.resolve(endpoint))
    return collection_name(scope), {"_id": document_id(scope, resource_id)}


async def _raw_lookup(run: Run, curve: Curve, lookups: list[tuple[str, Any]]) -> dict[str, Any]:
    try:
        return await asyncio.to_thread(scaling.raw_find_one, run, curve.target, lookups)
    except RuntimeError as error:  # a failed raw figure must not end the curve
        return {"error": str(error)[:200]}


async def _raw_figures(run: Run, curve: Curve, p50_ms: float | None) -> dict[str, Any]:
    """FerretDB's own find_one by `_id` at this moment, users and the group; {} if embedded."""
    if curve.database is None:
        return {}
    spread = curve.users[:: max(1, len(curve.users) // _RAW_USERS)]
    users = await _raw_lookup(run, curve, [_stored("Users", u) for u in spread])
    groups = await _raw_lookup(run, curve, [_stored("Groups", curve.group_id)])
    raw_p50 = users.get("p50_ms")
    over = round(p50_ms / raw_p50, 3) if p50_ms and raw_p50 else None
    return {"raw_users": users, "raw_groups": groups, "ours_vs_raw_users": over}


async def _step(run: Run, curve: Curve, size: int) -> dict[str, Any]:
    budget = run.budget.groups
    point: dict[str, Any] = {"members": size, "reached": False}
    started = time.monotonic()
    point["reason"] = await _fill(curve, size, budget)
    point["fill_s"] = round(time.monotonic() - started, 1)
    if point["reason"] is None:
        figures = (await _time_adds(curve, budget)).figures()
        point.update(figures, reached=bool(figures["clean"]))
        if not figures["clean"]:
            point["reason"] = f"no add-member PATCH answered 2xx: {figures['samples'][:1]}"
        else:
            point.update(await _raw_figures(run, curve, figures["p50_ms"]))
    return point


def _bytes_ratio(reached: list[dict[str, Any]]) -> float:
    """Largest over smallest response bytes (p50 per size); empty bodies (204) are flat."""
    sizes = [p["bytes_p50"] for p in reached]
    largest, smallest = max(sizes), min(sizes)
    return 1.0 if largest == smallest else round(largest / max(smallest, 1), 3)


def _summary(points: list[dict[str, Any]], planned: tuple[int, ...]) -> dict[str, Any]:
    reached = [p for p in points if p["reached"]]
    if not reached or reached[0]["members"] != planned[0]:
        return {"largest_planned": planned[-1], "largest_reached": None, "verdict": "NOT RUN"}
    first, last = reached[0], reached[-1]
    value = round(last["p50_ms"] / first["p50_ms"], 3) if first["p50_ms"] else None
    whole = last["members"] == planned[-1]
    passed = whole and value is not None and value <= RATIO_BOUND
    return {
        "largest_planned": planned[-1],
        "largest_reached": last["members"],
        "ratio": value,
        "verdict": "PASS" if passed else "MISS",
        "bytes_ratio": _bytes_ratio(reached),
    }


async def _curve(run: Run, name: str, curve: Curve, sizes: tuple[int, ...], end: float) -> Any:
    # Every timed add takes a user of its own, answered 2xx or not.
    load_s = await curve.ensure_users(sizes[-1] + len(sizes) * run.budget.groups.timed_adds)
    run.note(f"{name}: {len(curve.users):,} users created in {load_s} s, before any size")
    points: list[dict[str, Any]] = []
    for size in sizes:
        if time.monotonic() > end:
            points.append({"members": size, "reached": False, "reason": "section time cap"})
            break
        point = await _step(run, curve, size)
        points.append(point)
        run.note(_show(name, point))
        if not point["reached"]:
            break
    found = {"users": len(curve.users), "load_s": load_s, "points": points}
    return {**found, **_summary(points, sizes)}


def _show(name: str, point: dict[str, Any]) -> str:
    if not point["reached"]:
        return f"{name}: {point['members']:,} members not reached: {point['reason']}"
    raw = ""
    if "raw_users" in point:
        raw = (
            f"; raw find_one p50 users {_raw_p50(point, 'raw_users')} ms, "
            f"groups {_raw_p50(point, 'raw_groups')} ms"
        )
    return (
        f"{name}: add member at {point['members']:,}: p50 {point['p50_ms']} ms, p95 "
        f"{point['p95_ms']} ms, {point['bytes_p50']:,} bytes, {point['clean']} timed "
        f"(filled {point['fill_s']} s){raw}"
    )


def _raw_p50(point: dict[str, Any], key: str) -> Any:
    raw = point.get(key, {})
    return raw.get("p50_ms", raw.get("error", "-"))


async def _group_gets(curve: Curve, budget: GroupBudget) -> dict[str, Any]:
    path = f"/Groups/{curve.group_id}"
    with_members, answer = await repeat(curve.scim, path, None, budget.reads)
    without, _ = await repeat(curve.scim, path, _NO_MEMBERS, budget.reads)
    found = {"members": curve.members, "with_members": with_members, "without": without}
    found["members_returned"] = counted(answer, "members")
    return found


async def _one_system(
    run: Run, name: str, target: Target, database: Database | None, sizes: Any, end: float
) -> dict[str, Any]:
    budget = run.budget.groups
    async with client(target.base_url, target.token) as scim:
        curve = Curve(scim, target, database, await scim.create_group("all-employees"))
        found = {"add_member": await _curve(run, name, curve, sizes, end)}
        found["group_get"] = await _group_gets(curve, budget)
    found["member_of"] = await member_of(
        target, budget.member_of, budget.reads, budget.fill_seconds
    )
    run.note(f"{name}: {_show_gets(found)}")
    return found


def _show_gets(found: dict[str, Any]) -> str:
    gets, member_of = found["group_get"], found["member_of"]
    return (
        f"GET group of {gets['members']:,}: p50 {gets['with_members']['p50_ms']} ms with "
        f"members, {gets['without']['p50_ms']} ms without; GET user in "
        f"{member_of['groups']:,} groups: p50 {member_of.get('p50_ms', '-')} ms "
        f"{member_of.get('reason') or ''}"
    )


def _systems(
    run: Run, sqlite: Database, postgresql: Database
) -> list[tuple[str, Database | None, tuple[int, ...]]]:
    """The systems the budget has sizes for, in its order."""
    databases = {"embedded": None, sqlite.name: sqlite, postgresql.name: postgresql}
    return [(name, databases[name], sizes) for name, sizes in run.budget.groups.sizes.items()]


def _scale(run: Run, end: float, sqlite: Database, postgresql: Database) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, database, sizes in _systems(run, sqlite, postgresql):

        def one(name: str = name, database: Database | None = database, sizes: Any = sizes) -> Any:
            server = run.services.ours(f"groups-{name}", database, _TENANT)
            try:
                target = asyncio.run(open_tenant(server, _TENANT))
                return asyncio.run(_one_system(run, name, target, database, sizes, end))
            finally:
                run.services.stop(server)

        guarded(found, name, one)
    return found


def section(run: Run, postgresql: Database) -> None:
    """The add-member curve and the reads per system (embedded, FerretDB-SQLite, and in a
    full run FerretDB-PostgreSQL), then the first sync, within section_seconds."""
    budget, started = run.budget.groups, time.monotonic()
    end = started + budget.section_seconds
    found: dict[str, Any] = {"budget": asdict(budget), "systems": {}, "sync": {}}
    run.results["groups"] = found
    sqlite, managed = run.services.ferretdb("sqlite")
    try:
        found["systems"] = _scale(run, end, sqlite, postgresql)
        found["sync"] = syncs(run, budget.sync, sqlite, end)
    finally:
        run.services.supervisor.stop(managed)
    found["seconds"] = round(time.monotonic() - started, 1)


# --- tables -------------------------------------------------------------------------------


def _systems_with(groups: dict[str, Any], key: str) -> list[tuple[str, Any]]:
    return [(name, found[key]) for name, found in groups["systems"].items() if key in found]


def curve_table(groups: dict[str, Any]) -> str:
    header = [
        "system",
        "members",
        "p50 ms",
        "p95 ms",
        "raw users p50 ms",
        "raw groups p50 ms",
        "ours / raw users lookup",
        "bytes",
        "2xx",
        "fill s",
        "status",
    ]
    blank = [""] * (len(header) - 3)
    rows = [[name, "error", *blank, failed[:90]] for name, failed in _systems_with(groups, "error")]
    for name, curve in _systems_with(groups, "add_member"):
        for point in curve["points"]:
            if point["reached"]:
                rows.append([name, *_point_row(point)])
            else:
                rows.append([name, number(point["members"]), "not reached", *blank])
                rows[-1][-1] = point["reason"][:90]
    title = "## groups: one add-member PATCH at a time vs group size (raw: FerretDB's find_one)"
    return table(title, header, rows)


def _point_row(point: dict[str, Any]) -> list[str]:
    raw_users, raw_groups = point.get("raw_users", {}), point.get("raw_groups", {})
    return [
        number(point["members"]),
        number(point["p50_ms"], 2),
        number(point["p95_ms"], 2),
        number(raw_users.get("p50_ms"), 2),
        number(raw_groups.get("p50_ms"), 2),
        ratio(point.get("ours_vs_raw_users")),
        number(point["bytes_p50"]),
        f"{point['clean']} of {point['sent']}",
        number(point["fill_s"]),
        " ".join(f"{c} x{n}" for c, n in sorted(point["codes"].items())),
    ]


def verdict_table(groups: dict[str, Any]) -> str:
    rows = [
        [
            name,
            number(curve.get("users")),
            number(curve["largest_planned"]),
            number(curve["largest_reached"]),
            ratio(curve.get("ratio")),
            curve["verdict"],
            ratio(curve.get("bytes_ratio")),
        ]
        for name, curve in _systems_with(groups, "add_member")
    ]
    header = [
        "system",
        "tenant users (all sizes)",
        "planned",
        "reached",
        "p50 largest / 100",
        f"<= {RATIO_BOUND}x",
        "bytes largest / smallest",
    ]
    return table("## groups: add-member cost at the largest size vs 100 members", header, rows)


def _read_rows(name: str, found: dict[str, Any]) -> list[list[str]]:
    gets, member_of = found["group_get"], found["member_of"]
    returned = f"{number(member_of.get('groups_returned'))} groups"
    return [
        [
            f"{name}: GET Group of {gets['members']:,} members",
            number(gets["with_members"]["p50_ms"], 2),
            number(gets["with_members"]["bytes_p50"]),
            f"{number(gets['members_returned'])} members",
        ],
        [
            f"{name}: ... ?excludedAttributes=members",
            number(gets["without"]["p50_ms"], 2),
            number(gets["without"]["bytes_p50"]),
            "",
        ],
        [
            f"{name}: GET User in {member_of['groups']:,} groups",
            number(member_of.get("p50_ms"), 2),
            number(member_of.get("bytes_p50")),
            (member_of.get("reason") or returned)[:90],
        ],
    ]


def get_table(groups: dict[str, Any]) -> str:
    rows = [
        row
        for name, found in groups["systems"].items()
        if "group_get" in found
        for row in _read_rows(name, found)
    ]
    header = ["request", "p50 ms", "bytes", "returned"]
    return table("## groups: reads (one at a time)", header, rows)


def tables(results: dict[str, Any]) -> list[str]:
    groups = results.get("groups")
    if not groups:
        return []
    return [
        curve_table(groups),
        verdict_table(groups),
        get_table(groups),
        sync_table(groups.get("sync", {})),
    ]
