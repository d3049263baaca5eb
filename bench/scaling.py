"""The scaling scenarios, on a fresh server each: `userName eq` latency as one tenant grows
(1,000 → 100,000 users), and GET latency as strict tenants are added (10 → 1,000). Both run
one request at a time, so they show latency, not queueing.

On FerretDB the same lookup is also timed as a raw motor `find_one`, so that FerretDB's own
cost shows next to ours. FerretDB 1.24 on PostgreSQL filters with `(_jsonb -> 'field') @>
'value'`, which its btree indexes cannot serve (FerretDB issue 4646): every lookup is a scan.
After the last step the scenario therefore adds GIN indexes by hand in PostgreSQL (which can
serve `@>`) and measures again, to show what an index-served lookup would cost."""

from __future__ import annotations

import asyncio
import random
import subprocess
from typing import Any

import aiohttp  # type: ignore[import-not-found, unused-ignore]

from bench import wrk
from bench.admin import Admin, open_tenant, tenant_url
from bench.data import Loaded, bulk_load, bulk_request, direct_load, user_name
from bench.measure import micro, scim_op, wrk_get
from bench.plan import Run
from bench.procs import rss_bytes
from bench.services import POSTGRES_BIN, Database, Target

_SAMPLE = 2000  # users a latency measurement spreads its requests over
_USERS_PER_TENANT = 4


def _rss_mb(target: Target) -> dict[str, float]:
    server, transcoder = target.service_pids
    return {
        "server_rss_mb": round(rss_bytes(server) / 2**20, 1),
        "transcoder_rss_mb": round(rss_bytes(transcoder) / 2**20, 1),
    }


async def _grow(target: Target, database: Database | None, start: int, count: int) -> list[Loaded]:
    if database is None:
        return await bulk_load(target.base_url, target.token, start, count, batch=1000)
    return await direct_load(
        target.mongodb_uri, target.mongodb_database, "scale", "standard", start, count
    )


def _raw_lookup(run: Run, target: Target, sample: list[Loaded]) -> dict[str, Any]:
    lookups = [("users", {"tenant_id": "scale", "lc_userName": user_name(u.index)}) for u in sample]
    return raw_find_one(run, target, lookups)


def raw_find_one(
    run: Run, target: Target, lookups: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    return micro(
        "find_one",
        timeout=run.budget.latency_seconds + 120,
        uri=target.mongodb_uri,
        database=target.mongodb_database,
        lookups=lookups,
        seconds=run.budget.latency_seconds,
    )


def _psql(url: str, sql: str) -> str:
    completed = subprocess.run(  # noqa: S603
        [str(POSTGRES_BIN / "psql"), url, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return completed.stdout.strip()


def add_gin_indexes(postgresql_url: str, schema: str) -> list[str]:
    """GIN indexes on the `_id` and `lc_userName` of FerretDB's users table of `schema`
    (the MongoDB database): what FerretDB's `@>` filters can use. FerretDB prepares its
    statements with the field name as a parameter (`_jsonb->$1 @> $2`), and PostgreSQL's
    generic plan for that cannot match an expression index, so custom plans are forced
    (undone by reset_plan_cache_mode)."""
    tables = _psql(
        postgresql_url,
        f"SELECT tablename FROM pg_tables WHERE schemaname = '{schema}' "  # noqa: S608
        "AND tablename LIKE 'users\\_%'",
    ).split()
    made = []
    for table in tables:
        for number, field in enumerate(("_id", "lc_userName")):
            _psql(
                postgresql_url,
                f'CREATE INDEX bench_gin_{number}_{table} ON "{schema}"."{table}" '
                f"USING gin ((_jsonb -> '{field}'))",
            )
            made.append(f"{schema}.{table} ((_jsonb -> '{field}')) gin")
        _psql(postgresql_url, f'ANALYZE "{schema}"."{table}"')
    _psql(postgresql_url, "ALTER SYSTEM SET plan_cache_mode = force_custom_plan")
    _psql(postgresql_url, "SELECT pg_reload_conf()")
    return made


def reset_plan_cache_mode(postgresql_url: str) -> None:
    _psql(postgresql_url, "ALTER SYSTEM RESET plan_cache_mode")
    _psql(postgresql_url, "SELECT pg_reload_conf()")


def users(run: Run, database: Database | None) -> None:
    """One standard tenant grown step by step; `userName eq` on a random sample of its users
    after each step. Embedded storage loads through /Bulk, FerretDB straight into the
    database (bench.data.direct_load)."""
    name = database.name if database else "embedded"
    target = asyncio.run(
        open_tenant(run.services.ours(f"scale-{name}", database, "scale"), "scale")
    )
    points: list[dict[str, Any]] = []
    result: dict[str, Any] = {"storage": name, "empty": _rss_mb(target), "points": points}
    run.results.setdefault("scaling_users", {})[name] = result
    try:
        loaded: list[Loaded] = []
        for step in run.budget.user_steps:
            grown = asyncio.run(_grow(target, database, len(loaded), step - len(loaded)))
            loaded.extend(grown)
            sample = random.Random(step).sample(  # noqa: S311 - a sample, not a secret
                loaded, min(_SAMPLE, len(loaded))
            )
            measured = scim_op(
                target,
                "filter_eq",
                [(u.index, u.id) for u in sample],
                concurrency=1,
                seconds=run.budget.latency_seconds,
            )
            point = {"users": step, **measured, **_rss_mb(target)}
            if database is not None:
                point["raw_find_one"] = _raw_lookup(run, target, sample)
            points.append(point)
            run.note(
                f"{name}: userName eq at {step:,} users: p50 {measured['p50_ms']} ms, "
                f"p99 {measured['p99_ms']} ms, {measured['errors']} errors; "
                f"server RSS {point['server_rss_mb']} MB; raw find_one p50 "
                f"{point.get('raw_find_one', {}).get('p50_ms', '-')} ms"
            )
        first, last = points[0]["p50_ms"], points[-1]["p50_ms"]
        result["ratio"] = round(last / first, 3) if first and last else None
        if database is not None and database.name == "ferretdb-postgresql":
            result["gin"] = _with_gin(run, target, loaded, first)
    finally:
        run.services.stop(target)


def _with_gin(run: Run, target: Target, loaded: list[Loaded], first: float) -> dict[str, Any]:
    """The largest step again, after GIN indexes were added by hand in PostgreSQL."""
    made = add_gin_indexes(run.postgresql_url, target.mongodb_database)
    try:
        sample = random.Random(-1).sample(loaded, min(_SAMPLE, len(loaded)))  # noqa: S311
        measured = scim_op(
            target,
            "filter_eq",
            [(u.index, u.id) for u in sample],
            concurrency=1,
            seconds=run.budget.latency_seconds,
        )
        raw = _raw_lookup(run, target, sample)
    finally:
        reset_plan_cache_mode(run.postgresql_url)
    ratio = round(measured["p50_ms"] / first, 3) if first and measured["p50_ms"] else None
    run.note(
        f"with GIN indexes at {len(loaded):,} users: p50 {measured['p50_ms']} ms "
        f"({ratio}x the 1,000-user figure), raw find_one p50 {raw['p50_ms']} ms"
    )
    return {
        "users": len(loaded),
        "indexes": made,
        "measured": measured,
        "raw_find_one": raw,
        "ratio": ratio,
    }


async def _open_tenants(target: Target, ids: list[str]) -> dict[str, tuple[str, list[str]]]:
    """Strict tenants with a key and a few users each: {tenant: (key, user ids)}."""
    async with Admin(target.grpc_target) as admin:
        keys = await admin.tenants(ids, "strict")
    opened: dict[str, tuple[str, list[str]]] = {}
    gate = asyncio.Semaphore(4)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def fill(tenant_id: str) -> None:
            async with gate:
                made = await bulk_request(
                    session,
                    tenant_url(target, tenant_id),
                    keys[tenant_id],
                    list(range(_USERS_PER_TENANT)),
                )
            opened[tenant_id] = (keys[tenant_id], [item.id for item in made])

        await asyncio.gather(*(fill(tenant_id) for tenant_id in ids))
    return opened


async def _warm(target: Target, gets: list[wrk.Get]) -> None:
    """One GET for every prepared request, so each tenant's credential is resolved (and
    cached) before latency is measured."""
    gate = asyncio.Semaphore(16)
    async with aiohttp.ClientSession(base_url=target.origin) as session:

        async def one(get: wrk.Get) -> None:
            async with (
                gate,
                session.get(get.path, headers={"Authorization": f"Bearer {get.token}"}) as response,
            ):
                if response.status != 200:
                    raise RuntimeError(f"warm-up GET {get.path}: {response.status}")

        await asyncio.gather(*(one(get) for get in gets))


def tenants(run: Run, database: Database | None) -> None:
    """Strict tenants added step by step; GET by id spread evenly over all of them (each
    request a different tenant, in turn), one at a time, after each step."""
    name = database.name if database else "embedded"
    target = run.services.ours(f"tenants-{name}", database, "tenants")
    points: list[dict[str, Any]] = []
    result: dict[str, Any] = {"storage": name, "points": points}
    run.results.setdefault("scaling_tenants", {})[name] = result
    opened: dict[str, tuple[str, list[str]]] = {}
    try:
        for step in run.budget.tenant_steps:
            new = [f"t{number:05d}" for number in range(len(opened), step)]
            opened.update(asyncio.run(_open_tenants(target, new)))
            prefix = {t: tenant_url(target, t).removeprefix(target.origin) for t in opened}
            gets = [
                wrk.Get(f"{prefix[t]}/Users/{ids[slot]}", key)
                for slot in range(_USERS_PER_TENANT)
                for t, (key, ids) in sorted(opened.items())
            ]
            asyncio.run(_warm(target, gets))
            measured = wrk_get(target, gets, seconds=run.budget.latency_seconds, connections=1)
            point = {"tenants": step, **measured}
            if database is not None:
                # The same documents straight from FerretDB: one strict collection per tenant.
                point["raw_find_one"] = raw_find_one(
                    run,
                    target,
                    [
                        (f"t.{t}.users", {"_id": ids[slot]})
                        for slot in range(_USERS_PER_TENANT)
                        for t, (_, ids) in sorted(opened.items())
                    ],
                )
            points.append(point)
            run.note(
                f"{name}: GET with {step:,} strict tenants: p50 {measured['p50_ms']} ms, "
                f"p99 {measured['p99_ms']} ms, {measured['errors']} errors; raw find_one p50 "
                f"{point.get('raw_find_one', {}).get('p50_ms', '-')} ms"
            )
        first, last = points[0]["p50_ms"], points[-1]["p50_ms"]
        result["ratio"] = round(last / first, 3) if first and last else None
    finally:
        run.services.stop(target)
