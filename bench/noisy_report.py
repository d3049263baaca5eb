"""Tables of the noisy-neighbour section (bench/noisy.py) from the results dictionary."""

from __future__ import annotations

from typing import Any

from bench.report_format import number, ratio, table

# A's p99 while B floods, over its quiet p99 in the same run (issue 10).
P99_BOUND = 2.0


def _codes(codes: dict[str, int]) -> str:
    return " ".join(f"{code} x{count}" for code, count in sorted(codes.items())) or "-"


def _verdict(value: float | None) -> str:
    if value is None:
        return "NOT RUN"
    return "PASS" if value <= P99_BOUND else "MISS"


def _b_answers(found: dict[str, Any]) -> tuple[int, int, int]:
    """Tenant B's clean answers, requests and cut requests over every flood."""
    clean = sent = cut = 0
    for phase in found["phases"]:
        for tally in (phase["b"] or {}).get("classes", {}).values():
            clean, sent, cut = clean + tally["clean"], sent + tally["sent"], cut + tally["cut"]
    return clean, sent, cut


def summary_table(noisy: dict[str, Any]) -> str:
    rows = []
    for system, found in noisy.items():
        if "quiet" not in found:
            continue
        quiet, flooded = found["quiet"], found["flooded"]
        clean, sent, cut = _b_answers(found)
        # Cut requests count as the time they ran at least: the figures are lower bounds.
        at_least = ">= " if flooded["cut"] else ""
        rows.append(
            [
                system,
                f"{found['a_users']:,} / {found['b_users']:,}",
                f"{number(quiet['p50_ms'], 2)} / {number(quiet['p99_ms'], 2)}",
                f"{at_least}{number(flooded['p50_ms'], 2)} / {number(flooded['p99_ms'], 2)}",
                f"{at_least}{ratio(found['p50_ratio'])} / {ratio(found['p99_ratio'])}",
                _verdict(found["p99_ratio"]),
                f"{quiet['requests']:,} / {flooded['requests']:,} ({flooded['cut']:,} cut)",
                str(quiet["errors"] + flooded["errors"]),
                f"{clean:,} of {sent:,}, {cut:,} cut",
            ]
        )
    header = [
        "system",
        "users A / B",
        "A quiet p50 / p99 ms",
        "A flooded p50 / p99 ms",
        "ratio p50 / p99",
        f"p99 <= {P99_BOUND:g}x",
        "A requests quiet / flooded",
        "A errors",
        "B clean answers",
    ]
    title = "## noisy neighbour: tenant A's GET by id while tenant B floods (pooled phases)"
    return table(title, header, rows)


def phase_table(noisy: dict[str, Any]) -> str:
    rows = []
    for system, found in noisy.items():
        for i, phase in enumerate(found.get("phases", []), start=1):
            a = phase["a"]
            b_sent = sum(t["sent"] for t in (phase["b"] or {}).get("classes", {}).values())
            rows.append(
                [
                    system,
                    f"{i} {phase['kind']}",
                    number(a["rps"]),
                    number(a["p50_ms"], 2),
                    number(a["p99_ms"], 2),
                    str(a["errors"]),
                    str(b_sent) if phase["b"] else "-",
                    number(phase["server_cpu_s"], 2),
                    number(phase["drain_s"], 2),
                ]
            )
    header = [
        "system",
        "phase",
        "A req/s",
        "A p50 ms",
        "A p99 ms",
        "A errors",
        "B answers",
        "server CPU s",
        "drain s",
    ]
    return table("## noisy neighbour: phase by phase (drift)", header, rows)


def cost_table(noisy: dict[str, Any]) -> str:
    rows = []
    for system, found in noisy.items():
        for name, cost in found.get("costs", {}).items():
            rows.append(
                [
                    system,
                    name,
                    cost["size"],
                    _codes(cost["codes"]),
                    "yes" if cost["clean"] == cost["sent"] else "NO",
                    number(cost["p50_ms"], 1),
                    number(cost["max_ms"], 1),
                    number(cost["server_cpu_ms"], 1),
                    number(cost.get("db_cpu_ms"), 1),
                ]
            )
    header = [
        "system",
        "class",
        "request",
        "status seen",
        "clean",
        "wall p50 ms",
        "wall max ms",
        "server CPU ms/req",
        "db CPU ms/req",
    ]
    title = "## worst allowed request per class (one at a time, tenant B)"
    return table(title, header, rows)


def noisy_tables(results: dict[str, Any]) -> list[str]:
    noisy = results.get("noisy", {})
    if not noisy:
        return []
    return [summary_table(noisy), phase_table(noisy), cost_table(noisy)]
