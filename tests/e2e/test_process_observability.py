"""A real process as operators run it: JSON log lines that carry the request id, trace id and
tenant; a Prometheus `/metrics` endpoint; and no credential anywhere in what it writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from e2e.dev_command import DEV_COMMAND
from helpers import free_port, user_body

API_KEY = "observed-api-key-7f3a9c"
WRONG_KEY = "wrong-api-key-51e0b2"
JWT_LIKE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJlLXZhbHVl"
REQUEST_ID = "req-observed-1"
KEY_FLAG = ("--dev-api-key", API_KEY)


def _metric_value(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def _scrape_until(url: str, expected: float, name: str, **labels: str) -> str:
    """The metrics page once the metric shows the value (gauges are recounted in the
    background), or after 30 s."""
    deadline = time.monotonic() + 30
    while True:
        text = httpx.get(url, timeout=10).text
        if _metric_value(text, name, **labels) == expected or time.monotonic() > deadline:
            return text


def test_json_logs_metrics_and_no_secrets(tmp_path: Path) -> None:
    http_port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "SCIMTENANCY_LOG_FORMAT": "json",
        "SCIMTENANCY_LOG_LEVEL": "debug",
        "SCIMTENANCY_METRICS_PORT": str(metrics_port),
        "SCIMTENANCY_METRICS_REFRESH_SECONDS": "0.2",
        "OTEL_TRACES_EXPORTER": "console",
    }
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    with stdout.open("w") as out, stderr.open("w") as err:
        process = subprocess.Popen(
            [str(DEV_COMMAND), "--http-port", str(http_port), "--grpc-port", "0", *KEY_FLAG],
            stdout=out,
            stderr=err,
            env=env,
        )
    base = f"http://127.0.0.1:{http_port}/tenants/dev/scim/v2"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None, stderr.read_text()
                assert time.monotonic() < deadline, "the service did not start"
        created = httpx.post(
            f"{base}/Users",
            json=user_body("observed.person"),
            headers={"Authorization": f"Bearer {API_KEY}", "X-Request-ID": REQUEST_ID},
        )
        assert created.status_code == 201, created.text
        assert created.headers["x-request-id"] == REQUEST_ID
        for bad in (WRONG_KEY, JWT_LIKE):
            refused = httpx.get(f"{base}/Users", headers={"Authorization": f"Bearer {bad}"})
            assert refused.status_code == 401

        url = f"http://127.0.0.1:{metrics_port}/metrics"
        users = {"tenant_id": "dev", "scim_resource_type": "User"}
        page = _scrape_until(url, 1.0, "scim_resources", **users)
        assert _metric_value(page, "scim_resources", **users) == 1.0
        ok = {"tenant_id": "dev", "scim_operation": "create", "scim_outcome": "ok"}
        assert _metric_value(page, "scim_operations_total", **ok) == 1.0
        assert _metric_value(page, "scim_operations_total", tenant_id="unresolved") == 2.0
        created_http = {"http_request_method": "POST", "scim_route": "create"}
        assert _metric_value(page, "http_server_request_duration_seconds_count", **created_http)
        # Millisecond-fine buckets, as the server's histogram, so that quantiles mean something.
        fine = {**created_http, "le": "0.005"}
        assert (
            _metric_value(page, "http_server_request_duration_seconds_bucket", **fine) is not None
        )
        # Two processes, one page: each family once, as Prometheus requires (a family named
        # twice makes the whole scrape fail).
        families = [line.split()[2] for line in page.splitlines() if line.startswith("# TYPE ")]
        assert "target_info" in families
        assert len(families) == len(set(families)), sorted(families)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0

    lines: list[dict[str, Any]] = [json.loads(line) for line in stderr.read_text().splitlines()]
    # A stop is quiet: the tracing instrumentation of a health `Watch` stream still open at
    # shutdown logged "Failed to detach context" with a traceback on every stop.
    assert [line for line in lines if line["level"] in ("error", "critical")] == []
    mine = [line for line in lines if line.get("request_id") == REQUEST_ID]
    access = next(line for line in mine if line["logger"] == "scimtenancy_transcoder.access")
    assert access["http.status"] == 201
    assert access["http.path"] == "/tenants/dev/scim/v2/Users"
    assert access["tenant"] == "dev"
    rpc = next(line for line in mine if line["logger"] == "scimtenancy_server.rpc")
    assert rpc["tenant"] == "dev"
    assert rpc["scim.operation"] == "create"
    assert len(access["trace_id"]) == 32
    assert rpc["trace_id"] == access["trace_id"]  # one trace across the gRPC hop

    # The banner shows the development key on purpose; everything after it must not.
    banner, _, spans = stdout.read_text().partition(""""userName":"bjensen"}'\n""")
    assert API_KEY in banner
    written = spans + stderr.read_text()
    assert '"name": "scim.create"' in written  # the console exporter did print spans
    assert "grpc.health.v1.Health" not in spans  # probes and watches are no request's
    for secret in (API_KEY, WRONG_KEY, JWT_LIKE, "observed.person"):
        assert secret not in written
