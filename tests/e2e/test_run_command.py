"""The README's run command: embedded storage, a dev tenant, a first request."""

from __future__ import annotations

import signal

import httpx
import pytest
from e2e.dev_command import start
from helpers import user_body


@pytest.mark.parametrize("strategy", ["path", "subdomain", "header"])
def test_run_command_answers_a_first_request(strategy: str) -> None:
    process, banner = start(
        "--url-strategy",
        strategy,
        "--dev-tenant",
        "demo",
        "--dev-api-key",
        "demo-key",
        "--base-domain",
        "scim.test",
    )
    try:
        base = banner["SCIM base URL"]
        assert banner["dev tenant"].startswith("demo")
        port = base.split(":")[2].split("/")[0]
        headers = {"Authorization": "Bearer demo-key"}
        url = f"http://127.0.0.1:{port}/scim/v2/Users"
        if strategy == "path":
            url = f"{base}/Users"
        elif strategy == "subdomain":
            headers["Host"] = f"demo.scim.test:{port}"
        else:
            headers["X-Tenant-ID"] = "demo"
        response = httpx.post(url, json=user_body("first"), headers=headers, timeout=30)
        assert response.status_code == 201, response.text
        assert response.headers["location"] == f"{base}/Users/{response.json()['id']}"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        if process.stdout is not None:
            process.stdout.close()
