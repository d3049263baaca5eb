"""Small builders shared by the tests."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from scimtenancy_server.domain.clock import utc_now
from scimtenancy_server.domain.schema import USER_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant, TenantStatus


def unique_id(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_tenant(
    isolation: IsolationLevel = IsolationLevel.STANDARD, limits: dict[str, int] | None = None
) -> Tenant:
    return Tenant(
        unique_id(), "Test tenant", isolation, TenantStatus.ACTIVE, utc_now(), limits or {}
    )


def user_body(user_name: str, **attributes: Any) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA], "userName": user_name, **attributes}


def require_mongodb() -> str:
    """The test database's URI; scripts/test sets SCIMTENANCY_REQUIRE_MONGODB=1 so that a
    missing database fails the run instead of skipping the storage tests."""
    uri = os.environ.get("MONGODB_URI", "")
    if not uri:
        if os.environ.get("SCIMTENANCY_REQUIRE_MONGODB") == "1":
            pytest.fail("MONGODB_URI is not set but SCIMTENANCY_REQUIRE_MONGODB=1")
        pytest.skip("MONGODB_URI is not set; run the README's test command")
    return uri


ADMIN_CLI = Path(sys.executable).parent / "scimtenancy-admin"


async def run_admin_cli(target: str, token: str, *args: str) -> tuple[int, str]:
    """`scimtenancy-admin --target T --token K ARGS` as a user runs it: exit code and output."""
    process = await asyncio.create_subprocess_exec(
        str(ADMIN_CLI),
        "--target",
        target,
        "--token",
        token,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the moment of asking."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LoopTurns:
    """Counts the turns other tasks get on the event loop while a block runs: work that
    yields lets this counter run between its steps."""

    def __init__(self) -> None:
        self.count = 0
        self._task: asyncio.Task[None] | None = None

    async def _count(self) -> None:
        while True:
            await asyncio.sleep(0)
            self.count += 1

    async def __aenter__(self) -> LoopTurns:
        self._task = asyncio.create_task(self._count())
        await asyncio.sleep(0)  # the counter is waiting for its first turn
        self.count = 0
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
