"""Tenant administration: provisioning, credentials, suspension."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import timedelta
from enum import Enum
from typing import Any, Literal

from scimtenancy_server.domain.audit import ADMIN_ACTOR
from scimtenancy_server.domain.clock import Clock, utc_now
from scimtenancy_server.domain.credentials import ApiKey, api_key_from_secret, new_api_key
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.extension_schemas import extension_schema
from scimtenancy_server.domain.permissions import ALL_PERMISSIONS, Permission
from scimtenancy_server.domain.schema import ResourceTypeRegistry
from scimtenancy_server.domain.tenant import (
    DEFAULT_RESPONSES,
    Compatibility,
    IsolationLevel,
    RateLimit,
    ResponseOptions,
    Tenant,
    TenantExtension,
    TenantStatus,
    validate_tenant_id,
)
from scimtenancy_server.domain.tenant_options import (
    validate_display_name,
    validate_rate_limit,
    validate_response_options,
)
from scimtenancy_server.services.audit import AuditEntry, AuditLog
from scimtenancy_server.services.resolution import TenantResolver
from scimtenancy_server.services.tenant_moves import move_tenant
from scimtenancy_server.storage.idempotency import IdempotencyStore
from scimtenancy_server.storage.repository import ResourceRepository
from scimtenancy_server.storage.tenants import TenantStore

MAX_PAGE_SIZE = 500
_STATUS_OPERATIONS = {
    TenantStatus.ACTIVE: "tenant.activate",
    TenantStatus.SUSPENDED: "tenant.suspend",
}


class Unchanged(Enum):
    """An update's value for a field it leaves as it is (where None means something)."""

    KEEP = "keep"


KEEP = Unchanged.KEEP


def _rate_limit(limit: RateLimit | None) -> RateLimit | None:
    return None if limit is None else validate_rate_limit(limit)


class TenantAdministration:
    def __init__(
        self,
        store: TenantStore,
        repository: ResourceRepository,
        registry: ResourceTypeRegistry,
        resolver: TenantResolver,
        default_isolation: IsolationLevel = IsolationLevel.STANDARD,
        clock: Clock = utc_now,
        *,
        shared_available: bool = False,
        move_settle: float = 30.0,
        audit: AuditLog | None = None,
        idempotency: IdempotencyStore | None = None,
    ) -> None:
        self._audit = audit or AuditLog.off()
        self._idempotency = idempotency
        self._shared_available = shared_available
        self._move_settle = move_settle
        self._store = store
        self._repository = repository
        self._registry = registry
        self._resolver = resolver
        self._default_isolation = default_isolation
        self._clock = clock

    async def create_tenant(
        self,
        tenant_id: str,
        display_name: str,
        isolation: IsolationLevel | None,
        limits: Mapping[str, int] | None = None,
        permissions: frozenset[Permission] = ALL_PERMISSIONS,
        compatibility: Compatibility = Compatibility.STRICT,
        responses: ResponseOptions = DEFAULT_RESPONSES,
        rate_limit: RateLimit | None = None,
    ) -> Tenant:
        """A new tenant; `rate_limit` None: the server's."""
        validate_tenant_id(tenant_id)
        async with self._audited("tenant.create", tenant_id) as audit:
            if any(value < 0 for value in (limits or {}).values()):
                raise ScimError.invalid_value("limits cannot be negative")
            validate_display_name(display_name)
            validate_response_options(responses)
            _rate_limit(rate_limit)
            level = isolation or self._default_isolation
            if level is IsolationLevel.SHARED and not self._shared_available:
                raise ScimError.invalid_value(
                    "the shared isolation level needs a shared namespace "
                    "(SCIMTENANCY_SHARED_NAMESPACE)"
                )
            tenant = Tenant(
                tenant_id,
                display_name or tenant_id,
                level,
                TenantStatus.ACTIVE,
                self._clock(),
                dict(limits or {}),
                permissions=permissions,
                compatibility=compatibility,
                responses=responses,
                rate_limit=rate_limit,
            )
            await audit.begin()
            # Provisioning is idempotent, so it runs first: a tenant is never visible without
            # storage.
            await self._repository.provision(tenant, self._registry.all())
            await self._store.create(tenant)
            return tenant

    def _audited(
        self, operation: str, tenant_id: str, resource_type: str = "Tenant", resource_id: str = ""
    ) -> AbstractAsyncContextManager[AuditEntry]:
        """Audits an admin action; a Tenant action names the tenant itself."""
        name = resource_id or (tenant_id if resource_type == "Tenant" else "")
        return self._audit.record(tenant_id, ADMIN_ACTOR, operation, resource_type, name)

    async def get_tenant(self, tenant_id: str) -> Tenant:
        tenant = await self._store.get(tenant_id)
        if tenant is None:
            raise ScimError.not_found(f"tenant {tenant_id!r} not found")
        return tenant

    async def list_tenants(self, page_size: int, page_token: str) -> tuple[list[Tenant], str]:
        size = MAX_PAGE_SIZE if page_size <= 0 else min(page_size, MAX_PAGE_SIZE)
        tenants = await self._store.list_tenants(page_token, size + 1)
        more = len(tenants) > size
        page = tenants[:size]
        return page, page[-1].tenant_id if more else ""

    async def issue_api_key(self, tenant_id: str) -> tuple[str, str]:
        """Returns the key's id and its secret; only the secret's hash is stored."""
        async with self._audited("api_key.issue", tenant_id, "ApiKey") as audit:
            await self.get_tenant(tenant_id)
            key, secret = new_api_key(tenant_id, self._clock())
            audit.name(key.key_id)
            await audit.begin()
            await self._store.save_key(key)
            return key.key_id, secret

    async def register_api_key(self, tenant_id: str, secret: str) -> None:
        """Stores a configured secret (the development tenant's key) as a hash."""
        key = api_key_from_secret(secret, tenant_id, self._clock())
        async with self._audited("api_key.register", tenant_id, "ApiKey", key.key_id) as audit:
            await self.get_tenant(tenant_id)
            await audit.begin()
            await self._store.save_key(key)

    async def update_tenant(
        self,
        tenant_id: str,
        display_name: str | None = None,
        limits: Mapping[str, int] | None = None,
        permissions: frozenset[Permission] | None = None,
        compatibility: Compatibility | None = None,
        responses: ResponseOptions | None = None,
        rate_limit: RateLimit | Literal[Unchanged.KEEP] | None = KEEP,
    ) -> Tenant:
        """Changes what is given; `rate_limit` None: back to the server's."""
        async with self._audited("tenant.update", tenant_id) as audit:
            validate_display_name(display_name or "")
            if responses is not None:
                validate_response_options(responses)
            if rate_limit is not KEEP:
                _rate_limit(rate_limit)
            tenant = await self.get_tenant(tenant_id)
            await audit.begin()
            if display_name is not None:
                tenant = replace(tenant, display_name=display_name or tenant_id)
            if responses is not None:
                tenant = replace(tenant, responses=responses)
            if rate_limit is not KEEP:
                tenant = replace(tenant, rate_limit=rate_limit)
            if permissions is not None:
                tenant = replace(tenant, permissions=permissions)
            if compatibility is not None:
                tenant = replace(tenant, compatibility=compatibility)
            if limits is not None:
                tenant = replace(tenant, limits=dict(limits))
                for rt in self._registry.all():
                    limit = tenant.limit(rt.name)
                    used = (await self._repository.list(tenant, rt, None, 0, 0)).total
                    if limit is not None and used > limit:
                        raise ScimError.invalid_value(
                            f"the tenant holds {used} {rt.endpoint}, more than the limit {limit}"
                        )
                    await self._repository.reserve_existing(tenant, rt)
            await self._store.save(tenant)
            self._resolver.invalidate_tenant(tenant_id)
            return tenant

    def cache_counters(self) -> tuple[int, int]:
        """This process's credential cache hits and misses."""
        return self._resolver.hits, self._resolver.misses

    async def register_extension(
        self, tenant_id: str, resource_type: str, document: dict[str, Any], required: bool
    ) -> Tenant:
        """Adds (or replaces, by URN) a schema extension of one tenant's resource type."""
        urn = str(document.get("id") or "")
        async with self._audited("tenant.register_extension", tenant_id, "Schema", urn) as audit:
            tenant = await self.get_tenant(tenant_id)
            rt = self._registry.resolve(resource_type)
            schema = extension_schema(document, self._registry)
            kept = tuple(e for e in tenant.extensions if e.schema.id.lower() != schema.id.lower())
            extensions = (*kept, TenantExtension(rt.name, schema, required))
            await audit.begin()
            updated = await self._store.set_extensions(tenant_id, extensions)
            if updated is None:
                raise ScimError.not_found(f"tenant {tenant_id!r} not found")
            self._resolver.invalidate_tenant(tenant_id)
            return updated

    async def move_tenant(self, tenant_id: str, level: IsolationLevel) -> Tenant:
        """Moves the tenant to another isolation level while it keeps serving."""
        async with self._audited("tenant.move", tenant_id) as audit:
            tenant = await self.get_tenant(tenant_id)
            if tenant.status is not TenantStatus.ACTIVE:
                raise ScimError.conflict(f"tenant {tenant_id!r} is {tenant.status.value}")
            if level is IsolationLevel.SHARED and not self._shared_available:
                raise ScimError.invalid_value("the shared isolation level needs a shared namespace")
            await audit.begin()
            return await move_tenant(
                self._store,
                self._repository,
                self._registry.all(),
                tenant,
                level,
                self._move_settle,
                self._resolver.invalidate_tenant,
            )

    async def delete_tenant(self, tenant_id: str) -> None:
        """Suspends, purges, then forgets the tenant; a failed purge leaves it suspended, so
        the deletion can simply be repeated. Its audit events stay until their retention ends:
        they record, among the rest, who deleted it; its idempotency keys go with its data."""
        async with self._audited("tenant.delete", tenant_id) as audit:
            await audit.begin()
            tenant = await self._set_status(tenant_id, TenantStatus.SUSPENDED)
            await self._repository.purge(tenant, self._registry.all())
            if self._idempotency is not None:
                await self._idempotency.purge(tenant_id)
            await self._store.delete(tenant_id)
            self._resolver.invalidate_tenant(tenant_id)

    async def list_api_keys(self, tenant_id: str) -> list[ApiKey]:
        await self.get_tenant(tenant_id)
        return await self._store.list_keys(tenant_id)

    async def revoke_api_key(self, tenant_id: str, key_id: str) -> ApiKey:
        async with self._audited("api_key.revoke", tenant_id, "ApiKey", key_id) as audit:
            key = await self._key(tenant_id, key_id)
            revoked = replace(key, revoked=True)
            await audit.begin()
            await self._store.save_key(revoked)
            self._resolver.invalidate_tenant(tenant_id)
            return revoked

    async def rotate_api_key(
        self, tenant_id: str, key_id: str, overlap: timedelta
    ) -> tuple[str, str]:
        """Issues a successor key; the old one keeps working for `overlap`, then expires.
        The successor's issue is audited on its own."""
        async with self._audited("api_key.rotate", tenant_id, "ApiKey", key_id) as audit:
            key = await self._key(tenant_id, key_id)
            if not key.usable(self._clock()):
                raise ScimError.invalid_value(f"key {key_id!r} is revoked or expired")
            if overlap < timedelta(0):
                raise ScimError.invalid_value("the overlap cannot be negative")
            await audit.begin()
            new_key_id, secret = await self.issue_api_key(tenant_id)
            await self._store.save_key(replace(key, expires=self._clock() + overlap))
            self._resolver.invalidate_tenant(tenant_id)
            return new_key_id, secret

    async def _key(self, tenant_id: str, key_id: str) -> ApiKey:
        found = next((k for k in await self.list_api_keys(tenant_id) if k.key_id == key_id), None)
        if found is None:
            raise ScimError.not_found(f"tenant {tenant_id!r} has no key {key_id!r}")
        return found

    async def set_status(self, tenant_id: str, status: TenantStatus) -> Tenant:
        operation = _STATUS_OPERATIONS.get(status, "tenant.set_status")
        async with self._audited(operation, tenant_id) as audit:
            await audit.begin()
            return await self._set_status(tenant_id, status)

    async def _set_status(self, tenant_id: str, status: TenantStatus) -> Tenant:
        tenant = await self._store.set_status(tenant_id, status)
        if tenant is None:
            raise ScimError.not_found(f"tenant {tenant_id!r} not found")
        self._resolver.invalidate_tenant(tenant_id)
        return tenant
