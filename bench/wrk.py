"""Raw GET throughput with wrk (Debian's package): a generated Lua script cycles through
prepared requests (each with its own Authorization header, so one run can spread over many
tenants) and prints wrk's summary as JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_MARK = "WRK-RESULT "

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\\n',
    "MARK", summary.requests, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
""".replace("MARK", _MARK)


@dataclass(frozen=True)
class Get:
    """One prepared request: a URL path (and query) with the bearer credential to send."""

    path: str
    token: str


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def script(gets: list[Get], host: str) -> str:
    lines = ["local prepared = {}"]
    for number, get in enumerate(gets, 1):
        # Requests prepared at load time get no Host from wrk; HTTP/1.1 needs one (RFC 9112
        # §3.2), and the transcoder refuses requests without a trusted one.
        headers = (
            f'{{["Authorization"]={_lua_string("Bearer " + get.token)}, '
            f'["Host"]={_lua_string(host)}, ["Accept"]="application/scim+json"}}'
        )
        lines.append(f'prepared[{number}] = wrk.format("GET", {_lua_string(get.path)}, {headers})')
    lines += [
        "local next_one = 0",
        "request = function()",
        "  next_one = next_one % #prepared + 1",
        "  return prepared[next_one]",
        "end",
        _DONE,
    ]
    return "\n".join(lines)


class WrkError(RuntimeError):
    pass


def available() -> bool:
    return shutil.which("wrk") is not None


def run(origin: str, gets: list[Get], seconds: float, connections: int) -> dict[str, Any]:
    """GETs for `seconds` over `connections` kept-alive connections (one wrk thread)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script(gets, origin.split("://", 1)[-1]))
    try:
        completed = subprocess.run(  # noqa: S603
            [
                shutil.which("wrk") or "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "30s",
                "-s",
                lua.name,
                origin,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    finally:
        Path(lua.name).unlink()
    for line in completed.stdout.splitlines():
        if line.startswith(_MARK):
            result: dict[str, Any] = json.loads(line.removeprefix(_MARK))
            break
    else:
        raise WrkError(f"wrk printed no result: {completed.stdout[-500:]}{completed.stderr}")
    duration = result["duration_us"] / 1e6
    failures = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    return {
        "op": "get (wrk)",
        "ok": result["requests"] - result["status"],
        "errors": failures,
        "sent": result["requests"],
        "elapsed": round(duration, 3),
        "rps": round((result["requests"] - result["status"]) / duration, 1),
        "p50_ms": result["p50_us"] / 1000,
        "p90_ms": result["p90_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "mean_ms": round(result["mean_us"] / 1000, 3),
        "wrk": result,
    }
