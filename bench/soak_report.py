"""The soak section's figures, targets and tables (bench/soak.py). Window 1 is warm-up, so
"flat" is measured from window 2 (BASELINE) to the last one."""

from __future__ import annotations

from typing import Any

from bench.report_format import number, table

BASELINE = 1  # index of the first window after warm-up
P99_BOUND = 1.5  # the last window's p99 at most this many times the baseline's
RSS_GROWTH_BOUND = 0.10  # RSS growth from the baseline's end to the last window's end
TARGETS_TITLE = "## soak targets (window 1 is warm-up: p99 and RSS from window 2 to the last)"


def _growth(first: float, last: float) -> float | None:
    return (last - first) / first if first else None


def figures(windows: list[dict[str, Any]]) -> dict[str, float | None]:
    """What the targets measure: errors of every window (cut and dropped requests
    included), the last window's p99 over the baseline's, and the RSS growth of each
    process from the end of the baseline window to the end of the last."""
    found: dict[str, float | None] = {"errors": float(sum(w["errors"] for w in windows))}
    if len(windows) <= BASELINE + 1:
        return found
    base, last = windows[BASELINE], windows[-1]
    if base["p99_ms"] and last["p99_ms"] is not None:
        found["p99_ratio"] = round(last["p99_ms"] / base["p99_ms"], 3)
    for name in ("server", "transcoder"):
        growth = _growth(base[f"{name}_rss_mb"], last[f"{name}_rss_mb"])
        found[f"{name}_rss_growth"] = None if growth is None else round(growth, 4)
    return found


def window_line(window: dict[str, Any]) -> str:
    return (
        f"{window['op']}: {window['sent']:,} requests, {window['errors']} errors, p50 "
        f"{window['p50_ms']} ms, p99 {window['p99_ms']} ms, RSS server "
        f"{window['server_rss_mb']:.1f} MB / transcoder {window['transcoder_rss_mb']:.1f} MB "
        f"{window['samples'] or ''}"
    )


def _ramp_table(soak: dict[str, Any]) -> str:
    rows = [
        [
            str(step["concurrency"]),
            number(step["rps"]),
            number(step["p50_ms"], 2),
            number(step["p99_ms"], 2),
            number(step.get("server_cpu_ms"), 3),
            number(step.get("db_cpu_ms"), 3),
            number(step["machine_cores"], 2),
            str(step["errors"]),
        ]
        for step in soak["ramp"]
    ]
    header = ["at once", "req/s", "p50 ms", "p99 ms", "CPU ms/req", "db CPU ms/req"]
    header += ["machine's busy cores", "errors"]
    title = (
        f"## soak: maximum of the mix, closed loop ({soak['storage']}, "
        f"{soak['users']:,} users): {number(soak['max_rps'])} req/s"
    )
    return table(title, header, rows)


def _window_row(k: int, window: dict[str, Any], size: float) -> list[str]:
    return [
        str(k + 1),
        f"{k * size:.0f}-{k * size + window['elapsed']:.0f}",
        number(window["sent"]),
        str(window["errors"]),
        number(window["p50_ms"], 2),
        number(window["p99_ms"], 2),
        number(window["server_rss_mb"]),
        number(window["transcoder_rss_mb"]),
        number(window["cpu_ms_per_request"], 3),
        number(window["db_cpu_ms_per_request"], 3),
        number(window["lag_ms"]),
        number(window["other_cores"], 2),
    ]


def _window_table(soak: dict[str, Any]) -> str:
    size = soak["window_seconds"]
    rows = [_window_row(k, w, size) for k, w in enumerate(soak["windows"])]
    header = [
        "window",
        "s",
        "requests",
        "errors",
        "p50 ms",
        "p99 ms",
        "server RSS MB",
        "transcoder RSS MB",
        "CPU ms/req",
        "db CPU ms/req",
        "send lag ms",
        "others' cores",
    ]
    title = (
        f"## soak: open loop at {number(soak['rate'])} req/s "
        f"({100 * soak['load_share']:.0f}% of the maximum) for {soak['seconds']:.0f} s, "
        f"per window of {size:.0f} s (RSS at the window's end; CPU: server + transcoder; "
        f"others' cores: CPU of processes not the soak's)"
    )
    return table(title, header, rows)


def _ops_table(soak: dict[str, Any]) -> str:
    rows = [
        [
            op,
            number(found["sent"]),
            str(found["errors"]),
            number(found["p50_ms"], 2),
            number(found["p99_ms"], 2),
        ]
        for op, found in soak["ops"].items()
    ]
    header = ["operation", "requests", "errors", "p50 ms", "p99 ms"]
    return table("## soak: the open loop per operation", header, rows)


def tables(results: dict[str, Any]) -> list[str]:
    soak = results.get("soak")
    if not soak:
        return []
    parts = [_ramp_table(soak), _window_table(soak), _ops_table(soak)]
    errors = [
        f"window {k + 1}: {w['codes']} {w['samples']}"
        for k, w in enumerate(soak["windows"])
        if w["errors"]
    ]
    if errors:
        parts.append("## soak errors (status counts, first samples)\n" + "\n".join(errors))
    return parts
