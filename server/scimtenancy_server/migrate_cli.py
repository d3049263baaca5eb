"""`scimtenancy-migrate`: move resources into a tenant, or export a tenant.

The target storage is the server's (SCIMTENANCY_STORAGE, SCIMTENANCY_MONGODB_URI, ...):

    scimtenancy-migrate from-mongodb acme --source-uri mongodb://old --source-database scim
    scimtenancy-migrate from-jsonl acme export.jsonl --dry-run
    scimtenancy-migrate export acme export.jsonl
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
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
from scimtenancy_server.storage.mongo import connect

app = typer.Typer(help="Migrate resources into a tenant, or export one.", no_args_is_help=True)
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


def _run(
    tenant_id: str, make_source: Callable[[], Source], dry_run: bool, limit: int | None
) -> None:
    async def work(application: Application, ctx: TenantContext) -> MigrationReport:
        columns = (SpinnerColumn(), TextColumn("{task.completed} resources"), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("migrating")
            return await migrate(
                application.resources,
                ctx,
                make_source(),
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
    client = connect(source_uri)
    try:
        _run(tenant_id, lambda: mongo_source(client[source_database]), dry_run, limit)
    finally:
        client.close()


@app.command("from-jsonl")
def from_jsonl(
    tenant_id: str,
    path: Path,
    dry_run: bool = False,
    limit: Annotated[int | None, typer.Option(help="stop after this many new resources")] = None,
) -> None:
    """Import a SCIM JSON Lines export into a tenant."""
    _run(tenant_id, lambda: jsonl_source(path), dry_run, limit)


@app.command()
def export(tenant_id: str, path: Path) -> None:
    """Export a tenant's resources as SCIM JSON Lines."""

    async def work(application: Application, ctx: TenantContext) -> int:
        return await export_jsonl(application.repository, application.resources, ctx, path)

    console.print(f"exported {asyncio.run(_with_tenant(tenant_id, work))} resources to {path}")
