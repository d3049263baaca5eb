"""`scimtenancy-migrate from-mongodb … --cleanup-source` against FerretDB: the source's migrated
documents go only when every one of them is in the tenant with its content and the counts
agree; otherwise nothing goes. Only the documents the run read are removed, by `_id`; other
tenants, other collections and other databases are never touched; a fault mid-way is reported
and running again finishes the job."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import typer
from e2e.test_migration import legacy_user, run
from helpers import require_mongodb, unique_id, user_body
from pymongo.errors import AutoReconnect

from scimtenancy_common.settings import Settings
from scimtenancy_server import migrate_cli
from scimtenancy_server.bootstrap import Application, build_application
from scimtenancy_server.domain.schema import GROUP, GROUP_SCHEMA, USER
from scimtenancy_server.domain.tenant import IsolationLevel, Tenant, TenantContext
from scimtenancy_server.services.migration import MongoStore, Target, clean_up, migrate
from scimtenancy_server.storage.mongo import connect

pytestmark = pytest.mark.mongodb


def legacy_group(group_id: str, *members: str) -> dict[str, Any]:
    return {
        "_id": group_id,
        "id": group_id,
        "schemas": [GROUP_SCHEMA],
        "displayName": group_id,
        "members": [{"value": m} for m in members],
    }


def counted(out: str, database: str, collection: str) -> int:
    """The count the clean-up table shows for `database.collection`."""
    found = re.search(rf"{re.escape(database)}\.{collection}\s*│\s*(\d+)", out)
    assert found, out
    return int(found.group(1))


STORE = [legacy_user("u1", "ann"), legacy_user("u2", "bob"), legacy_user("u3", "cid")]


@dataclass
class World:
    app: Application
    client: Any
    uri: str
    target_db: str
    legacy_db: str  # the single-tenant store being migrated
    bystander_db: str  # another store, never migrated here

    def source_args(self, tenant: Tenant) -> list[str]:
        return ["from-mongodb", tenant.tenant_id, "--source-uri", self.uri]

    def cli(self, tenant: Tenant, *args: str) -> tuple[int, str]:
        base = self.source_args(tenant)
        return run(self.uri, self.target_db, *base, "--source-database", self.legacy_db, *args)

    async def source_ids(self, collection: str, database: str | None = None) -> list[str]:
        found = self.client[database or self.legacy_db][collection].find().sort("_id", 1)
        return [document["_id"] async for document in found]

    def target(self, tenant: Tenant) -> Target:
        return Target(self.app.resources, self.app.repository, TenantContext(tenant, "test"))

    async def user_ids(self, tenant: Tenant) -> list[str]:
        page = await self.app.repository.list(tenant, USER, None, 0, 100)
        return [r.id for r in page.resources]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    uri = require_mongodb()
    names = [f"scimtenancy_clean_{uuid.uuid4().hex[:8]}" for _ in range(3)]
    client = connect(uri)
    for database in names[1:]:
        await client[database]["users"].insert_many(STORE)
        await client[database]["groups"].insert_one(legacy_group("g1", "u1", "u2"))
        await client[database]["settings"].insert_one({"_id": "smtp", "host": "mail"})
    app = build_application(Settings(storage="mongodb", mongodb_uri=uri, mongodb_database=names[0]))
    try:
        yield World(app, client, uri, *names)
    finally:
        await app.close()
        for database in names:
            await client.drop_database(database)
        client.close()


@pytest.mark.parametrize("isolation", [IsolationLevel.STRICT, IsolationLevel.STANDARD])
async def test_cleanup_after_a_full_migration_removes_only_what_was_migrated(
    world: World, isolation: IsolationLevel
) -> None:
    admin = world.app.administration
    acme = await admin.create_tenant(unique_id("acme"), "", isolation)
    other = await admin.create_tenant(unique_id("other"), "", isolation)
    # The tenant already had a resource of its own, and another tenant holds the same ids.
    own = await world.app.resources.create(
        TenantContext(acme, "test"), "Users", orjson.dumps(user_body("own"))
    )
    code, out = run(
        world.uri,
        world.target_db,
        *world.source_args(other),
        "--source-database",
        world.bystander_db,
    )
    assert code == 0, out

    code, out = world.cli(acme, "--cleanup-source", "--dry-run")
    assert code == 0, out
    assert "would remove" in out
    assert counted(out, world.legacy_db, "users") == 3
    assert await world.source_ids("users") == ["u1", "u2", "u3"]
    assert await world.user_ids(acme) == sorted([own.id])

    code, out = world.cli(acme, "--cleanup-source")
    assert code == 0, out
    assert counted(out, world.legacy_db, "users") == 3
    assert counted(out, world.legacy_db, "groups") == 1
    assert await world.source_ids("users") == []
    assert await world.source_ids("groups") == []
    assert await world.source_ids("settings") == ["smtp"]  # not read: not removed
    assert await world.user_ids(acme) == sorted(["u1", "u2", "u3", own.id])
    members = world.app.repository.memberships.members(acme, "g1")
    assert [m.value async for m in members] == ["u1", "u2"]
    # Nothing of the other tenant nor of the other store went.
    assert await world.user_ids(other) == ["u1", "u2", "u3"]
    assert await world.app.repository.get(other, GROUP, "g1") is not None
    assert await world.source_ids("users", world.bystander_db) == ["u1", "u2", "u3"]
    assert await world.source_ids("groups", world.bystander_db) == ["g1"]

    code, out = world.cli(acme, "--cleanup-source")
    assert code == 0, out  # run again: nothing left to remove, and that is no failure
    assert counted(out, world.legacy_db, "users") == 0


async def test_a_failed_resource_leaves_the_source_untouched(world: World) -> None:
    acme = await world.app.administration.create_tenant(unique_id("acme"), "", None)
    await world.client[world.legacy_db]["users"].insert_one(legacy_user("zz-bad", None))

    code, out = world.cli(acme, "--cleanup-source")
    assert code == 1, out
    assert "failed User zz-bad" in out
    assert "not cleaned up: 1 documents were not migrated" in out
    assert "nothing was removed from the source" in out
    assert await world.source_ids("users") == ["u1", "u2", "u3", "zz-bad"]
    assert await world.source_ids("groups") == ["g1"]
    assert await world.user_ids(acme) == ["u1", "u2", "u3"]  # the migration itself ran


async def test_a_resource_changed_in_the_tenant_keeps_the_source(world: World) -> None:
    acme = await world.app.administration.create_tenant(unique_id("acme"), "", None)
    code, out = world.cli(acme)
    assert code == 0, out
    ctx = TenantContext(acme, "test")
    body = orjson.dumps(user_body("robert"))
    await world.app.resources.replace(ctx, "Users", "u2", body, if_match="")

    code, out = world.cli(acme, "--cleanup-source")
    assert code == 1, out
    assert "differs User u2" in out
    assert "1 resources of the tenant differ from their source document" in out
    assert await world.source_ids("users") == ["u1", "u2", "u3"]


async def test_two_source_documents_for_one_resource_fail_the_count_check(world: World) -> None:
    acme = await world.app.administration.create_tenant(unique_id("acme"), "", None)
    copy = {**legacy_user("u1", "ann"), "_id": "u1-copy"}
    await world.client[world.legacy_db]["users"].insert_one(copy)

    code, out = world.cli(acme, "--cleanup-source")
    assert code == 1, out
    assert "User: the source holds 4 documents, the run read 4, and 3 of their ids" in out
    assert await world.source_ids("users") == ["u1", "u1-copy", "u2", "u3"]


async def test_a_target_resource_deleted_before_cleanup_fails_the_count_check(
    world: World,
) -> None:
    acme = await world.app.administration.create_tenant(unique_id("acme"), "", None)
    target, store = world.target(acme), MongoStore(world.client[world.legacy_db])
    report = await migrate(target, store.documents())
    assert report.migrated == {"User": 3, "Group": 1}
    assert await world.app.repository.delete(acme, USER, "u3", expected_version=None)

    cleanup = await clean_up(target, store, report)
    assert cleanup.refusals == [
        "User: the source holds 3 documents, the run read 3, and 2 of their ids are "
        "resources of the tenant"
    ]
    assert cleanup.removed == {"User": 0, "Group": 0}
    assert await world.source_ids("users") == ["u1", "u2", "u3"]
    assert await world.source_ids("groups") == ["g1"]


async def test_a_document_written_to_the_source_after_the_read_stays(world: World) -> None:
    acme = await world.app.administration.create_tenant(unique_id("acme"), "", None)
    target, store = world.target(acme), MongoStore(world.client[world.legacy_db])
    report = await migrate(target, store.documents())
    await world.client[world.legacy_db]["users"].insert_one(legacy_user("u4", "dan"))

    cleanup = await clean_up(target, store, report)
    assert cleanup.refusals == [
        "User: the source holds 4 documents, the run read 3, and 3 of their ids are "
        "resources of the tenant"
    ]
    assert await world.source_ids("users") == ["u1", "u2", "u3", "u4"]


async def test_a_document_changed_in_the_source_after_the_checks_is_kept(world: World) -> None:
    acme = await world.app.administration.create_tenant(unique_id("acme"), "", None)
    target, store = world.target(acme), MongoStore(world.client[world.legacy_db])
    report = await migrate(target, store.documents())
    users = world.client[world.legacy_db]["users"]
    await users.update_one({"_id": "u2"}, {"$set": {"userName": "robert"}})

    cleanup = await clean_up(target, store, report)
    assert cleanup.refusals == []
    assert cleanup.kept == [("User", "u2")]
    assert cleanup.removed == {"User": 2, "Group": 1}
    assert await world.source_ids("users") == ["u2"]


async def test_another_tenants_copies_do_not_vouch_for_this_tenant(world: World) -> None:
    admin = world.app.administration
    acme = await admin.create_tenant(unique_id("acme"), "", IsolationLevel.STRICT)
    other = await admin.create_tenant(unique_id("other"), "", IsolationLevel.STRICT)
    store = MongoStore(world.client[world.legacy_db])
    report = await migrate(world.target(other), store.documents())
    assert report.migrated == {"User": 3, "Group": 1}

    cleanup = await clean_up(world.target(acme), store, report)
    assert len(cleanup.refusals) == 2
    assert "0 of their ids are resources of the tenant" in cleanup.refusals[0]
    assert await world.source_ids("users") == ["u1", "u2", "u3"]
    assert await world.user_ids(acme) == []


class FailingDeletes:
    """The store's database, whose `fail_at`-th delete fails as a dropped connection does."""

    def __init__(self, database: Any, fail_at: int) -> None:
        self.database, self.fail_at, self.deletes = database, fail_at, 0
        self.name = database.name

    def __getitem__(self, name: str) -> Any:
        return _FailingCollection(self, self.database[name])


class _FailingCollection:
    def __init__(self, owner: FailingDeletes, collection: Any) -> None:
        self.owner, self.collection = owner, collection

    def __getattr__(self, name: str) -> Any:
        return getattr(self.collection, name)

    async def delete_many(self, selector: dict[str, Any]) -> Any:
        self.owner.deletes += 1
        if self.owner.deletes == self.owner.fail_at:
            raise AutoReconnect("connection closed")
        return await self.collection.delete_many(selector)


async def test_a_fault_mid_cleanup_exits_non_zero_and_a_second_run_finishes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = await world.app.administration.create_tenant(unique_id("acme"), "", None)
    users = world.client[world.legacy_db]["users"]
    await users.insert_many([legacy_user(f"u{i}", f"user{i}") for i in range(4, 8)])
    for name, value in {"STORAGE": "mongodb", "MONGODB_URI": world.uri}.items():
        monkeypatch.setenv(f"SCIMTENANCY_{name}", value)
    monkeypatch.setenv("SCIMTENANCY_MONGODB_DATABASE", world.target_db)
    monkeypatch.setattr(migrate_cli.console, "width", 200)

    @asynccontextmanager
    async def failing_store() -> AsyncIterator[MongoStore]:
        client = connect(world.uri)  # on the command's own event loop
        try:
            yield MongoStore(FailingDeletes(client[world.legacy_db], fail_at=3))
        finally:
            client.close()

    def command() -> tuple[int, str]:
        code = 0
        with migrate_cli.console.capture() as captured:
            try:
                migrate_cli._run_and_clean_up(acme.tenant_id, failing_store, False, batch=3)
            except typer.Exit as done:
                code = done.exit_code
        return code, captured.get()

    code, out = await asyncio.to_thread(command)
    assert code == 1, out
    assert "clean-up stopped (the database is unavailable" in out
    assert "after removing 4 documents; run again to finish" in out
    # The group went, then one batch of three users; the second batch's delete failed.
    assert await world.source_ids("users") == ["u4", "u5", "u6", "u7"]
    assert await world.source_ids("groups") == []

    code, out = world.cli(acme, "--cleanup-source")
    assert code == 0, out
    assert counted(out, world.legacy_db, "users") == 4
    assert counted(out, world.legacy_db, "groups") == 0
    assert await world.source_ids("users") == []
    assert len(await world.user_ids(acme)) == 7


def test_limit_cannot_go_with_cleanup() -> None:
    done_code, out = run(
        "mongodb://127.0.0.1:1",
        "unused",
        "from-mongodb",
        "acme",
        "--source-uri",
        "mongodb://127.0.0.1:1",
        "--source-database",
        "x",
        "--limit",
        "2",
        "--cleanup-source",
    )
    assert done_code == 2, out
    assert "not with --cleanup-source" in out
