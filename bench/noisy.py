"""The noisy-neighbour section: on one server, tenant A sends steady GETs by id while tenant
B floods it with the most expensive requests the input limits allow (bench.hostile_requests,
sent by bench.flood). A is measured quiet, flooded, quiet again (drift shows), in one run;
each class of B's requests is also timed on its own, one request at a time, with the CPU the
server spent on it."""

from __future__ import annotations

import asyncio
import select
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

import aiohttp  # type: ignore[import-not-found, unused-ignore]
import orjson

from bench.admin import open_tenant
from bench.compare import load
from bench.data import headers
from bench.flood import Endpoints, FloodJob, one_at_a_time
from bench.hostile_requests import Hostile, Limits, build, patch_target, sizes, stamped
from bench.loadgen import grace, percentile
from bench.measure import Result, drain, loadgen, scim_job
from bench.plan import NoisyBudget, Run
from bench.procs import CpuMeter
from bench.services import ROOT, Database, Target

_DRAIN_CAP = 120.0  # seconds a flood's cut requests may keep the server busy afterwards
# Request numbers: costs below this, each flood from its own multiple of it.
_NUMBERS = 1_000_000


@dataclass(frozen=True)
class Tenants:
    a: Target
    a_users: list[tuple[int, str]]
    b: Endpoints
    b_users: int
    targets: list[str]  # ids of tenant B's big Users, for its PATCHes


class Flood:
    """Tenant B's flood (`python -m bench.flood`) while the `with` block runs."""

    def __init__(self, job: FloodJob, log: str) -> None:
        self._job = job
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None
        self.result: dict[str, Any] = {}

    def __enter__(self) -> Flood:
        with open(self._log, "ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "bench.flood"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=ROOT,
                bufsize=0,
            )
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(orjson.dumps(asdict(self._job)) + b"\n")
        ready, _, _ = select.select([self._process.stdout], [], [], 60)
        if not ready or self._process.stdout.readline().strip() != b"started":
            self._kill()
            raise RuntimeError(f"the flood did not start; see {self._log}")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._process is not None
        try:
            out, _ = self._process.communicate(b"stop\n", timeout=self._job.grace + 60)
            self.result = orjson.loads(out) if out.strip() else {}
        finally:
            self._kill()

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()  # by its PID
            self._process.wait(10)


def _pids(target: Target) -> tuple[int, ...]:
    return target.service_pids + target.database_pids


def _cost(run: Run, target: Target, tenants: Tenants, hostile: Hostile, number: int) -> Result:
    """One class, one request at a time: wall time and the CPU spent per request."""
    budget = run.budget.noisy
    drain(_pids(target))
    service, database = CpuMeter(target.service_pids), CpuMeter(target.database_pids)
    service.start()
    database.start()
    numbers = range(number, number + budget.cost_repeats)
    tally = asyncio.run(
        one_at_a_time(tenants.b, hostile, numbers, tenants.targets, budget.cost_seconds)
    )
    drain(_pids(target))
    sent = max(1, tally.sent)
    found: Result = {"label": hostile.label, "size": sizes(hostile), **tally.summary()}
    found["server_cpu_ms"] = round(1000 * service.stop() / sent, 1)
    if target.database_pids:
        found["db_cpu_ms"] = round(1000 * database.stop() / sent, 1)
    run.note(
        f"{target.name} {hostile.name}: {found['codes']} wall p50 {found['p50_ms']} ms, "
        f"server CPU {found['server_cpu_ms']} ms/request, db CPU {found.get('db_cpu_ms', '-')} "
        f"ms/request {found['samples'] or ''}"
    )
    return found


def _phase(run: Run, target: Target, a_job: Result, flood: FloodJob | None) -> Result:
    """Tenant A's GETs, alone or while B floods; the CPU the server spent meanwhile."""
    drain(_pids(target), cap=_DRAIN_CAP)
    meter = CpuMeter(target.service_pids)
    meter.start()
    if flood is None:
        a, b = loadgen(a_job), None
    else:
        with Flood(flood, str(run.log_dir / f"{target.name}-flood.log")) as running:
            a = loadgen(a_job)
        b = running.result
    found: Result = {"kind": "quiet" if flood is None else "flooded", "a": a, "b": b}
    found["server_cpu_s"] = round(meter.stop(), 2)
    found["drain_s"] = drain(_pids(target), cap=_DRAIN_CAP)
    run.note(
        f"{target.name} {found['kind']}: A {a['rps']} req/s p50 {a['p50_ms']} ms "
        f"p99 {a['p99_ms']} ms, {a['errors']} errors; drained in {found['drain_s']} s"
    )
    return found


def _pooled(phases: list[Result], kind: str, cut_seconds: float) -> Result:
    """A's latencies over the phases of a kind; a request cut at the end of a phase counts
    as the `cut_seconds` it ran at least."""
    latencies: list[float] = []
    errors = cut = 0
    for phase in (p for p in phases if p["kind"] == kind):
        latencies += phase["a"].pop("latencies")
        latencies += [cut_seconds] * phase["a"]["cut"]
        errors, cut = errors + phase["a"]["errors"], cut + phase["a"]["cut"]
    latencies.sort()
    found = {"requests": len(latencies), "errors": errors, "cut": cut}
    return {**found, "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99)}


def _ratio(flooded: float | None, quiet: float | None) -> float | None:
    return round(flooded / quiet, 3) if flooded and quiet else None


def _summary(phases: list[Result], seconds: float) -> Result:
    quiet = _pooled(phases, "quiet", grace(seconds))
    flooded = _pooled(phases, "flooded", grace(seconds))
    return {
        "quiet": quiet,
        "flooded": flooded,
        "p50_ratio": _ratio(flooded["p50_ms"], quiet["p50_ms"]),
        "p99_ratio": _ratio(flooded["p99_ms"], quiet["p99_ms"]),
    }


async def _create_targets(base_url: str, token: str, limits: Limits, count: int) -> list[str]:
    """Tenant B's big Users that its PATCHes go to."""
    body, ids = orjson.dumps(patch_target(limits)), []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for number in range(count):
            async with session.post(
                f"{base_url}/Users", data=stamped(body, number), headers=headers(token)
            ) as response:
                payload = await response.read()
                if response.status != 201:
                    raise RuntimeError(f"a patch target: {response.status} {payload[:300]!r}")
                ids.append(orjson.loads(payload)["id"])
    return ids


def _tenants(run: Run, server: Target, b_users: int) -> Tenants:
    """Tenant A with its users; tenant B (`b`, its data, and `b-writes`, where its creates
    go, so that `b` stays within MAX_FILTER_SCAN) with its users and patch targets."""
    budget, limits = run.budget.noisy, Limits.of(run.services.service_env)
    started = time.monotonic()
    a = asyncio.run(open_tenant(server, "a"))
    b = asyncio.run(open_tenant(server, "b"))
    writes = asyncio.run(open_tenant(server, "b-writes"))
    a_users = load(a, budget.a_users)
    targets = asyncio.run(_create_targets(b.base_url, b.token, limits, budget.patch_targets))
    loaded = len(load(b, min(b_users, limits.max_filter_scan) - len(targets)))
    run.note(
        f"{server.name}: tenant A {len(a_users):,} users; tenant B {loaded:,} users and "
        f"{len(targets)} big ones to PATCH (loaded in {time.monotonic() - started:.0f} s)"
    )
    endpoints = {"data": (b.base_url, b.token), "writes": (writes.base_url, writes.token)}
    return Tenants(a, a_users, endpoints, loaded + len(targets), targets)


def _flood_job(budget: NoisyBudget, tenants: Tenants, limits: Limits, k: int) -> FloodJob:
    return FloodJob(
        endpoints=tenants.b,
        limits=asdict(limits),
        targets=tenants.targets,
        concurrency=budget.b_concurrency,
        seconds=budget.phase_seconds + 60,
        max_requests=_NUMBERS - 1,
        first_number=(k + 1) * _NUMBERS,
        grace=grace(budget.phase_seconds),
    )


def one_system(run: Run, name: str, database: Database | None, b_users: int) -> None:
    budget, services = run.budget.noisy, run.services
    limits = Limits.of(services.service_env)
    server = services.ours(f"noisy-{name}", database, "noisy")
    try:
        tenants = _tenants(run, server, b_users)
        found: Result = {"a_users": len(tenants.a_users), "b_users": tenants.b_users}
        found["limits"] = asdict(limits)
        run.results.setdefault("noisy", {})[name] = found
        found["costs"] = {
            hostile.name: _cost(run, server, tenants, hostile, i * 1000)
            for i, hostile in enumerate(build(limits))
        }
        a_job = scim_job(
            tenants.a,
            "get",
            tenants.a_users,
            concurrency=budget.a_concurrency,
            seconds=budget.phase_seconds,
            max_requests=budget.max_requests,
            keep_latencies=True,
            time_first=True,  # in a flood, the first requests may be the ones that wait
        )
        phases = [_phase(run, server, a_job, None)]
        for k in range(budget.floods):
            flood = _flood_job(budget, tenants, limits, k)
            phases += [_phase(run, server, a_job, flood), _phase(run, server, a_job, None)]
        found.update(_summary(phases, budget.phase_seconds), phases=phases)
        run.note(
            f"{name}: A p99 quiet {found['quiet']['p99_ms']} ms, flooded "
            f"{found['flooded']['p99_ms']} ms ({found['p99_ratio']}x)"
        )
    finally:
        services.stop(server)


def section(run: Run, postgresql: Database) -> None:
    """Embedded storage, FerretDB-SQLite, and (full runs) FerretDB-PostgreSQL."""
    budget = run.budget.noisy
    one_system(run, "embedded", None, budget.users)
    database, managed = run.services.ferretdb("sqlite")
    try:
        one_system(run, database.name, database, budget.ferretdb_users)
    finally:
        run.services.supervisor.stop(managed)
    if budget.postgresql:
        one_system(run, postgresql.name, postgresql, budget.ferretdb_users)
