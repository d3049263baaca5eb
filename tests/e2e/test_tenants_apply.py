"""`scimtenancy-admin validate` and `apply` as an operator runs them against a running server:
apply creates, re-apply is unchanged, a changed limit is enforced, an isolation change moves
the tenant online, prune deletes only when asked, a dry run changes nothing, and a tenant
outside the file is left alone and never sees the file's extensions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from e2e.stack import ADMIN_TOKEN, ScimClient, Stack, running_stack, server_settings
from helpers import require_mongodb, run_admin_cli, user_body

from scimtenancy_server.domain.schema import USER_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel, PatchAnswer

BADGE = "urn:example:params:scim:schemas:extension:filed:2.0:User"
BADGE_SCHEMA = {
    "id": BADGE,
    "name": "FiledUser",
    "description": "Badge data of one tenant",
    "attributes": [{"name": "badgeNumber", "type": "string", "multiValued": False}],
}


@pytest.fixture(params=["memory", "mongodb"])
async def quick_stack(request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
    """A stack of its own (prune deletes every tenant not in the file), with a short cache
    TTL: a move waits for it once."""
    storage: str = request.param
    settings = server_settings(storage, require_mongodb() if storage == "mongodb" else "")
    settings.tenant_cache_ttl = 0.3
    async with running_stack(settings) as stack:
        yield stack


def write_file(directory: Path, *tenants: dict[str, Any]) -> Path:
    path = directory / "tenants.yaml"
    # JSON is YAML: the test writes the document it means without a YAML library.
    path.write_text(json.dumps({"version": 1, "tenants": list(tenants)}, indent=2))
    return path


async def admin(stack: Stack, *args: str) -> tuple[int, str]:
    return await run_admin_cli(stack.grpc_target, ADMIN_TOKEN, *args)


async def apply(stack: Stack, path: Path, *flags: str) -> tuple[int, str]:
    return await admin(stack, "apply", "-f", str(path), *flags)


async def client_of(stack: Stack, tenant_id: str) -> ScimClient:
    code, out = await admin(stack, "issue-key", tenant_id)
    assert code == 0, out
    return ScimClient(stack, "path", tenant_id, out.strip().splitlines()[-1])


async def test_apply_creates_and_a_second_apply_changes_nothing(
    quick_stack: Stack, tmp_path: Path
) -> None:
    path = write_file(
        tmp_path,
        {
            "id": "acme",
            "display_name": "Acme Corp",
            "isolation": "strict",
            "limits": {"users": 50, "groups": 5},
            "schema_extensions": [{"resource_type": "User", "schema": BADGE_SCHEMA}],
        },
        {
            "id": "globex",
            "isolation": "standard",
            "permissions": ["scim:read", "scim:list", "scim:create"],
            "rate_limit": {"requests_per_second": 50, "burst": 100},
            "responses": {"patch_answer": "no_content", "bulk": False},
        },
    )
    code, out = await apply(quick_stack, path)
    assert code == 0, out
    assert "+ create acme" in out
    assert "+ create globex" in out
    assert "Plan: 2 to create, 0 to update, 0 to move, 0 unchanged, 0 to delete." in out
    acme = await quick_stack.app.administration.get_tenant("acme")
    assert (acme.display_name, acme.isolation, acme.limits) == (
        "Acme Corp",
        IsolationLevel.STRICT,
        {"User": 50, "Group": 5},
    )
    assert [e.schema.id for e in acme.extensions] == [BADGE]
    globex = await quick_stack.app.administration.get_tenant("globex")
    assert {p.value for p in globex.permissions} == {"scim:read", "scim:list", "scim:create"}
    assert globex.rate_limit is not None
    assert (globex.rate_limit.requests_per_second, globex.rate_limit.burst) == (50, 100)
    assert globex.responses.patch_answer is PatchAnswer.NO_CONTENT
    assert globex.responses.bulk is False

    code, again = await apply(quick_stack, path)
    assert code == 0, again
    assert "= unchanged acme" in again
    assert "= unchanged globex" in again
    assert "nothing to do" in again


async def test_a_changed_limit_is_an_update_and_is_enforced(
    quick_stack: Stack, tmp_path: Path
) -> None:
    path = write_file(tmp_path, {"id": "limited", "limits": {"users": 1}})
    assert (await apply(quick_stack, path))[0] == 0
    scim = await client_of(quick_stack, "limited")
    assert (await scim.post("/Users", user_body("one"))).status_code == 201
    assert (await scim.post("/Users", user_body("two"))).status_code == 403

    write_file(tmp_path, {"id": "limited", "limits": {"users": 2}})
    code, out = await apply(quick_stack, path)
    assert code == 0, out
    assert "~ update limited\n    limits: users=1 -> users=2" in out
    assert (await scim.post("/Users", user_body("two"))).status_code == 201
    assert (await scim.post("/Users", user_body("three"))).status_code == 403


async def test_tenants_the_server_refuses_are_all_printed_and_the_others_applied(
    quick_stack: Stack, tmp_path: Path
) -> None:
    tenants = [{"id": "full-a"}, {"id": "spare"}, {"id": "full-b"}]
    path = write_file(tmp_path, *tenants)
    assert (await apply(quick_stack, path))[0] == 0
    for tenant_id in ("full-a", "full-b"):
        scim = await client_of(quick_stack, tenant_id)
        for name in ("one", "two"):
            assert (await scim.post("/Users", user_body(name))).status_code == 201
    lowered = [{**t, "limits": {"users": 1 if t["id"] != "spare" else 9}} for t in tenants]
    write_file(tmp_path, *lowered)
    code, out = await apply(quick_stack, path)
    assert code == 1, out
    assert "~ update spare\n    limits: no limit -> users=9" in out
    for tenant_id in ("full-a", "full-b"):
        assert (
            f"! update {tenant_id} failed: INVALID_ARGUMENT: the tenant holds 2 Users, "
            "more than the limit 1" in out
        ), out
    assert "failed: 2 tenants; every other tenant was applied" in out
    code, again = await apply(quick_stack, path)  # spare is done; the two still fail
    assert code == 1, again
    assert "= unchanged spare" in again


async def test_an_isolation_change_moves_the_tenant_with_its_data(
    quick_stack: Stack, tmp_path: Path
) -> None:
    path = write_file(tmp_path, {"id": "mover", "isolation": "standard"})
    assert (await apply(quick_stack, path))[0] == 0
    scim = await client_of(quick_stack, "mover")
    created = await scim.post("/Users", user_body("stays"))
    assert created.status_code == 201

    write_file(tmp_path, {"id": "mover", "isolation": "strict"})
    code, out = await apply(quick_stack, path)
    assert code == 0, out
    assert "> move mover\n    isolation: standard -> strict" in out
    tenant = await quick_stack.app.administration.get_tenant("mover")
    assert tenant.isolation is IsolationLevel.STRICT
    found = await scim.get(f"/Users/{created.json()['id']}")
    assert found.status_code == 200
    assert found.json()["userName"] == "stays"
    assert "= unchanged mover" in (await apply(quick_stack, path))[1]


async def test_a_tenant_absent_from_the_file_is_deleted_only_with_prune(
    quick_stack: Stack, tmp_path: Path
) -> None:
    path = write_file(tmp_path, {"id": "kept"}, {"id": "dropped"})
    assert (await apply(quick_stack, path))[0] == 0
    write_file(tmp_path, {"id": "kept"})
    code, out = await apply(quick_stack, path)
    assert code == 0, out
    assert "? would delete dropped: not in the file (--prune deletes it)" in out
    assert await quick_stack.app.administration.get_tenant("dropped")

    code, out = await apply(quick_stack, path, "--prune")
    assert code == 0, out
    assert "- delete dropped" in out
    tenants, _ = await quick_stack.app.administration.list_tenants(0, "")
    assert [t.tenant_id for t in tenants] == ["kept"]


async def test_a_dry_run_prints_the_plan_and_changes_nothing(
    quick_stack: Stack, tmp_path: Path
) -> None:
    path = write_file(tmp_path, {"id": "planned", "limits": {"users": 3}})
    code, out = await apply(quick_stack, path, "--dry-run", "--prune")
    assert code == 3, out  # changes pending
    assert "+ create planned" in out
    assert "dry run: nothing was changed" in out
    tenants, _ = await quick_stack.app.administration.list_tenants(0, "")
    assert tenants == []
    assert (await apply(quick_stack, path))[0] == 0
    code, out = await apply(quick_stack, path, "--dry-run")
    assert code == 0, out  # nothing to do


async def test_applying_a_file_leaves_other_tenants_alone(
    quick_stack: Stack, tmp_path: Path
) -> None:
    outsider = await quick_stack.tenant(IsolationLevel.STANDARD)  # made through the admin API
    before = await quick_stack.app.administration.get_tenant(outsider.tenant_id)
    user = await outsider.post("/Users", user_body("outsider"))
    assert user.status_code == 201
    path = write_file(
        tmp_path,
        {
            "id": "filed",
            "limits": {"users": 1},
            "schema_extensions": [{"resource_type": "User", "schema": BADGE_SCHEMA}],
        },
    )
    code, out = await apply(quick_stack, path)
    assert code == 0, out
    assert f"? would delete {outsider.tenant_id}" in out

    assert await quick_stack.app.administration.get_tenant(outsider.tenant_id) == before
    assert (await outsider.get(f"/Users/{user.json()['id']}")).status_code == 200
    filed = await client_of(quick_stack, "filed")
    assert BADGE in [s["id"] for s in (await filed.get("/Schemas")).json()["Resources"]]
    assert BADGE not in [s["id"] for s in (await outsider.get("/Schemas")).json()["Resources"]]
    badged = user_body("badged", schemas=[USER_SCHEMA, BADGE], **{BADGE: {"badgeNumber": "7"}})
    assert (await filed.post("/Users", badged)).status_code == 201
    assert (await outsider.post("/Users", badged)).status_code == 400
    # The file's limit is the filed tenant's only: the outsider still creates freely.
    assert (await outsider.post("/Users", user_body("second"))).status_code == 201


async def test_validate_needs_no_server_and_lists_every_problem(tmp_path: Path) -> None:
    good = write_file(tmp_path, {"id": "fine", "limits": {"users": 1}})
    code, out = await run_admin_cli("127.0.0.1:1", "", "validate", "-f", str(good))
    assert (code, out.strip()) == (0, "valid: 1 tenant, 0 JWT issuers")

    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ntenants:\n  - id: Bad\n  - id: ok\n    limits: {users: -1}\n")
    code, out = await run_admin_cli("127.0.0.1:1", "", "validate", "-f", str(bad))
    assert code == 1
    assert out.splitlines() == [
        f"{bad}:3: tenants[0].id: tenant id must be 1 to 63 lower-case letters, digits or "
        "hyphens, starting with a letter or digit",
        f"{bad}:5: tenants[1].limits.users: Input should be greater than or equal to 0",
        "invalid: 2 problems",
    ]
    code, out = await run_admin_cli("127.0.0.1:1", "", "apply", "-f", str(bad))
    assert code == 1
    assert "invalid: 2 problems" in out
