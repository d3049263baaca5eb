"""Changing a tenant's resources (RFC 7644 §3.5 and §3.6): PUT, PATCH and DELETE, each audited,
written on the version it read and retried when another writer got there first."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import partial

from scimtenancy_server.deadlines import begin_writing, require_time
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.membership import (
    MEMBER_TYPES,
    Member,
    MembershipChange,
    display_name,
)
from scimtenancy_server.domain.patch import check_patch, parse_patch
from scimtenancy_server.domain.permissions import Permission
from scimtenancy_server.domain.projection import Projection, ReturnPreference
from scimtenancy_server.domain.resource import JsonObject, StoredResource, version_matches
from scimtenancy_server.domain.schema import GROUP, ResourceType
from scimtenancy_server.domain.tenant import Tenant, TenantContext, TenantStatus
from scimtenancy_server.domain.tenant_responses import (
    offered_if_match,
    patch_returns_resource_for,
)
from scimtenancy_server.domain.validation import canonical_attributes, preserve_write_only
from scimtenancy_server.pacing import Pacer
from scimtenancy_server.services.audit import AuditEntry
from scimtenancy_server.services.group_members import inline_members
from scimtenancy_server.services.resource_reads import ResourceReads, not_found

# What a change to a resource produces: its new attributes and, for a Group, the change to
# its members (which are kept apart from its attributes).
Change = tuple[JsonObject, MembershipChange]

# Optimistic writes retry this often when another writer changed the resource in between.
_WRITE_ATTEMPTS = 5
# ... and a write that keeps losing to others goes on trying for this long (seconds): twenty
# identity-provider connections adding members to one group all get their turn.
_WRITE_PATIENCE = 5.0


@dataclass(frozen=True, slots=True)
class Patched:
    resource: StoredResource
    minimal: bool  # answered without the resource (HTTP 204)


class ResourceWrites(ResourceReads):
    def _audited(
        self,
        ctx: TenantContext,
        operation: str,
        type_key: str,
        resource_id: str,
        bulk_event: AuditEntry | None,
    ) -> AbstractAsyncContextManager[AuditEntry]:
        """The operation's audit event: its own, or the /Bulk operation's that runs it."""
        name = self.type_name(ctx, type_key)
        return self._audit.record(
            ctx.tenant_id, ctx.actor, operation, name, resource_id, bulk_event=bulk_event
        )

    async def replace(
        self,
        ctx: TenantContext,
        type_key: str,
        resource_id: str,
        body: bytes,
        if_match: str,
        projection: Projection | None = None,
        *,
        bulk_event: AuditEntry | None = None,
    ) -> StoredResource:
        """PUT (RFC 7644 §3.5.1); with `projection`, the result's computed attributes too."""
        async with self._audited(ctx, "replace", type_key, resource_id, bulk_event) as audit:
            ctx.require(Permission.UPDATE)
            rt = self.resource_type(type_key, ctx.tenant)
            document = self._parse(body)
            compatibility = ctx.tenant.compatibility
            # refuse bad input before reading anything
            canonical_attributes(rt, document, limits=self.limits, compatibility=compatibility)

            async def replacement(current: StoredResource) -> Change:
                attributes = canonical_attributes(
                    rt, document, current.attributes, self.limits, compatibility
                )
                attributes, change = split_members(rt, attributes)
                if rt.name == GROUP.name:
                    change.reset = True  # PUT replaces the members too, an absent list with none
                return preserve_write_only(rt, attributes, current.attributes), change

            replaced = await self._update(ctx, rt, resource_id, if_match, replacement, audit)
        return (await self.complete(ctx.tenant, [replaced], projection))[0]

    async def patch(
        self,
        ctx: TenantContext,
        type_key: str,
        resource_id: str,
        body: bytes,
        if_match: str,
        projection: Projection | None = None,
        preference: ReturnPreference = ReturnPreference.UNSPECIFIED,
        *,
        bulk_event: AuditEntry | None = None,
    ) -> Patched:
        """PATCH (RFC 7644 §3.5.2). With `projection`, the answer is the resource with its
        computed attributes, or minimal (`patch_returns_resource` decides)."""
        async with self._audited(ctx, "patch", type_key, resource_id, bulk_event) as audit:
            ctx.require(Permission.UPDATE)
            rt = self.resource_type(type_key, ctx.tenant)
            operations = parse_patch(self._parse(body), self.limits)
            compatibility = ctx.tenant.compatibility
            # refuse bad input before reading anything
            plan = check_patch(rt, operations, self.limits, compatibility)
            changes: list[MembershipChange] = []

            async def patched(current: StoredResource) -> Change:
                run, pacer = plan.run(current.attributes), Pacer()
                for operation in operations:
                    run.apply(operation)  # it may walk hundreds of values: let others in
                    await pacer.pace()
                changes.append(run.members)
                return run.result(), run.members

            resource = await self._update(ctx, rt, resource_id, if_match, patched, audit)
        if projection is None:
            return Patched(resource, minimal=False)
        members = changes[-1]
        some_members = not members.empty and not members.reset
        if not patch_returns_resource_for(ctx.tenant, projection, preference, some_members):
            return Patched(resource, minimal=True)
        return Patched((await self.complete(ctx.tenant, [resource], projection))[0], False)

    async def delete(
        self,
        ctx: TenantContext,
        type_key: str,
        resource_id: str,
        if_match: str,
        *,
        bulk_event: AuditEntry | None = None,
    ) -> None:
        async with self._audited(ctx, "delete", type_key, resource_id, bulk_event) as audit:
            await self._delete(ctx, type_key, resource_id, if_match, audit)

    async def _delete(
        self, ctx: TenantContext, type_key: str, resource_id: str, if_match: str, audit: AuditEntry
    ) -> None:
        ctx.require(Permission.DELETE)
        refuse_while_moving(ctx)
        if_match = offered_if_match(ctx.tenant, if_match)
        rt = self.resource_type(type_key, ctx.tenant)
        if len(resource_id) > self.limits.max_id_length:
            raise not_found(rt, resource_id)
        expected: int | None = None
        if if_match:
            current = await self._fetch(ctx, rt, resource_id)
            _check_precondition(current, if_match)
            expected = current.version
        require_time()
        await audit.begin(expected, None)  # without If-Match the version is not read
        begin_writing()
        deleted = await self._repository.delete(ctx.tenant, rt, resource_id, expected)
        if not deleted and if_match:
            raise _changed(rt, resource_id)
        if not deleted:
            await self._shared.refuse_write(ctx, rt, resource_id)
        # Also on a retried delete (404), which finishes what an interrupted one began.
        await self._forget_memberships(ctx.tenant, rt, resource_id)
        if not deleted:
            raise not_found(rt, resource_id)

    async def _forget_memberships(self, tenant: Tenant, rt: ResourceType, resource_id: str) -> None:
        """A deleted resource leaves every group it was a member of (RFC 7643 §4.2), and a
        deleted group holds no members."""
        if rt.name == GROUP.name:
            await self._repository.memberships.clear(tenant, resource_id)
        if rt.name in MEMBER_TYPES:
            await self._members.leave_all(tenant, rt.name, resource_id, self._clock())

    async def move_inline_members(self, tenant: Tenant, page_size: int = 500) -> int:
        """Moves the members that groups stored before memberships had their own documents
        hold inline into the membership index; online and idempotent. Creates the membership
        indexes first, for tenants provisioned before them. Returns how many groups moved."""
        await self._repository.provision(tenant, self.types(tenant).all())
        moved, offset = 0, 0
        while page := (
            await self._repository.list(tenant, GROUP, None, offset, page_size)
        ).resources:
            for group in page:
                moved += await self._move_inline_members(tenant, group)
            offset += len(page)
        return moved

    async def _move_inline_members(self, tenant: Tenant, group: StoredResource | None) -> bool:
        for _ in range(_WRITE_ATTEMPTS):
            if group is None or "members" not in group.attributes:
                return False
            if await self._members.migrate(tenant, group):
                return True
            group = await self._repository.get(tenant, GROUP, group.id)
        raise ScimError.conflict(f"Group {group.id if group else ''!r} kept changing; run again")

    async def _after_write(
        self,
        tenant: Tenant,
        rt: ResourceType,
        before: StoredResource,
        after: StoredResource,
        added: list[Member],
    ) -> None:
        """What follows a write even if the caller stops waiting: added members deleted
        meanwhile are taken out again, and a renamed member's groups show its new name."""
        await self._members.settle(tenant, after.id, added)
        if rt.name in MEMBER_TYPES and display_name(after.attributes) != display_name(
            before.attributes
        ):
            await self._members.renamed(tenant, rt.name, after.id)

    async def _update(
        self,
        ctx: TenantContext,
        rt: ResourceType,
        resource_id: str,
        if_match: str,
        change: Callable[[StoredResource], Awaitable[Change]],
        audit: AuditEntry,
    ) -> StoredResource:
        """Reads, changes and writes the resource on its version, retrying when another
        writer got there first; a Group's member change is written while its next version is
        held, so writers of one group take turns and none writes on a stale read."""
        refuse_while_moving(ctx)
        if_match = offered_if_match(ctx.tenant, if_match)
        resolved: dict[frozenset[str], list[Member]] = {}
        give_up = time.monotonic() + _WRITE_PATIENCE
        for attempt in itertools.count():
            if attempt >= _WRITE_ATTEMPTS and time.monotonic() > give_up:
                break
            require_time()  # another round only while the caller still waits
            current = await self._fetch(ctx, rt, resource_id)
            if if_match:
                _check_precondition(current, if_match)
            if rt.name == GROUP.name and "members" in current.attributes:
                await self._members.migrate(ctx.tenant, current)
                continue  # a group stored before memberships were apart: move them first
            attributes, members = await change(current)
            key = frozenset(members.added)
            if key not in resolved:  # only the new members are looked up, once
                resolved[key] = await self._members.resolve(ctx.tenant, members)
            added = resolved[key]
            updated = current.revised(attributes, self._clock())
            require_time()
            await audit.begin(current.version, updated.version)
            begin_writing()

            along = None
            if not members.empty:
                along = partial(self._members.applied, ctx.tenant, resource_id, members, added)
            if await self._repository.replace(ctx.tenant, rt, updated, current.version, along):
                await asyncio.shield(self._after_write(ctx.tenant, rt, current, updated, added))
                return updated
            if if_match:
                raise _changed(rt, resource_id)
            await _back_off(attempt)
        raise ScimError.conflict(f"{rt.name} {resource_id!r} is changing too often; retry")


async def _back_off(attempt: int) -> None:
    """A short random wait before the next round, so that writers of one resource that keep
    colliding spread out (full jitter, at most 64 ms)."""
    await asyncio.sleep(random.uniform(0, 0.001 * 2 ** min(attempt, 6)))  # noqa: S311 - not a secret


def split_members(rt: ResourceType, attributes: JsonObject) -> Change:
    """A Group's attributes without `members`, and the members as a change that sets them."""
    change = MembershipChange()
    if rt.name != GROUP.name:
        return attributes, change
    rest, members = inline_members(attributes)
    change.add(members)
    return rest, change


def refuse_while_moving(ctx: TenantContext) -> None:
    if ctx.tenant.status is TenantStatus.MOVING:
        raise ScimError.unavailable(
            "the tenant is moving between isolation levels; retry in a few seconds"
        )


def _check_precondition(current: StoredResource, if_match: str) -> None:
    if not version_matches(if_match, current.version):
        raise ScimError.precondition_failed(
            f"If-Match {if_match} does not match the current version {current.etag}"
        )


def _changed(rt: ResourceType, resource_id: str) -> ScimError:
    return ScimError.precondition_failed(f"{rt.name} {resource_id!r} changed concurrently")
