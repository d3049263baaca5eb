"""An internal caller written in Go (tests/go_client, on the stubs committed in protos/gen/go)
creates, gets and lists Users over gRPC with an API key: the contract is language-neutral, the
SCIM error arrives in the status details, and the tenant still comes from the key."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e.stack import Stack
from helpers import user_body

from scimtenancy_server.domain.tenant import IsolationLevel

ROOT = Path(__file__).resolve().parents[2]
GO_CLIENT = ROOT / "tests" / "go_client"
GO_STUBS = ROOT / "protos" / "gen" / "go"


def _go_build(go: str, directory: Path, *args: str) -> None:
    # -mod=readonly: a go.mod or go.sum that does not match the code fails here.
    built = subprocess.run(
        [go, "build", "-mod=readonly", *args],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        pytest.fail(f"go build in {directory.relative_to(ROOT)} failed:\n{built.stderr}")


@pytest.fixture(scope="session")
def go_client_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go client, built once per run (Go's build cache makes rebuilds cheap)."""
    go = shutil.which("go")
    if go is None:
        pytest.fail("`go` is not on PATH: the Go toolchain is a prerequisite (see README)")
    _go_build(go, GO_STUBS, "./...")  # every generated package compiles, used here or not
    binary = tmp_path_factory.mktemp("go_client") / "go_client"
    _go_build(go, GO_CLIENT, "-o", str(binary), ".")
    return binary


@dataclass
class GoCaller:
    binary: Path
    target: str
    api_key: str

    async def call(self, *command: str) -> tuple[int, dict[str, Any]]:
        """Runs one command; returns the exit status (0 done, 1 RPC error) and the JSON line."""
        process = await asyncio.create_subprocess_exec(
            str(self.binary),
            "-target",
            self.target,
            *command,
            env={**os.environ, "SCIMTENANCY_API_KEY": self.api_key},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await process.communicate()
        assert process.returncode in (0, 1), stderr.decode()
        printed: dict[str, Any] = json.loads(stdout)
        return process.returncode, printed

    async def create_user(self, user_name: str) -> dict[str, Any]:
        status, printed = await self.call("create", "-json", json.dumps(user_body(user_name)))
        assert status == 0, printed
        return printed


async def go_caller(stack: Stack, binary: Path, isolation: IsolationLevel) -> GoCaller:
    scim = await stack.tenant(isolation)
    return GoCaller(binary, stack.grpc_target, scim.api_key)


async def test_go_client_creates_gets_and_lists_users(
    stack: Stack, isolation: IsolationLevel, go_client_binary: Path
) -> None:
    scim = await stack.tenant(isolation)
    go = GoCaller(go_client_binary, stack.grpc_target, scim.api_key)

    created = await go.create_user("gopher")
    assert created["resourceType"] == "User"
    assert created["userName"] == "gopher"
    assert created["id"]
    assert created["version"]

    assert await go.call("get", "-id", created["id"]) == (0, created)
    assert await go.call("get", "-type", "Users", "-id", created["id"]) == (0, created)

    await go.create_user("another-gopher")
    listed = await go.call("list", "-filter", 'userName eq "gopher"')
    assert listed == (0, {"totalResults": 1, "resources": [created]})
    status, everyone = await go.call("list")
    assert status == 0
    assert everyone["totalResults"] == 2
    assert {r["userName"] for r in everyone["resources"]} == {"gopher", "another-gopher"}

    # The Go caller and an identity provider over HTTP see the same resource.
    over_http = (await scim.get(f"/Users/{created['id']}")).json()
    assert (over_http["userName"], over_http["meta"]["version"]) == ("gopher", created["version"])


async def test_go_client_gets_scim_errors_from_the_status_details(
    stack: Stack, go_client_binary: Path
) -> None:
    go = await go_caller(stack, go_client_binary, IsolationLevel.STANDARD)
    await go.create_user("taken")

    status, printed = await go.call("create", "-json", json.dumps(user_body("taken")))
    assert status == 1
    assert printed["error"]["code"] == "AlreadyExists"
    assert printed["error"]["scim"]["status"] == 409
    assert printed["error"]["scim"]["scimType"] == "uniqueness"

    status, printed = await go.call("list", "-filter", "userName eq")
    assert status == 1
    assert printed["error"]["code"] == "InvalidArgument"
    assert printed["error"]["scim"]["status"] == 400
    assert printed["error"]["scim"]["scimType"] == "invalidFilter"


async def test_go_client_with_an_unknown_key_is_unauthenticated(
    stack: Stack, go_client_binary: Path
) -> None:
    go = await go_caller(stack, go_client_binary, IsolationLevel.STANDARD)
    created = await go.create_user("guarded")

    for key in ("not-a-key", f"{go.api_key}x"):
        stranger = GoCaller(go_client_binary, stack.grpc_target, key)
        for command in (("get", "-id", created["id"]), ("list",)):
            status, printed = await stranger.call(*command)
            assert status == 1
            assert printed["error"]["code"] == "Unauthenticated"
            assert printed["error"]["scim"]["status"] == 401
            assert key not in json.dumps(printed)  # the credential is never echoed back


async def test_go_client_of_another_tenant_cannot_reach_the_user(
    stack: Stack, isolation: IsolationLevel, go_client_binary: Path
) -> None:
    owner = await go_caller(stack, go_client_binary, isolation)
    intruder = await go_caller(stack, go_client_binary, isolation)
    created = await owner.create_user("secret-gopher")

    status, printed = await intruder.call("get", "-id", created["id"])
    assert status == 1
    assert printed["error"]["code"] == "NotFound"
    assert printed["error"]["scim"]["status"] == 404
    assert await intruder.call("list", "-filter", 'userName eq "secret-gopher"') == (
        0,
        {"totalResults": 0, "resources": []},
    )
    # The name is free in the intruder's tenant, and taking it leaves the owner's user alone.
    assert (await intruder.create_user("secret-gopher"))["id"] != created["id"]
    assert await owner.call("get", "-id", created["id"]) == (0, created)
