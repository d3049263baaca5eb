"""The admin CLI against a running server: the tenant lifecycle as an operator drives it."""

from __future__ import annotations

from e2e.stack import ADMIN_TOKEN, ScimClient, Stack
from helpers import run_admin_cli, unique_id, user_body


async def admin(stack: Stack, *args: str) -> tuple[int, str]:
    return await run_admin_cli(stack.grpc_target, ADMIN_TOKEN, *args)


async def test_tenant_lifecycle_from_the_cli(stack: Stack) -> None:
    tenant_id = unique_id("cli")
    code, out = await admin(stack, "create", tenant_id, "--isolation", "strict", "--max-users", "1")
    assert code == 0, out
    assert tenant_id in out
    assert "max_users=1" in out
    code, out = await admin(stack, "issue-key", tenant_id)
    assert code == 0, out
    scim = ScimClient(stack, "path", tenant_id, out.strip().splitlines()[-1])
    assert (await scim.post("/Users", user_body("one"))).status_code == 201
    assert (await scim.post("/Users", user_body("two"))).status_code == 403  # the limit

    code, out = await admin(stack, "update", tenant_id, "--name", "Renamed", "--max-users", "2")
    assert code == 0, out
    assert "Renamed" in out
    assert (await scim.post("/Users", user_body("two"))).status_code == 201

    _, listed = await admin(stack, "list")
    assert tenant_id in listed
    assert (await admin(stack, "suspend", tenant_id))[0] == 0
    assert (await scim.get("/Users")).status_code == 403
    assert (await admin(stack, "activate", tenant_id))[0] == 0
    assert (await scim.get("/Users")).status_code == 200
    _, keys = await admin(stack, "keys", tenant_id)
    assert scim.api_key not in keys

    assert (await admin(stack, "delete", tenant_id, "--yes"))[0] == 0
    assert (await scim.get("/Users")).status_code == 401
    code, out = await admin(stack, "suspend", tenant_id)
    assert code == 1
    assert "NOT_FOUND" in out


async def test_the_cli_needs_the_admin_token(stack: Stack) -> None:
    code, out = await run_admin_cli(stack.grpc_target, "wrong", "list")
    assert code == 1
    assert "UNAUTHENTICATED" in out


async def test_create_offers_the_shared_level(stack: Stack) -> None:
    code, out = await admin(stack, "create", "--help")
    assert code == 0
    assert "strict, standard or shared" in out
    # The server decides: without a shared namespace it refuses, naming what is missing.
    code, out = await admin(stack, "create", unique_id("cli"), "--isolation", "shared")
    assert code == 1
    assert "INVALID_ARGUMENT" in out
    assert "shared namespace" in out
    code, out = await admin(stack, "create", unique_id("cli"), "--isolation", "private")
    assert code == 2
    assert "isolation must be strict, standard or shared" in out
