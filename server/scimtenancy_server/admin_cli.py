"""`scimtenancy-admin`: tenant administration over the gRPC admin API.

scimtenancy-admin --target 127.0.0.1:50051 --token $SCIMTENANCY_ADMIN_TOKEN create acme
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import grpc
import typer
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy.admin.v1 import admin_pb2_grpc
from scimtenancy_common.grpc_tls import ChannelSecurity, channel_security
from scimtenancy_common.settings import Settings, describe_errors
from scimtenancy_server.tenants_file import cli as tenants_file
from scimtenancy_server.tenants_file.admin_port import StubAdmin
from scimtenancy_server.tenants_file.model import json_schema_text

app = typer.Typer(help="Manage the tenants of a scim-tenancy server.", no_args_is_help=True)
console = Console()
_LEVELS = {
    "strict": pb.ISOLATION_LEVEL_STRICT,
    "standard": pb.ISOLATION_LEVEL_STANDARD,
    "shared": pb.ISOLATION_LEVEL_SHARED,
}
_PROFILES = {"strict": pb.COMPATIBILITY_STRICT, "lenient": pb.COMPATIBILITY_LENIENT}
_PROFILE_HELP = "strict (RFC 7643/7644 as written) or lenient (opt-in, see README)"
_ISOLATION_HELP = "strict, standard or shared"
_TIMEOUT = 30.0
# A move freezes writes for at least the server's TENANT_CACHE_TTL before it copies the rest.
_MOVE_TIMEOUT = 900.0
_FILES_HELP = "a tenants file or a directory of them; repeat for more"
_ENVIRONMENT_HELP = "read each file's overlay NAME.ENV.yaml over it"


class _Connection:
    """The server's address and credentials; channels are opened only when a command needs
    one, so commands that work offline (validate, schema) never dial."""

    def __init__(self, target: str, token: str, security: ChannelSecurity) -> None:
        self.target = target
        self.security = security
        self.metadata = (("authorization", f"Bearer {token}"),)
        self._stub: Any = None

    @property
    def stub(self) -> Any:
        """The blocking TenantAdminServiceStub."""
        if self._stub is None:
            self._stub = admin_pb2_grpc.TenantAdminServiceStub(self.security.channel(self.target))
        return self._stub

    def options(self, timeout: float = _TIMEOUT) -> dict[str, Any]:
        return {"metadata": self.metadata, "timeout": timeout}


@app.callback()
def main(
    ctx: typer.Context,
    target: Annotated[str, typer.Option(envvar="SCIMTENANCY_GRPC_TARGET")] = "127.0.0.1:50051",
    token: Annotated[str, typer.Option(envvar="SCIMTENANCY_ADMIN_TOKEN")] = "",
    tls: Annotated[bool, typer.Option(envvar="SCIMTENANCY_GRPC_TLS")] = False,
    tls_ca: Annotated[str, typer.Option(envvar="SCIMTENANCY_GRPC_TLS_CA")] = "",
    tls_cert: Annotated[str, typer.Option(envvar="SCIMTENANCY_GRPC_TLS_CLIENT_CERT")] = "",
    tls_key: Annotated[str, typer.Option(envvar="SCIMTENANCY_GRPC_TLS_CLIENT_KEY")] = "",
    tls_server_name: Annotated[str, typer.Option(envvar="SCIMTENANCY_GRPC_TLS_SERVER_NAME")] = "",
) -> None:
    try:
        tls_settings = Settings(
            grpc_tls=tls,
            grpc_tls_ca=tls_ca,
            grpc_tls_client_cert=tls_cert,
            grpc_tls_client_key=tls_key,
            grpc_tls_server_name=tls_server_name,
        )
    except ValidationError as error:
        console.print("[red]invalid settings[/red]:", *describe_errors(error), sep="\n  ")
        raise typer.Exit(2) from None
    ctx.obj = _Connection(target, token, channel_security(tls_settings))


@contextmanager
def _rpc_errors() -> Iterator[None]:
    """A refused or failed call ends the command with its status, exit code 1."""
    try:
        yield
    except grpc.RpcError as error:
        console.print(f"[red]{error.code().name}[/red]: {error.details()}")
        raise typer.Exit(1) from None


def _isolation(name: str) -> pb.IsolationLevel:
    if name not in _LEVELS:
        raise typer.BadParameter("isolation must be strict, standard or shared")
    return _LEVELS[name]


def _profile(name: str | None) -> pb.Compatibility:
    if name is None:
        return pb.COMPATIBILITY_UNSPECIFIED
    if name not in _PROFILES:
        raise typer.BadParameter("compatibility must be strict or lenient")
    return _PROFILES[name]


def _show(tenants: list[pb.Tenant]) -> None:
    table = Table("tenant", "name", "isolation", "status", "limits", "compatibility")
    for t in tenants:
        limits = ", ".join(f"{f.name}={v}" for f, v in t.limits.ListFields()) or "-"
        table.add_row(
            t.tenant_id,
            t.display_name,
            pb.IsolationLevel.Name(t.isolation_level).removeprefix("ISOLATION_LEVEL_"),
            pb.TenantStatus.Name(t.status).removeprefix("TENANT_STATUS_"),
            limits,
            pb.Compatibility.Name(t.compatibility).removeprefix("COMPATIBILITY_").lower(),
        )
    console.print(table)


@app.command()
def create(
    ctx: typer.Context,
    tenant_id: str,
    name: str = "",
    isolation: Annotated[str, typer.Option(help=_ISOLATION_HELP)] = "standard",
    max_users: int | None = None,
    max_groups: int | None = None,
    compatibility: Annotated[str | None, typer.Option(help=_PROFILE_HELP)] = None,
) -> None:
    """Create a tenant."""
    connection: _Connection = ctx.obj
    request = pb.CreateTenantRequest(
        tenant_id=tenant_id,
        display_name=name,
        isolation_level=_isolation(isolation),
        limits=pb.Limits(max_users=max_users, max_groups=max_groups),
        compatibility=_profile(compatibility),
    )
    with _rpc_errors():
        reply: pb.CreateTenantResponse = connection.stub.CreateTenant(
            request, **connection.options()
        )
    _show([reply.tenant])


@app.command()
def update(
    ctx: typer.Context,
    tenant_id: str,
    name: str | None = None,
    max_users: int | None = None,
    max_groups: int | None = None,
    permission: Annotated[list[str] | None, typer.Option(help="repeat; replaces all")] = None,
    compatibility: Annotated[str | None, typer.Option(help=_PROFILE_HELP)] = None,
) -> None:
    """Change a tenant's name, limits (both replaced when either is given), permissions or
    compatibility profile."""
    connection: _Connection = ctx.obj
    request = pb.UpdateTenantRequest(
        tenant_id=tenant_id, display_name=name, compatibility=_profile(compatibility)
    )
    if max_users is not None or max_groups is not None:
        request.limits.CopyFrom(pb.Limits(max_users=max_users, max_groups=max_groups))
    if permission:
        request.permissions.extend(permission)
        request.update_permissions = True
    with _rpc_errors():
        reply: pb.UpdateTenantResponse = connection.stub.UpdateTenant(
            request, **connection.options()
        )
    _show([reply.tenant])


@app.command()
def move(
    ctx: typer.Context,
    tenant_id: str,
    isolation: Annotated[str, typer.Argument(help=_ISOLATION_HELP)],
) -> None:
    """Move a tenant to another isolation level while it keeps serving."""
    connection: _Connection = ctx.obj
    request = pb.MoveTenantRequest(tenant_id=tenant_id, isolation_level=_isolation(isolation))
    with _rpc_errors():
        reply: pb.MoveTenantResponse = connection.stub.MoveTenant(
            request, **connection.options(_MOVE_TIMEOUT)
        )
    _show([reply.tenant])


@app.command("list")
def list_tenants(ctx: typer.Context) -> None:
    """List every tenant."""
    connection: _Connection = ctx.obj
    tenants: list[pb.Tenant] = []
    request = pb.ListTenantsRequest(page_size=500)
    while True:
        with _rpc_errors():
            reply: pb.ListTenantsResponse = connection.stub.ListTenants(
                request, **connection.options()
            )
        tenants.extend(reply.tenants)
        request.page_token = reply.next_page_token
        if not request.page_token:
            break
    _show(tenants)


@app.command()
def suspend(ctx: typer.Context, tenant_id: str) -> None:
    """Refuse a tenant's requests."""
    connection: _Connection = ctx.obj
    request = pb.SuspendTenantRequest(tenant_id=tenant_id)
    with _rpc_errors():
        reply: pb.SuspendTenantResponse = connection.stub.SuspendTenant(
            request, **connection.options()
        )
    _show([reply.tenant])


@app.command()
def activate(ctx: typer.Context, tenant_id: str) -> None:
    """Serve a suspended tenant again."""
    connection: _Connection = ctx.obj
    request = pb.ActivateTenantRequest(tenant_id=tenant_id)
    with _rpc_errors():
        reply: pb.ActivateTenantResponse = connection.stub.ActivateTenant(
            request, **connection.options()
        )
    _show([reply.tenant])


@app.command()
def delete(
    ctx: typer.Context,
    tenant_id: str,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
) -> None:
    """Delete a tenant and purge all its resources and keys."""
    if not yes:
        typer.confirm(f"Delete tenant {tenant_id} and all its data?", abort=True)
    connection: _Connection = ctx.obj
    with _rpc_errors():
        connection.stub.DeleteTenant(
            pb.DeleteTenantRequest(tenant_id=tenant_id), **connection.options()
        )
    console.print(f"deleted {tenant_id}")


@app.command("issue-key")
def issue_key(ctx: typer.Context, tenant_id: str) -> None:
    """Issue an API key; its secret is printed once."""
    connection: _Connection = ctx.obj
    request = pb.IssueApiKeyRequest(tenant_id=tenant_id)
    with _rpc_errors():
        reply: pb.IssueApiKeyResponse = connection.stub.IssueApiKey(request, **connection.options())
    console.print(f"key id: {reply.key_id}")
    print(reply.api_key)  # plain, so scripts can capture it


@app.command("rotate-key")
def rotate_key(
    ctx: typer.Context, tenant_id: str, key_id: str, overlap_hours: float = 24.0
) -> None:
    """Issue a successor key; the old one keeps working for the overlap."""
    connection: _Connection = ctx.obj
    overlap = Duration()
    overlap.FromTimedelta(datetime.timedelta(hours=overlap_hours))
    request = pb.RotateApiKeyRequest(tenant_id=tenant_id, key_id=key_id, overlap=overlap)
    with _rpc_errors():
        reply: pb.RotateApiKeyResponse = connection.stub.RotateApiKey(
            request, **connection.options()
        )
    console.print(f"key id: {reply.key_id}")
    print(reply.api_key)


@app.command("revoke-key")
def revoke_key(ctx: typer.Context, tenant_id: str, key_id: str) -> None:
    """Stop an API key at once."""
    connection: _Connection = ctx.obj
    request = pb.RevokeApiKeyRequest(tenant_id=tenant_id, key_id=key_id)
    with _rpc_errors():
        connection.stub.RevokeApiKey(request, **connection.options())
    console.print(f"revoked {key_id}")


@app.command("keys")
def keys(ctx: typer.Context, tenant_id: str) -> None:
    """List a tenant's API keys (never their secrets)."""
    connection: _Connection = ctx.obj
    request = pb.ListApiKeysRequest(tenant_id=tenant_id)
    with _rpc_errors():
        reply: pb.ListApiKeysResponse = connection.stub.ListApiKeys(request, **connection.options())
    table = Table("key id", "created", "expires", "revoked", "last used")
    for k in reply.keys:
        expires = k.expire_time.ToDatetime().isoformat() if k.HasField("expire_time") else "-"
        used = k.last_use_time.ToDatetime().isoformat() if k.HasField("last_use_time") else "-"
        table.add_row(
            k.key_id, k.create_time.ToDatetime().isoformat(), expires, str(k.revoked), used
        )
    console.print(table)


def _rfc3339(value: str | None, option: str) -> Timestamp | None:
    if value is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        example = "2026-01-31T02:00:00Z"
        raise typer.BadParameter(f"{option} must be an RFC 3339 time, e.g. {example}") from None
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{option} needs a time zone, e.g. Z or +01:00")
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(datetime.UTC))
    return stamp


def _outcome(event: pb.AuditEvent) -> str:
    name = pb.AuditOutcome.Name(event.outcome).removeprefix("AUDIT_OUTCOME_").lower()
    if event.outcome != pb.AUDIT_OUTCOME_FAILURE:
        return name
    return " ".join(filter(None, [name, str(event.error_status), event.error_type]))


def _versions(event: pb.AuditEvent) -> str:
    if not event.HasField("version_before") and not event.HasField("version_after"):
        return ""
    before = str(event.version_before) if event.HasField("version_before") else "-"
    after = str(event.version_after) if event.HasField("version_after") else "-"
    return f"{before} → {after}"


@app.command()
def audit(
    ctx: typer.Context,
    tenant_id: str,
    since: Annotated[str | None, typer.Option(help="from this RFC 3339 time on")] = None,
    until: Annotated[str | None, typer.Option(help="before this RFC 3339 time")] = None,
    limit: Annotated[int, typer.Option(min=1, help="most events shown")] = 100,
) -> None:
    """Show a tenant's audit events, oldest first: who changed what, and how it ended."""
    request = pb.ListAuditEventsRequest(
        tenant_id=tenant_id,
        start_time=_rfc3339(since, "--since"),
        end_time=_rfc3339(until, "--until"),
    )
    connection: _Connection = ctx.obj
    events: list[pb.AuditEvent] = []
    while True:
        request.page_size = min(1000, limit - len(events))
        with _rpc_errors():
            reply: pb.ListAuditEventsResponse = connection.stub.ListAuditEvents(
                request, **connection.options()
            )
        events.extend(reply.events)
        request.page_token = reply.next_page_token
        if not request.page_token or len(events) >= limit:
            break
    table = Table("time", "actor", "operation", "type", "id", "outcome", "versions", "bulk")
    for e in events:
        table.add_row(
            e.time.ToDatetime(tzinfo=datetime.UTC).isoformat(timespec="milliseconds"),
            e.actor,
            e.operation,
            e.resource_type,
            e.resource_id,
            _outcome(e),
            _versions(e),
            "yes" if e.bulk else "",
        )
    console.print(table)
    if request.page_token:
        console.print(f"more events follow: narrow --since/--until or raise --limit ({limit})")


Files = Annotated[list[Path], typer.Option("--file", "-f", help=_FILES_HELP)]
Environment = Annotated[str | None, typer.Option(help=_ENVIRONMENT_HELP)]


@app.command()
def validate(files: Files, environment: Environment = None) -> None:
    """Check a tenants file as the server would at start; needs no server. Exit 0 when it
    is valid, 1 with every problem (file:line: field: message) when not."""
    raise typer.Exit(tenants_file.validate(files, environment))


@app.command()
def apply(
    ctx: typer.Context,
    files: Files,
    environment: Environment = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan only")] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="delete tenants that are not in the file")
    ] = False,
) -> None:
    """Make the server's tenants what the file says, printing the plan (create, update,
    move, unchanged, delete). Exit 0 when applied or nothing to do, 1 on an invalid file or
    a failed call, 3 when --dry-run found changes."""
    config = tenants_file.load_or_report(files, environment)
    if config is None:
        raise typer.Exit(tenants_file.EXIT_FAILED)
    connection: _Connection = ctx.obj

    async def run() -> int:
        async with connection.security.aio_channel(connection.target) as channel:
            stub = admin_pb2_grpc.TenantAdminServiceStub(channel)
            admin = StubAdmin(stub, connection.metadata, _TIMEOUT, move_timeout=_MOVE_TIMEOUT)
            return await tenants_file.apply(config, admin, dry_run=dry_run, prune=prune)

    raise typer.Exit(asyncio.run(run()))


@app.command()
def schema() -> None:
    """Print the JSON Schema of the tenants file (committed as config/tenants.schema.json)."""
    print(json_schema_text(), end="")
