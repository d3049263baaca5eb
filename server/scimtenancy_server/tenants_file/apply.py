"""Applying a tenants file as reconciliation: plan against the server's tenants, then send
each tenant's requests. Idempotent: a second run plans nothing. Safe beside another applier
of the same file: a create that finds the tenant made meanwhile is planned again as an
update, and a deletion that finds it gone is done."""

from __future__ import annotations

from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy_server.tenants_file.admin_port import AdminCallFailed, TenantAdminPort
from scimtenancy_server.tenants_file.model import TenantsConfig
from scimtenancy_server.tenants_file.plan import Plan, PlanEntry, plan_changes, plan_tenant

__all__ = ["Plan", "PlanEntry", "ReconcileFailed", "reconcile"]


class ReconcileFailed(Exception):
    """A tenant's change failed; the entries before it were applied, the rest were not."""

    def __init__(self, plan: Plan, tenant_id: str, cause: AdminCallFailed) -> None:
        self.plan = plan
        self.tenant_id = tenant_id
        self.cause = cause
        super().__init__(f"tenant {tenant_id}: {cause}")


async def reconcile(
    config: TenantsConfig,
    admin: TenantAdminPort,
    *,
    prune: bool = False,
    dry_run: bool = False,
) -> Plan:
    """The plan, applied unless `dry_run`; raises ReconcileFailed (with the plan as made)."""
    plan = plan_changes(config, await admin.list_tenants(), prune=prune)
    if dry_run:
        return plan
    applied: list[PlanEntry] = []
    for entry in plan.entries:
        try:
            applied.append(await _apply(entry, config, admin))
        except AdminCallFailed as error:
            made = Plan((*applied, *plan.entries[len(applied) :]), plan.notes)
            raise ReconcileFailed(made, entry.tenant_id, error) from None
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
