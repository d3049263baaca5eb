"""How much each scenario does: the full run or --quick (a smoke run whose scaling figures
stop at 10,000 users and 100 tenants); bench/README.md says how long each section takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.services import Services


@dataclass(frozen=True)
class NoisyBudget:
    """The noisy-neighbour section (bench/noisy.py)."""

    phase_seconds: float  # each phase of tenant A's GETs, quiet or flooded
    floods: int  # flooded phases; each between two quiet ones
    cost_repeats: int  # requests of each class sent one at a time for its cost
    cost_seconds: float  # at most this long per class (at least one request)
    ferretdb_users: int  # tenant B's users on FerretDB (its /Bulk creates are slow)
    postgresql: bool  # FerretDB-PostgreSQL too
    users: int = 10_000  # tenant B's users on the embedded storage (capped at MAX_FILTER_SCAN)
    a_users: int = 500
    patch_targets: int = 16  # big Users of tenant B that its PATCHes go to
    a_concurrency: int = 4
    b_concurrency: int = 8
    max_requests: int = 200_000  # of tenant A per phase


@dataclass(frozen=True)
class Reads:
    gets: int  # GETs timed one at a time, or as many as `seconds` allow (at least one)
    seconds: float


@dataclass(frozen=True)
class SyncPlan:
    users: int
    groups: tuple[int, ...]  # members of each group: the first users, in order
    cap_seconds: float
    concurrency: int = 4


@dataclass(frozen=True)
class GroupBudget:
    """The `groups` section (bench/group_scale.py, bench/group_sync.py)."""

    # Per system that runs (embedded, ferretdb-sqlite, ferretdb-postgresql): members already
    # in the group at each timed step.
    sizes: dict[str, tuple[int, ...]]
    timed_adds: int  # add-member PATCHes timed at each size
    fill_seconds: float  # to reach a size; past it the size is not reached
    timed_seconds: float  # for the timed PATCHes of a size (at least one is sent)
    member_of: int  # groups the GET User's user is in (they are made within fill_seconds)
    reads: Reads  # GETs timed per figure
    sync: SyncPlan
    section_seconds: float  # sizes and syncs past it are skipped or shortened
    fill_chunk: int = 1000  # members per pre-fill PATCH


@dataclass(frozen=True)
class SoakBudget:
    """The `soak` section (bench/soak.py)."""

    ramp: tuple[int, ...]  # concurrencies of the closed-loop ramp that finds the maximum
    ramp_step_seconds: float
    seconds: float  # the open loop
    window_seconds: float  # its figures are per window of this length
    load_share: float = 0.7  # of the maximum the ramp measured
    users: int = 2000
    max_in_flight: int = 256  # requests of the open loop at once; past them one is dropped


@dataclass(frozen=True)
class Budget:
    phase_seconds: float  # each operation of the SCIM mix
    wrk_seconds: float  # each wrk run
    latency_seconds: float  # each one-at-a-time latency measurement
    soak_seconds: float  # the steady load on FerretDB for memory growth
    user_steps: tuple[int, ...]  # users per tenant of the scaling scenario
    tenant_steps: tuple[int, ...]  # strict tenants of the scaling scenario
    wrk_rounds: int  # GET rounds over the `embedded` section's systems in turn (best one counts)
    sqlite_mix: bool  # the whole SCIM mix on FerretDB-SQLite too (its scans take seconds)
    noisy: NoisyBudget
    groups: GroupBudget
    soak: SoakBudget
    compare_users: int = 2000
    concurrency: int = 8  # the SCIM mix's concurrent requests
    connections: int = 16  # wrk's connections
    micro_seconds: float = 2.0


FULL = Budget(
    phase_seconds=3.0,
    wrk_seconds=6.0,
    latency_seconds=4.0,
    soak_seconds=45.0,
    user_steps=(1_000, 10_000, 100_000),
    tenant_steps=(10, 100, 1_000),
    wrk_rounds=2,
    sqlite_mix=False,
    noisy=NoisyBudget(
        phase_seconds=10.0,
        floods=2,
        cost_repeats=5,
        cost_seconds=30.0,
        ferretdb_users=5_000,
        postgresql=True,
    ),
    groups=GroupBudget(
        sizes={
            "embedded": (100, 1_000, 10_000, 100_000),
            "ferretdb-sqlite": (100, 1_000, 10_000),
            "ferretdb-postgresql": (100, 1_000, 10_000),
        },
        timed_adds=40,
        fill_seconds=120.0,
        timed_seconds=60.0,
        member_of=1_000,
        reads=Reads(gets=20, seconds=30.0),
        sync=SyncPlan(users=10_000, groups=(10_000, 2_000, 50), cap_seconds=600.0),
        section_seconds=1200.0,
    ),
    soak=SoakBudget(
        ramp=(1, 2, 4, 8, 16), ramp_step_seconds=5.0, seconds=600.0, window_seconds=60.0
    ),
)
QUICK = Budget(
    phase_seconds=1.0,
    wrk_seconds=2.0,
    latency_seconds=1.5,
    soak_seconds=10.0,
    user_steps=(1_000, 10_000),
    tenant_steps=(10, 100),
    wrk_rounds=1,
    sqlite_mix=False,
    noisy=NoisyBudget(
        phase_seconds=4.0,
        floods=1,
        cost_repeats=2,
        cost_seconds=10.0,
        ferretdb_users=2_000,
        postgresql=False,
    ),
    groups=GroupBudget(
        sizes={"embedded": (100, 1_000, 10_000), "ferretdb-sqlite": (100, 1_000)},
        timed_adds=30,
        fill_seconds=45.0,
        timed_seconds=20.0,
        member_of=200,
        reads=Reads(gets=10, seconds=10.0),
        sync=SyncPlan(users=1_000, groups=(1_000, 200, 50), cap_seconds=90.0),
        section_seconds=240.0,
    ),
    soak=SoakBudget(ramp=(2, 4, 8, 16), ramp_step_seconds=3.0, seconds=90.0, window_seconds=15.0),
)


@dataclass
class Run:
    """What every scenario gets: the budget, the services, and the results to fill."""

    budget: Budget
    services: Services
    postgresql_url: str
    log_dir: Path
    results: dict[str, Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        print(f"  · {text}", flush=True)
