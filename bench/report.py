"""Tables and targets from a results dictionary (the JSON the benchmark writes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import group_scale, soak_report
from bench.compare import RUN_COMMAND
from bench.noisy_report import P99_BOUND, noisy_tables
from bench.report_format import number, ratio, table

SYSTEMS = ("peer", "embedded", RUN_COMMAND, "ferretdb-postgresql", "ferretdb-sqlite")
OPERATIONS = (
    ("get_wrk", "GET by id (wrk, 16 connections)"),
    ("get", "GET by id"),
    ("filter_eq", "userName eq"),
    ("filter_co", "emails.value co"),
    ("list", "list page of 100"),
    ("search", "POST /Users/.search (userName eq)"),
    ("create", "create (POST)"),
    ("patch", "PATCH replace"),
    ("put", "PUT"),
    ("delete", "DELETE"),
)


def operation_tables(results: dict[str, Any]) -> list[str]:
    compare = results.get("compare", {})
    ceiling = results.get("ceiling", {}).get("get_wrk", {}).get("rps")
    tables = []
    for op, title in OPERATIONS:
        peer_rps = compare.get("peer", {}).get(op, {}).get("rps")
        peer_cpu = compare.get("peer", {}).get(op, {}).get("server_cpu_ms")
        rows = []
        systems = [s for s in SYSTEMS if op in compare.get(s, {})]
        if op == "get_wrk" and ceiling:
            systems.append("ceiling")
        for system in systems:
            r = results["ceiling"]["get_wrk"] if system == "ceiling" else compare[system][op]
            rows.append(
                [
                    system,
                    number(r["rps"]),
                    number(r["p50_ms"], 2),
                    number(r["p99_ms"], 2),
                    number(r.get("server_cpu_ms"), 3),
                    number(r.get("db_cpu_ms"), 3),
                    ratio(r["rps"] / peer_rps if peer_rps else None),
                    ratio(
                        peer_cpu / r["server_cpu_ms"] if peer_cpu and r["server_cpu_ms"] else None
                    ),
                    f"{100 * r['rps'] / ceiling:.0f}%" if ceiling else "-",
                    str(r["errors"]),
                ]
            )
        if rows:
            header = [
                "system",
                "req/s",
                "p50 ms",
                "p99 ms",
                "server CPU ms/req",
                "db CPU ms/req",
                "vs peer",
                "CPU vs peer",
                "of ceiling",
                "errors",
            ]
            tables.append(table(f"## {title}", header, rows))
    return tables


def scaling_tables(results: dict[str, Any]) -> list[str]:
    tables = []
    for key, unit, title in (
        ("scaling_users", "users", "userName eq latency vs users per tenant (one at a time)"),
        ("scaling_tenants", "tenants", "GET latency vs strict tenants (one at a time)"),
    ):
        rows = []
        for storage, found in results.get(key, {}).items():
            points = [(storage, p) for p in found["points"]]
            if "gin" in found:
                gin = found["gin"]
                points.append(
                    (
                        f"{storage} + GIN",
                        {
                            "users": gin["users"],
                            **gin["measured"],
                            "raw_find_one": gin["raw_find_one"],
                        },
                    )
                )
            for label, point in points:
                rows.append(
                    [
                        label,
                        number(point[unit]),
                        number(point["p50_ms"], 2),
                        number(point["p99_ms"], 2),
                        number(point.get("raw_find_one", {}).get("p50_ms"), 2),
                        number(point.get("server_cpu_ms"), 3),
                        number(point.get("db_cpu_ms"), 3),
                        number(point.get("server_rss_mb")),
                        str(point["errors"]),
                    ]
                )
        if rows:
            header = [
                "storage",
                unit,
                "p50 ms",
                "p99 ms",
                "raw find_one p50 ms",
                "server CPU ms/req",
                "db CPU ms/req",
                "server RSS MB",
                "errors",
            ]
            tables.append(table(f"## {title}", header, rows))
    raw = results.get("ferretdb_raw", {})
    rows = [
        [
            name,
            number(found["get_one_at_a_time"]["p50_ms"], 3),
            number(found["motor_find_one"]["p50_ms"], 3),
            ratio(found["ratio"]),
        ]
        for name, found in raw.items()
    ]
    if rows:
        header = ["database", "GET p50 ms (end to end)", "motor find_one p50 ms", "ratio"]
        tables.append(table("## GET on FerretDB vs a raw motor find_one", header, rows))
    return tables


def other_tables(results: dict[str, Any]) -> list[str]:
    tables = []
    resolver = results.get("resolver", {})
    if resolver:
        rows = [[label, number(r["per_second"])] for label, r in resolver.items()]
        tables.append(table("## cached tenant resolution (in process)", ["keys", "per s"], rows))
    memory = results.get("memory", {})
    if memory:
        rows = [[label, value] for label, value in memory.get("summary", {}).items()]
        tables.append(table("## memory", ["what", "value"], rows))
    drivers = results.get("drivers", {})
    if drivers:
        rows = []
        for driver, found in drivers.items():
            if "error" in found:
                rows.append([driver, "error", found["error"][:60], "", "", "", "", ""])
                continue
            rows.append(
                [
                    driver,
                    number(found["insert"]["p50_ms"], 3),
                    number(found["get"]["p50_ms"], 3),
                    number(found["filter_eq"]["p50_ms"], 3),
                    number(found["replace"]["p50_ms"], 3),
                    number(found["delete"]["p50_ms"], 3),
                    number(found["get"]["rps"]),
                    number(found["get_16_concurrent"]["rps"]),
                ]
            )
        header = [
            "driver",
            "insert p50 ms",
            "get p50 ms",
            "userName eq p50 ms",
            "replace p50 ms",
            "delete p50 ms",
            "get/s",
            "get/s (16 at once)",
        ]
        tables.append(table("## MongoResourceRepository: motor vs PyMongo async", header, rows))
    return tables


@dataclass(frozen=True)
class Target:
    name: str
    bound: float
    at_least: bool  # True: ratio >= bound passes; False: ratio <= bound passes
    measure: Callable[[dict[str, Any]], float | None]


def _figure(results: dict[str, Any], system: str, op: str, key: str) -> Any:
    return results.get("compare", {}).get(system, {}).get(op, {}).get(key)


def _rps_ratio(op: str, system: str = "embedded") -> Callable[[dict[str, Any]], float | None]:
    """The system's req/s over the peer's."""

    def measure(results: dict[str, Any]) -> float | None:
        ours, peer = _figure(results, system, op, "rps"), _figure(results, "peer", op, "rps")
        return ours / peer if ours and peer else None

    return measure


def _cpu_ratio(op: str, system: str = "embedded") -> Callable[[dict[str, Any]], float | None]:
    """The peer's server CPU per request over the system's."""

    def measure(results: dict[str, Any]) -> float | None:
        ours = _figure(results, system, op, "server_cpu_ms")
        peer = _figure(results, "peer", op, "server_cpu_ms")
        return peer / ours if ours and peer else None

    return measure


def _ceiling_share(results: dict[str, Any]) -> float | None:
    ours = _figure(results, "embedded", "get_wrk", "rps")
    ceiling = results.get("ceiling", {}).get("get_wrk", {}).get("rps")
    return ours / ceiling if ours and ceiling else None


def _path(*keys: str) -> Callable[[dict[str, Any]], float | None]:
    def measure(results: dict[str, Any]) -> float | None:
        found: Any = results
        for key in keys:
            if not isinstance(found, dict) or key not in found:
                return None
            found = found[key]
        return float(found) if isinstance(found, int | float) else None

    return measure


def _whole_curve(system: str, key: str) -> Callable[[dict[str, Any]], float | None]:
    """A figure of the system's add-member curve, only when it reached its largest planned
    size (a curve cut short says why in its own table)."""
    figure = _path("groups", "systems", system, "add_member", key)

    def measure(results: dict[str, Any]) -> float | None:
        reached = _path("groups", "systems", system, "add_member", "largest_reached")(results)
        planned = _path("groups", "systems", system, "add_member", "largest_planned")(results)
        return figure(results) if reached is not None and reached == planned else None

    return measure


_OURS = ("embedded", "ferretdb-sqlite", "ferretdb-postgresql")

TARGETS = (
    Target(
        "GET by id, transport ceiling: CPU ms per request (both processes)",
        0.65,
        False,
        _path("ceiling", "get_wrk", "server_cpu_ms"),
    ),
    Target("GET by id, embedded: vs peer", 4.0, True, _rps_ratio("get_wrk")),
    Target("GET by id, embedded: share of transport ceiling", 0.7, True, _ceiling_share),
    Target("GET by id, embedded: CPU per request, peer's / ours", 3.0, True, _cpu_ratio("get_wrk")),
    Target(
        "GET by id, run command: vs peer",
        2.5,
        True,
        _rps_ratio("get_wrk", RUN_COMMAND),
    ),
    Target("userName eq, 2,000 users: vs peer", 3.0, True, _rps_ratio("filter_eq")),
    Target("list page of 100, 2,000 users: vs peer", 20.0, True, _rps_ratio("list")),
    Target("create: vs peer", 3.0, True, _rps_ratio("create")),
    Target("PATCH: vs peer", 3.0, True, _rps_ratio("patch")),
    Target(
        "userName eq latency, most vs 1,000 users, embedded",
        1.5,
        False,
        _path("scaling_users", "embedded", "ratio"),
    ),
    Target(
        "userName eq latency, most vs 1,000 users, FerretDB-PostgreSQL",
        1.5,
        False,
        _path("scaling_users", "ferretdb-postgresql", "ratio"),
    ),
    Target(
        "(info) same, with GIN indexes added by hand in PostgreSQL",
        1.5,
        False,
        _path("scaling_users", "ferretdb-postgresql", "gin", "ratio"),
    ),
    Target(
        "GET p50 FerretDB-PostgreSQL vs raw motor find_one",
        3.0,
        False,
        _path("ferretdb_raw", "ferretdb-postgresql", "ratio"),
    ),
    Target(
        "GET p50 FerretDB-SQLite vs raw motor find_one",
        3.0,
        False,
        _path("ferretdb_raw", "ferretdb-sqlite", "ratio"),
    ),
    Target(
        "GET p50, most vs 10 strict tenants, embedded",
        1.2,
        False,
        _path("scaling_tenants", "embedded", "ratio"),
    ),
    Target(
        "GET p50, most vs 10 strict tenants, FerretDB-PostgreSQL",
        1.2,
        False,
        _path("scaling_tenants", "ferretdb-postgresql", "ratio"),
    ),
    Target(
        "cached tenant resolution per second (1,000 keys)",
        100_000.0,
        True,
        _path("resolver", "1000 keys", "per_second"),
    ),
    *(
        Target(
            f"noisy neighbour: A's p99 flooded vs quiet, {system}",
            P99_BOUND,
            False,
            _path("noisy", system, "p99_ratio"),
        )
        for system in _OURS
    ),
    *(
        Target(
            f"add member p50, largest group vs 100 members, {system}",
            group_scale.RATIO_BOUND,
            False,
            _whole_curve(system, "ratio"),
        )
        for system in _OURS
    ),
    *(
        Target(
            f"add member response bytes flat (largest / smallest), {system}",
            group_scale.RATIO_BOUND,
            False,
            _whole_curve(system, "bytes_ratio"),
        )
        for system in _OURS
    ),
    Target(
        "soak: errors (open loop, every window)", 0.0, False, _path("soak", "figures", "errors")
    ),
    Target(
        "soak: p99, last window / window 2",
        soak_report.P99_BOUND,
        False,
        _path("soak", "figures", "p99_ratio"),
    ),
    *(
        Target(
            f"soak: {name} RSS growth, window 2 to last (fraction)",
            soak_report.RSS_GROWTH_BOUND,
            False,
            _path("soak", "figures", f"{name}_rss_growth"),
        )
        for name in ("server", "transcoder")
    ),
)


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for target in TARGETS:
        value = target.measure(results)
        if value is None:
            verdict = "NOT RUN"
        elif (value >= target.bound) if target.at_least else (value <= target.bound):
            verdict = "PASS"
        else:
            verdict = "MISS"
        found.append(
            {
                "target": target.name,
                "bound": f"{'>=' if target.at_least else '<='} {target.bound:g}",
                "measured": None if value is None else round(value, 3),
                "verdict": verdict,
            }
        )
    return found


def verdict_table(
    found: list[dict[str, Any]], title: str = "## targets (ratios within this run)"
) -> str:
    rows = [
        [
            v["target"],
            v["bound"],
            "-" if v["measured"] is None else f"{v['measured']:,.2f}",
            v["verdict"],
        ]
        for v in found
    ]
    return table(title, ["target", "bound", "measured", "verdict"], rows)


def render(results: dict[str, Any], found: list[dict[str, Any]]) -> str:
    parts = operation_tables(results) + scaling_tables(results) + other_tables(results)
    parts += noisy_tables(results) + group_scale.tables(results)
    parts += soak_report.tables(results)
    if "soak" in results:
        soak = [v for v in found if v["target"].startswith("soak:")]
        parts.append(verdict_table(soak, soak_report.TARGETS_TITLE))
    parts.append(verdict_table(found))
    return "\n\n".join(parts)
