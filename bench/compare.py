"""The side-by-side scenarios: the same users and the same operations on the peer, on our
service with embedded storage (two processes, and the run command) and on
FerretDB (PostgreSQL and SQLite backends), plus the transport ceiling, FerretDB's own
`find_one` and the memory soak."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from bench.admin import open_tenant
from bench.data import bulk_load
from bench.loadgen import READS
from bench.measure import Result, RssSampler, gets_for, micro, scim_op, wrk_get
from bench.plan import Run
from bench.services import Database, Target

Users = list[tuple[int, str]]
RUN_COMMAND = "run-command"  # the system name of `scimtenancy-dev` in the results
# The one resource the echo server answers for, whatever the id.
_CANNED = [(0, "00000000-0000-4000-8000-000000000000")]


def load(target: Target, count: int, start: int = 0) -> Users:
    loaded = asyncio.run(bulk_load(target.base_url, target.token, start, count))
    return [(item.index, item.id) for item in loaded]


def _show(result: Result) -> str:
    errors = f", {result['errors']} errors {result.get('samples', '')}" if result["errors"] else ""
    return (
        f"{result['op']:<10} {result['rps']:>8.1f} req/s  p50 {result['p50_ms']} ms"
        f"  p99 {result['p99_ms']} ms{errors}"
    )


def scim_mix(run: Run, targets: Sequence[tuple[Target, Users]]) -> dict[str, dict[str, Result]]:
    """Every operation of the mix on each target in turn, operation by operation, so systems
    compared side by side meet the same moments of machine load; reads on the loaded users,
    writes on the users each target created."""
    budget = run.budget
    found: dict[str, dict[str, Result]] = {target.name: {} for target, _ in targets}

    def one(target: Target, op: str, on: Sequence[tuple[int, str]]) -> Result:
        result = scim_op(
            target, op, on, concurrency=budget.concurrency, seconds=budget.phase_seconds
        )
        run.note(f"{target.name}: {_show(result)}")
        found[target.name][op] = result
        return result

    for op in READS:
        for target, users in targets:
            one(target, op, users)
    created = {
        target.name: [
            (i, resource_id) for i, resource_id in one(target, "create", []).pop("created")
        ]
        for target, _ in targets
    }
    for op in ("patch", "put", "delete"):
        for target, _ in targets:
            one(target, op, created[target.name])
    return found


def wrk_gets(run: Run, target: Target, users: Users) -> Result:
    result = wrk_get(
        target,
        gets_for(target, users),
        seconds=run.budget.wrk_seconds,
        connections=run.budget.connections,
    )
    run.note(f"{target.name}: {_show(result)}")
    return result


def side_by_side(run: Run) -> None:
    """The peer, the embedded storage (two processes, and the run command) and
    the transport ceiling, all running at once: GET by id with wrk in alternating rounds (the
    best round of each counts), then the SCIM mix alternating between the systems operation by
    operation."""
    services, compare = run.services, run.results.setdefault("compare", {})
    ceiling = services.ceiling()
    embedded = asyncio.run(open_tenant(services.ours("embedded"), "cmp"))
    single = services.run_command(RUN_COMMAND)
    peer = services.peer()
    try:
        systems = [
            (target, load(target, run.budget.compare_users)) for target in (embedded, single, peer)
        ]
        best: dict[str, Result] = {}
        for _ in range(run.budget.wrk_rounds):
            for target, on in [(ceiling, _CANNED), *systems]:
                result = wrk_gets(run, target, on)
                if result["rps"] > best.get(target.name, {"rps": -1.0})["rps"]:
                    best[target.name] = result
        run.results["ceiling"] = {"get_wrk": best["ceiling"]}
        services.stop(ceiling)
        mix = scim_mix(run, systems)
        for target, _ in systems:
            compare[target.name] = {"get_wrk": best[target.name], **mix[target.name]}
    finally:
        for target in (ceiling, embedded, single, peer):
            services.stop(target)


def _raw_versus_service(run: Run, target: Target, users: Users) -> dict[str, Any]:
    """GET end to end, one request at a time, against motor's find_one by `_id` of the same
    documents (a standard tenant: shared `users` collection, `_id` = tenant:id)."""
    seconds = run.budget.latency_seconds
    end_to_end = scim_op(target, "get", users, concurrency=1, seconds=seconds)
    tenant = target.base_url.split("/tenants/")[1].split("/")[0]
    raw = micro(
        "find_one",
        timeout=seconds + 60,
        uri=target.mongodb_uri,
        database=target.mongodb_database,
        lookups=[("users", {"_id": f"{tenant}:{resource_id}"}) for _, resource_id in users],
        seconds=seconds,
    )
    ratio = end_to_end["p50_ms"] / raw["p50_ms"] if raw["p50_ms"] else None
    run.note(
        f"{target.name}: GET p50 {end_to_end['p50_ms']} ms end to end, raw find_one "
        f"{raw['p50_ms']} ms ({ratio and round(ratio, 2)}x)"
    )
    return {"get_one_at_a_time": end_to_end, "motor_find_one": raw, "ratio": ratio}


def _soak(run: Run, target: Target, users: Users) -> dict[str, Any]:
    """A steady get / userName eq / PATCH load for soak_seconds; resident memory sampled."""
    pids = dict(zip(("server", "transcoder"), target.service_pids, strict=True))
    seconds = run.budget.soak_seconds
    with RssSampler(pids, interval=max(0.5, seconds / 60)) as sampler:
        result = scim_op(
            target, "steady", users, concurrency=run.budget.concurrency, seconds=seconds
        )
    run.note(f"{target.name} soak: {_show(result)}")
    return {"load": result, "rss_samples": sampler.samples, "seconds": seconds}


def on_ferretdb(run: Run, database: Database, soak: bool, mix: bool = True) -> None:
    """Our service on FerretDB: wrk GETs, the SCIM mix, and GET against raw find_one."""
    services = run.services
    name = database.name
    target = asyncio.run(open_tenant(services.ours(name, database, "cmp"), "cmp"))
    try:
        users = load(target, run.budget.compare_users)
        found = run.results.setdefault("compare", {})[name] = {
            "get_wrk": wrk_gets(run, target, users)
        }
        if mix:
            found.update(scim_mix(run, [(target, users)])[target.name])
        run.results.setdefault("ferretdb_raw", {})[name] = _raw_versus_service(run, target, users)
        if soak:
            run.results.setdefault("memory", {})["soak"] = {
                "storage": name,
                **_soak(run, target, users),
            }
    finally:
        services.stop(target)
