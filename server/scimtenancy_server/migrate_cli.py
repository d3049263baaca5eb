"""`scimtenancy-migrate`: move resources into a tenant, export a tenant, or bring stored
data up to the current code.

The target storage is the server's (SCIMTENANCY_STORAGE, SCIMTENANCY_MONGODB_URI, ...):

    scimtenancy-migrate from-mongodb acme --source-uri mongodb://old --source-database scim
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
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from scimtenancy_common.settings import Settings
from scimtenancy_server.bootstrap import Application, build_application
from scimtenancy_server.domain.tenant import TenantContext
from scimtenancy_server.services.migration import (
    MigrationReport,
    Source,
    export_jsonl,
    jsonl_source,
    migrate,
    mongo_source,
)
from scimtenancy_server.storage.mongo_driver import close, connect
from scimtenancy_server.storage.mongo_refold import RefoldReport, refold_shadow_fields

app = typer.Typer(
    help="Migrate resources into a tenant, export one, or re-fold stored lookup fields.",
    no_args_is_help=True,
)
console = Console()
T = TypeVar("T")


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
    for type_name, resource_id, reason in report.failed:
        console.print(f"[red]failed[/red] {type_name} {resource_id}: {reason}")
    if report.failed:
        raise typer.Exit(1)


SourceOpener = Callable[[], AbstractAsyncContextManager[Source]]


def _run(tenant_id: str, open_source: SourceOpener, dry_run: bool, limit: int | None) -> None:
    async def work(application: Application, ctx: TenantContext) -> MigrationReport:
        columns = (SpinnerColumn(), TextColumn("{task.completed} resources"), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("migrating")
            async with open_source() as source:
                return await migrate(
                    application.resources,
                    ctx,
                    source,
                    dry_run=dry_run,
                    limit=limit,
                    on_progress=lambda: progress.advance(task),
                )

    _show(asyncio.run(_with_tenant(tenant_id, work)), dry_run)


@app.command("from-mongodb")
def from_mongodb(
    tenant_id: str,
    source_uri: Annotated[str, typer.Option()],
    source_database: Annotated[str, typer.Option()],
    dry_run: bool = False,
    limit: Annotated[int | None, typer.Option(help="stop after this many new resources")] = None,
) -> None:
    """Migrate a single-tenant store (`users` and `groups` collections) into a tenant."""
    settings = Settings()

    @asynccontextmanager
    async def source() -> AsyncIterator[Source]:
        # Opened and closed on the loop that reads it: a PyMongo client is bound to its loop.
        client = connect(source_uri, settings.mongodb_timeout_ms, settings.mongodb_driver)
        try:
            yield mongo_source(client[source_database])
        finally:
            await close(client)

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

    console.print(f"exported {asyncio.run(_with_tenant(tenant_id, work))} resources to {path}")


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
    for tenant, count in asyncio.run(work()).items():
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

    _show_refold(asyncio.run(work()))
