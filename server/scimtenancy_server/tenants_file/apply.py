"""Applying a tenants file as reconciliation: plan against the server's tenants, then send
each tenant's requests; a tenant the server refuses is reported, and the others are still
applied. Idempotent: a second run plans nothing. Safe beside another applier
of the same file: a create that finds the tenant made meanwhile is planned again as an
update, and a deletion that finds it gone is done."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy_server.tenants_file.admin_port import AdminCallFailed, TenantAdminPort
from scimtenancy_server.tenants_file.model import TenantsConfig
from scimtenancy_server.tenants_file.plan import (
    CHANGING,
    Plan,
    PlanEntry,
    plan_changes_paced,
    plan_tenant,
)

__all__ = ["Plan", "PlanEntry", "ReconcileFailed", "TenantFailure", "reconcile"]


@dataclass(frozen=True, slots=True)
class TenantFailure:
    """One tenant's change that failed: the entry as planned, and why."""

    entry: PlanEntry
    cause: AdminCallFailed

    @property
    def tenant_id(self) -> str:
        return self.entry.tenant_id

    def render(self) -> str:
        return f"! {self.entry.action} {self.tenant_id} failed: {self.cause}"


class ReconcileFailed(Exception):
    """Some tenants' changes failed. A refusal of one tenant (a limit below what it holds)
    does not stop the others; a failure that the next calls would meet too (the database
    went away) stops the apply, and the changes after it are `skipped`.

    `plan` is the plan as applied: the entries carried out, in plan order; `failures` every
    tenant that failed, with its cause."""

    def __init__(
        self,
        plan: Plan,
        failures: Sequence[TenantFailure],
        skipped: Sequence[PlanEntry] = (),
    ) -> None:
        self.plan = plan
        self.failures = tuple(failures)
        self.skipped = tuple(skipped)
        super().__init__("; ".join(f"tenant {f.tenant_id}: {f.cause}" for f in self.failures))

    @property
    def stopped(self) -> bool:
        """Whether a failure the next calls would meet too ended the apply."""
        return any(not failure.cause.refusal for failure in self.failures)

    def render(self) -> list[str]:
        """One line per failed tenant, then what was not attempted."""
        lines = [failure.render() for failure in self.failures]
        if self.skipped:
            ids = ", ".join(e.tenant_id for e in self.skipped[:SHOWN_SKIPPED])
            more = len(self.skipped) - SHOWN_SKIPPED
            lines.append(
                f"not attempted after that failure: {len(self.skipped)} changes"
                f" ({ids}{f' and {more} more' if more > 0 else ''})"
            )
        return lines


SHOWN_SKIPPED = 20  # tenant ids named in the line of changes not attempted


async def reconcile(
    config: TenantsConfig,
    admin: TenantAdminPort,
    *,
    prune: bool = False,
    dry_run: bool = False,
) -> Plan:
    """The plan, applied unless `dry_run`; raises ReconcileFailed when any tenant failed,
    after applying every other one it could."""
    plan = await plan_changes_paced(config, await admin.list_tenants(), prune=prune)
    if dry_run:
        return plan
    applied: list[PlanEntry] = []
    failures: list[TenantFailure] = []
    for index, entry in enumerate(plan.entries):
        try:
            applied.append(await _apply(entry, config, admin))
        except AdminCallFailed as error:
            failures.append(TenantFailure(entry, error))
            if not error.refusal:
                rest = plan.entries[index + 1 :]
                applied.extend(e for e in rest if e.action not in CHANGING)
                skipped = [e for e in rest if e.action in CHANGING]
                raise ReconcileFailed(Plan(tuple(applied), plan.notes), failures, skipped) from None
    if failures:
        raise ReconcileFailed(Plan(tuple(applied), plan.notes), failures)
    return Plan(tuple(applied), plan.notes)


async def _apply(entry: PlanEntry, config: TenantsConfig, admin: TenantAdminPort) -> PlanEntry:
    """Sends the entry's requests; returns the entry as it was carried out."""
    if entry.create is not None:
        try:
            await admin.create_tenant(entry.create)
        except AdminCallFailed as error:
            if not error.already_exists:
                raise
            return await _replanned(entry, config, admin, error)
    if entry.update is not None:
        await admin.update_tenant(entry.update)
    for extension in entry.extensions:
        await admin.register_extension(extension)
    if entry.move is not None:
        await admin.move_tenant(entry.move)
    if entry.action == "delete":
        await _delete(entry.tenant_id, admin)
    return entry


async def _replanned(
    entry: PlanEntry, config: TenantsConfig, admin: TenantAdminPort, error: AdminCallFailed
) -> PlanEntry:
    """The tenant was created since the plan was made (another applier): plan it again."""
    spec = config.tenant(entry.tenant_id)
    found = [t for t in await admin.list_tenants() if t.tenant_id == entry.tenant_id]
    if spec is None or not found:
        raise error
    again = plan_tenant(spec, found[0])
    return await _apply(again, config, admin)


async def _delete(tenant_id: str, admin: TenantAdminPort) -> None:
    try:
        await admin.delete_tenant(pb.DeleteTenantRequest(tenant_id=tenant_id))
    except AdminCallFailed as error:
        if error.code != "NOT_FOUND":
            raise
