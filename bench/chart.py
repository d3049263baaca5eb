"""The PNG chart of the scaling scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib  # type: ignore[import-not-found, unused-ignore]

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]


def draw(results: dict[str, Any], path: Path, title: str) -> bool:
    """Draws what the scaling scenarios measured; False when they measured nothing."""
    panels = (
        ("scaling_users", "users", "userName eq latency vs users per tenant", "users per tenant"),
        ("scaling_tenants", "tenants", "GET latency vs strict tenants", "strict tenants"),
    )
    if not any(results.get(key) for key, *_ in panels):
        return False
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for axis, (key, unit, heading, label) in zip(axes, panels, strict=True):
        for storage, found in results.get(key, {}).items():
            points = [p for p in found["points"] if p["p50_ms"] is not None]
            xs = [p[unit] for p in points]
            line = axis.plot(xs, [p["p50_ms"] for p in points], marker="o", label=f"{storage} p50")
            color = line[0].get_color()
            raw = [(p[unit], p["raw_find_one"]["p50_ms"]) for p in points if "raw_find_one" in p]
            if raw:
                axis.plot(
                    [x for x, _ in raw],
                    [y for _, y in raw],
                    marker="x",
                    linestyle=":",
                    color=color,
                    label=f"{storage}: raw motor find_one p50",
                )
            if "gin" in found and found["gin"]["measured"]["p50_ms"] is not None:
                axis.plot(
                    [found["gin"]["users"]],
                    [found["gin"]["measured"]["p50_ms"]],
                    marker="*",
                    markersize=12,
                    linestyle="none",
                    color=color,
                    label=f"{storage} p50 with GIN indexes (by hand)",
                )
            axis.plot(
                xs,
                [p["p90_ms"] for p in points],
                marker=".",
                linestyle="--",
                color=color,
                label=f"{storage} p90",
            )
        axis.set_xscale("log")
        axis.set_xlabel(f"{label} (log scale)")
        axis.set_ylabel("latency, ms (one request at a time)")
        axis.set_ylim(bottom=0)
        axis.set_title(heading)
        axis.grid(True, which="both", alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize="small")
        else:
            axis.text(0.5, 0.5, "not measured in this run", ha="center", transform=axis.transAxes)
    figure.suptitle(title, fontsize="medium")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
