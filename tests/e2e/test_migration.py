"""Migration from a single-tenant store, export and import, through the real CLI and FerretDB:
dry run, an interrupted run, the resumed run, and a report of what failed and why; and the
re-fold of shadow fields written by older code."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from contract.test_refold import PEOPLE, written_the_old_way
from helpers import require_mongodb, unique_id

from scimtenancy_common.settings import Settings
from scimtenancy_server.bootstrap import Application, build_application
from scimtenancy_server.domain.filter import parse_filter
from scimtenancy_server.domain.schema import GROUP, GROUP_SCHEMA, USER, USER_SCHEMA
from scimtenancy_server.domain.tenant import IsolationLevel
from scimtenancy_server.storage.mongo import connect

CLI = Path(sys.executable).parent / "scimtenancy-migrate"


def legacy_user(resource_id: str, user_name: str | None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "_id": resource_id,
        "id": resource_id,
        "schemas": [USER_SCHEMA],
        "meta": {"resourceType": "User"},
    }
    if user_name:
        document["userName"] = user_name
    return document


@pytest.fixture
async def target() -> AsyncIterator[tuple[Application, str, str, str]]:
    uri = require_mongodb()
    databases = [f"scimtenancy_mig_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    target_db, legacy_db = databases
    client = connect(uri)
    await client[legacy_db]["users"].insert_many(
        [
            legacy_user("u1", "ann"),
            legacy_user("u2", "bob"),
            legacy_user("u3", "cid"),
            legacy_user("zz-bad", None),
        ]
    )
    await client[legacy_db]["groups"].insert_one(
        {
            "_id": "g1",
            "id": "g1",
            "schemas": [GROUP_SCHEMA],
            "displayName": "Staff",
            "members": [{"value": "u1"}, {"value": "u2"}],
        }
    )
    app = build_application(
        Settings(storage="mongodb", mongodb_uri=uri, mongodb_database=target_db)
    )
    try:
        yield app, uri, target_db, legacy_db
    finally:
        await app.close()
        for name in databases:
            await client.drop_database(name)
        client.close()


def run(uri: str, database: str, *args: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "SCIMTENANCY_STORAGE": "mongodb",
        "SCIMTENANCY_MONGODB_URI": uri,
        "SCIMTENANCY_MONGODB_DATABASE": database,
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [str(CLI), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    return done.returncode, done.stdout + done.stderr


async def test_migrate_resume_export_and_import(
    target: tuple[Application, str, str, str], tmp_path: Path
) -> None:
    app, uri, target_db, legacy_db = target
    acme = await app.administration.create_tenant(unique_id("acme"), "", IsolationLevel.STRICT)
    other = await app.administration.create_tenant(unique_id("other"), "", None)
    source = ["--source-uri", uri, "--source-database", legacy_db]

    async def users(tenant: Any) -> list[str]:
        page = await app.repository.list(tenant, USER, None, 0, 100)
        return [r.id for r in page.resources]

    code, out = run(uri, target_db, "from-mongodb", acme.tenant_id, *source, "--dry-run")
    assert code == 1, out  # the report names the invalid user
    assert "zz-bad" in out
    assert "userName" in out
    assert await users(acme) == []

    code, out = run(uri, target_db, "from-mongodb", acme.tenant_id, *source, "--limit", "2")
    assert code == 0, out  # interrupted after two resources
    assert await users(acme) == ["u1", "u2"]

    code, out = run(uri, target_db, "from-mongodb", acme.tenant_id, *source)
    assert code == 1, out
    assert await users(acme) == ["u1", "u2", "u3"]
    assert await app.repository.get(acme, GROUP, "g1") is not None
    staff = [m.value async for m in app.repository.memberships.members(acme, "g1")]
    assert staff == ["u1", "u2"]
    assert await users(other) == []

    export = tmp_path / "acme.jsonl"
    code, out = run(uri, target_db, "export", acme.tenant_id, str(export))
    assert code == 0, out
    assert len(export.read_text().splitlines()) == 4
    code, out = run(uri, target_db, "from-jsonl", other.tenant_id, str(export))
    assert code == 0, out
    assert await users(other) == ["u1", "u2", "u3"]
    assert await app.repository.get(other, GROUP, "g1") is not None
    code, out = run(uri, target_db, "from-jsonl", other.tenant_id, str(export))
    assert code == 0, out  # idempotent: everything is skipped the second time
    assert "differs" not in out  # an export's resources hold what they were imported from
    assert await users(other) == ["u1", "u2", "u3"]


async def test_refold_shadow_fields_through_the_cli(
    target: tuple[Application, str, str, str],
) -> None:
    app, uri, target_db, _ = target
    acme = await app.administration.create_tenant(unique_id("acme"), "", IsolationLevel.STRICT)
    client = connect(uri)
    try:
        await written_the_old_way(client[target_db], acme, PEOPLE[:3])
    finally:
        client.close()

    async def found(name: str) -> list[str]:
        where = parse_filter(f'userName eq "{name}"')
        return [r.id for r in (await app.repository.list(acme, USER, where, 0, 10)).resources]

    assert await found("café") == []  # NFD stored, lower-cased: an NFC lookup misses it
    code, out = run(uri, target_db, "refold-shadow-fields", "--page-size", "2")
    assert code == 1, out  # u2 and u3 are one name now: reported, not merged
    assert f"collision t.{acme.tenant_id}.users tenant {acme.tenant_id}" in out
    assert "u2-strasse is now the same name as u3-strasse" in out
    assert await found("CAFÉ") == ["u1-cafe"]
    assert await found("straße") == ["u3-strasse"]

    assert await app.repository.delete(acme, USER, "u3-strasse", expected_version=None)
    code, out = run(uri, target_db, "refold-shadow-fields")
    assert code == 0, out
    assert "collision" not in out
    assert await found("STRASSE") == ["u2-strasse"]


def test_refold_on_embedded_storage_has_nothing_to_do() -> None:
    done = subprocess.run(
        [str(CLI), "refold-shadow-fields"],
        env={**os.environ, "SCIMTENANCY_STORAGE": "memory"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "nothing to re-fold" in done.stdout


async def test_an_unreachable_source_stops_with_a_message_not_a_traceback(
    target: tuple[Application, str, str, str],
) -> None:
    app, uri, target_db, _ = target
    acme = await app.administration.create_tenant(unique_id("acme"), "", None)
    nowhere = ["--source-uri", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300"]
    for extra in ([], ["--cleanup-source"]):
        code, out = run(
            uri, target_db, "from-mongodb", acme.tenant_id, *nowhere,
            "--source-database", "x", *extra,
        )  # fmt: skip
        assert code == 1, out
        assert "stopped: the database failed" in out
        assert "Traceback" not in out
    missing_code, missing = run(
        uri, target_db, "from-mongodb", "no-such-tenant", *nowhere, "--source-database", "x"
    )
    assert missing_code == 1, missing
    assert "stopped:" in missing
    assert "Traceback" not in missing
