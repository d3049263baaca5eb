"""`scimtenancy-migrate`: move resources into a tenant, export a tenant, or bring stored
data up to the current code.

The target storage is the server's (SCIMTENANCY_STORAGE, SCIMTENANCY_MONGODB_URI, ...):

    scimtenancy-migrate from-mongodb acme --source-uri mongodb://old --source-database scim
    scimtenancy-migrate from-mongodb acme --source-uri ... --source-database scim --cleanup-source
    scimtenancy-migrate from-jsonl acme export.jsonl --dry-run
    scimtenancy-migrate export acme export.jsonl
    scimtenancy-migrate refold-shadow-fields
    scimtenancy-migrate memberships [TENANT]
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pymongo.errors import PyMongoError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from scimtenancy_common.settings import Settings
from scimtenancy_server.bootstrap import Application, build_application
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.tenant import TenantContext
from scimtenancy_server.services.migration import (
    CLEANUP_BATCH,
    CleanupReport,
    MigrationReport,
    MongoStore,
    Source,
    Target,
    clean_up,
    export_jsonl,
    jsonl_source,
    migrate,
)
from scimtenancy_server.storage.mongo_driver import close, connect
from scimtenancy_server.storage.mongo_refold import RefoldReport, refold_shadow_fields

app = typer.Typer(
    help="Migrate resources into a tenant, export one, or re-fold stored lookup fields.",
    no_args_is_help=True,
)
console = Console()
T = TypeVar("T")


def _finish(work: Awaitable[T]) -> T:
    """Runs `work`; a refusal or a database fault ends the command with a message and exit
    code 1, never a traceback. Every command here resumes where it stopped when run again."""
    try:
        return asyncio.run(work)  # type: ignore[arg-type]
    except ScimError as error:
        console.print(f"[red]stopped: {error.detail}[/red]")
    except PyMongoError as error:
        console.print(
            f"[red]stopped: the database failed ({type(error).__name__}: {error}); what was "
            "done so far stays, and running the command again carries on from there[/red]"
        )
    raise typer.Exit(1)


async def _with_tenant(
    tenant_id: str, work: Callable[[Application, TenantContext], Awaitable[T]]
) -> T:
    application = build_application(Settings())
    try:
        tenant = await application.administration.get_tenant(tenant_id)
        return await work(application, TenantContext(tenant, "migration"))
    finally:
        await application.close()


def _show(report: MigrationReport, dry_run: bool) -> None:
    table = Table("resource type", "would migrate" if dry_run else "migrated", "skipped")
    for type_name, count in report.migrated.items():
        table.add_row(type_name, str(count), str(report.skipped[type_name]))
    console.print(table)
    for type_name, resource_id in report.differing:
        console.print(
            f"[yellow]differs[/yellow] {type_name} {resource_id}: the tenant holds other "
            "content under this id (left as it is)"
        )
    for type_name, resource_id, reason in report.failed:
        console.print(f"[red]failed[/red] {type_name} {resource_id}: {reason}")


def _show_cleanup(cleanup: CleanupReport, store: MongoStore, dry_run: bool) -> None:
    for reason in cleanup.refusals:
        console.print(f"[red]not cleaned up[/red]: {reason}")
    if cleanup.refusals:
        console.print("nothing was removed from the source")
        return
    table = Table("source collection", "would remove" if dry_run else "removed")
    for type_name, count in cleanup.removed.items():
        table.add_row(f"{store.database.name}.{store.collections[type_name]}", str(count))
    console.print(table)
    for type_name, resource_id in cleanup.kept:
        console.print(
            f"[yellow]kept[/yellow] {type_name} {resource_id}: its source document changed "
            "after the checks; run again"
        )
    if cleanup.fault:
        console.print(
            f"[red]clean-up stopped[/red] ({cleanup.fault}) after removing "
            f"{sum(cleanup.removed.values())} documents; run again to finish"
        )


SourceOpener = Callable[[], AbstractAsyncContextManager[Source]]
StoreOpener = Callable[[], AbstractAsyncContextManager[MongoStore]]


async def _migrate(
    target: Target, source: Source, dry_run: bool, limit: int | None
) -> MigrationReport:
    columns = (SpinnerColumn(), TextColumn("{task.completed} resources"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("migrating")
        return await migrate(
            target, source, dry_run=dry_run, limit=limit, on_progress=lambda: progress.advance(task)
        )


def _target(application: Application, ctx: TenantContext) -> Target:
    return Target(application.resources, application.repository, ctx)


def _run(tenant_id: str, open_source: SourceOpener, dry_run: bool, limit: int | None) -> None:
    async def work(application: Application, ctx: TenantContext) -> MigrationReport:
        async with open_source() as source:
            return await _migrate(_target(application, ctx), source, dry_run, limit)

    report = _finish(_with_tenant(tenant_id, work))
    _show(report, dry_run)
    if report.failed:
        raise typer.Exit(1)


def _run_and_clean_up(
    tenant_id: str, open_store: StoreOpener, dry_run: bool, batch: int = CLEANUP_BATCH
) -> None:
    async def work(
        application: Application, ctx: TenantContext
    ) -> tuple[MigrationReport, CleanupReport, MongoStore]:
        target = _target(application, ctx)
        async with open_store() as store:
            report = await _migrate(target, store.documents(), dry_run, None)
            cleanup = await clean_up(target, store, report, dry_run=dry_run, batch=batch)
            return report, cleanup, store

    report, cleanup, store = _finish(_with_tenant(tenant_id, work))
    _show(report, dry_run)
    _show_cleanup(cleanup, store, dry_run)
    if report.failed or cleanup.refusals or cleanup.kept or cleanup.fault:
        raise typer.Exit(1)


@app.command("from-mongodb")
def from_mongodb(
    tenant_id: str,
    source_uri: Annotated[str, typer.Option()],
    source_database: Annotated[str, typer.Option()],
    dry_run: bool = False,
    limit: Annotated[int | None, typer.Option(help="stop after this many new resources")] = None,
    cleanup_source: Annotated[
        bool,
        typer.Option(
            help="then remove the migrated documents from the source, once every one of them "
            "is in the tenant and the counts agree"
        ),
    ] = False,
    cleanup_batch: Annotated[
        int, typer.Option(min=1, help="source documents checked and removed per round trip")
    ] = CLEANUP_BATCH,
) -> None:
    """Migrate a single-tenant store (`users` and `groups` collections) into a tenant."""
    settings = Settings()
    if cleanup_source and limit is not None:
        raise typer.BadParameter("--limit migrates part of the source: not with --cleanup-source")

    @asynccontextmanager
    async def store() -> AsyncIterator[MongoStore]:
        # Opened and closed on the loop that reads it: a PyMongo client is bound to its loop.
        client = connect(source_uri, settings.mongodb_timeout_ms, settings.mongodb_driver)
        try:
            yield MongoStore(client[source_database])
        finally:
            await close(client)

    @asynccontextmanager
    async def source() -> AsyncIterator[Source]:
        async with store() as opened:
            yield opened.documents()

    if cleanup_source:
        _run_and_clean_up(tenant_id, store, dry_run, cleanup_batch)
    else:
        _run(tenant_id, source, dry_run, limit)


@app.command("from-jsonl")
def from_jsonl(
    tenant_id: str,
    path: Path,
    dry_run: bool = False,
    limit: Annotated[int | None, typer.Option(help="stop after this many new resources")] = None,
) -> None:
    """Import a SCIM JSON Lines export into a tenant."""
    _run(tenant_id, lambda: nullcontext(jsonl_source(path)), dry_run, limit)


@app.command()
def export(tenant_id: str, path: Path) -> None:
    """Export a tenant's resources as SCIM JSON Lines."""

    async def work(application: Application, ctx: TenantContext) -> int:
        return await export_jsonl(application.repository, application.resources, ctx, path)

    console.print(f"exported {_finish(_with_tenant(tenant_id, work))} resources to {path}")


@app.command("memberships")
def memberships(
    tenant_id: Annotated[str | None, typer.Argument(help="one tenant; default: all")] = None,
) -> None:
    """Move group members stored inline in group documents (before memberships had their own
    documents) into the membership index; online, idempotent, and resumed by running again."""

    async def work() -> dict[str, int]:
        application = build_application(Settings())
        try:
            administration, moved = application.administration, {}
            token = ""
            while True:
                tenants, token = await administration.list_tenants(100, token)
                for tenant in tenants:
                    if tenant_id in (None, tenant.tenant_id):
                        moved[tenant.tenant_id] = await application.resources.move_inline_members(
                            tenant
                        )
                if not token:
                    return moved
        finally:
            await application.close()

    table = Table("tenant", "groups moved")
    for tenant, count in _finish(work()).items():
        table.add_row(tenant, str(count))
    console.print(table)


def _show_refold(report: RefoldReport) -> None:
    table = Table("collection", "documents", "rewritten")
    for name, count in report.scanned.items():
        table.add_row(name, str(count), str(report.rewritten[name]))
    console.print(table)
    for c in report.collisions:
        console.print(
            f"[red]collision[/red] {c.collection} tenant {c.tenant_id}: userName of "
            f"{c.resource_id} is now the same name as {c.holder_id}'s; rename one of them"
        )
    for name, resource_id in report.busy:
        console.print(f"[yellow]busy[/yellow] {name} {resource_id}: written meanwhile, run again")
    if report.collisions or report.busy:
        raise typer.Exit(1)


@app.command("refold-shadow-fields")
def refold(
    page_size: Annotated[int, typer.Option(min=1, help="documents read per query")] = 500,
) -> None:
    """Re-fold userName, displayName and emails.value shadow fields (MongoDB storage) to the
    current identity fold; online, idempotent, and resumed by running again."""
    settings = Settings()
    if settings.storage != "mongodb":
        console.print("embedded storage keeps nothing across restarts: nothing to re-fold")
        return

    async def work() -> RefoldReport:
        client = connect(settings.mongodb_uri, settings.mongodb_timeout_ms, settings.mongodb_driver)
        columns = (SpinnerColumn(), TextColumn("{task.completed} documents"), TimeElapsedColumn())
        try:
            with Progress(*columns, console=console, transient=True) as progress:
                task = progress.add_task("re-folding")
                return await refold_shadow_fields(
                    client[settings.mongodb_database],
                    page_size=page_size,
                    on_progress=lambda: progress.advance(task),
                )
        finally:
            await close(client)

    _show_refold(_finish(work()))
