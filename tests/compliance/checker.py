"""Runs one compliance checker against a base URL and prints its totals as JSON on the last
line. Host names under `.scim.test` resolve to 127.0.0.1 here, the way /etc/hosts would, so
the subdomain strategy can be checked on loopback. Client sockets get TCP_NODELAY: the
checkers' HTTP clients write headers and body separately, and Nagle's algorithm against
delayed ACKs would otherwise add 40 ms to every request on a kept-alive connection.

    python checker.py scim2-tester|scim-sanity BASE_URL TOKEN
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import socket
import sys
from typing import Any

_resolve = socket.getaddrinfo
_connect = socket.create_connection


def _loopback_for_test_domain(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, str) and host.endswith(".scim.test"):
        host = "127.0.0.1"
    return _resolve(host, *args, **kwargs)


def _connect_without_delay(*args: Any, **kwargs: Any) -> socket.socket:
    sock = _connect(*args, **kwargs)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def run_scim2_tester(base_url: str, token: str) -> dict[str, Any]:
    from httpx2 import Client
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import Status, check_server

    http = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    results = check_server(SyncSCIMClient(http))
    counts = collections.Counter(r.status.name for r in results)
    failures = [
        f"{r.resource_type or '-'}:{r.title}: {r.reason}"
        for r in results
        if r.status in (Status.ERROR, Status.CRITICAL)
    ]
    return {"total": len(results), "counts": counts, "failures": failures}


def run_scim_sanity(base_url: str, token: str) -> dict[str, Any]:
    from scim_sanity.cli import main

    argv = [
        "scim-sanity",
        "probe",
        base_url,
        "--token",
        token,
        "--i-accept-side-effects",
        "--json-output",
    ]
    out = io.StringIO()
    sys.argv = argv
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main()
    report = json.loads(out.getvalue())
    results = report.get("results", [])
    counts = collections.Counter(str(r.get("status", "")).upper() for r in results)
    failures = [
        f"{r.get('name')}: {r.get('message')}"
        for r in results
        if str(r.get("status", "")).upper() in ("FAIL", "ERROR")
    ]
    return {"total": len(results), "counts": counts, "failures": failures}


def main() -> None:
    socket.getaddrinfo = _loopback_for_test_domain
    socket.create_connection = _connect_without_delay
    tool, base_url, token = sys.argv[1:4]
    run = run_scim2_tester if tool == "scim2-tester" else run_scim_sanity
    print(json.dumps(run(base_url, token)))


if __name__ == "__main__":
    main()
