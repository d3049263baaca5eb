"""Creating a tenant's resources (RFC 7644 §3.3): under a new id or one reserved for it (an
idempotent request's, an import's), and a create run again after its first outcome was lost."""

from __future__ import annotations

import asyncio
import logging
import uuid

from scimtenancy_server.deadlines import begin_writing, require_time
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.membership import Member
from scimtenancy_server.domain.permissions import Permission
from scimtenancy_server.domain.projection import Projection
from scimtenancy_server.domain.resource import JsonObject, StoredResource
from scimtenancy_server.domain.schema import GROUP, ResourceType
from scimtenancy_server.domain.tenant import Tenant, TenantContext
from scimtenancy_server.domain.validation import canonical_attributes
from scimtenancy_server.services.audit import AuditEntry
from scimtenancy_server.services.resource_writes import (
    ResourceWrites,
    refuse_while_moving,
    split_members,
)

logger = logging.getLogger(__name__)


class ResourceCreates(ResourceWrites):
    async def create(
        self,
        ctx: TenantContext,
        type_key: str,
        body: bytes,
        projection: Projection | None = None,
        resource_id: str | None = None,
        resumed: bool = False,
        *,
        bulk_event: AuditEntry | None = None,
    ) -> StoredResource:
        """Creates a resource (under `resource_id` if given, e.g. one an idempotent request
        reserved); with `projection`, it comes back with a Group's members (a new resource
        belongs to no group yet, so a User needs no lookup). `resumed`: the same create run
        again after its first attempt's outcome was lost, so the resource that attempt made
        under `resource_id`, if any, is the answer."""
        if resumed and resource_id:
            return await self._resume_create(
                ctx, type_key, body, projection, resource_id, bulk_event
            )
        new_id = resource_id or str(uuid.uuid4())
        document = self._parse(body)
        created = await self.store_new(ctx, type_key, document, new_id, bulk_event=bulk_event)
        if projection is None or created.resource_type != GROUP.name:
            return created
        return (await self.complete(ctx.tenant, [created], projection))[0]

    async def _resume_create(
        self,
        ctx: TenantContext,
        type_key: str,
        body: bytes,
        projection: Projection | None,
        resource_id: str,
        bulk_event: AuditEntry | None,
    ) -> StoredResource:
        """The resource the first attempt made, else a new one under the same id (a first
        attempt still running may get there first: its resource is then the answer)."""
        earlier = await self.created(ctx, type_key, resource_id, projection)
        if earlier is not None:
            return earlier
        try:
            return await self.create(
                ctx, type_key, body, projection, resource_id, bulk_event=bulk_event
            )
        except ScimError as error:
            earlier = await self.created(ctx, type_key, resource_id, projection)
            if error.status != 409 or earlier is None:
                raise
            return earlier

    async def created(
        self,
        ctx: TenantContext,
        type_key: str,
        resource_id: str,
        projection: Projection | None = None,
    ) -> StoredResource | None:
        """The resource an earlier attempt of this create made, as it is now; answering it
        needs the right to create, not to read (the caller asked to create it)."""
        ctx.require(Permission.CREATE)
        rt = self.resource_type(type_key, ctx.tenant)
        found = await self._repository.get(ctx.tenant, rt, resource_id)
        if found is None or projection is None:
            return found
        return (await self.complete(ctx.tenant, [found], projection))[0]

    def validate(self, ctx: TenantContext, type_key: str, document: JsonObject) -> None:
        """Raises the ScimError a create of `document` would raise for its content."""
        canonical_attributes(
            self.resource_type(type_key, ctx.tenant),
            document,
            limits=self.limits,
            compatibility=ctx.tenant.compatibility,
        )

    async def store_new(
        self,
        ctx: TenantContext,
        type_key: str,
        document: JsonObject,
        resource_id: str,
        *,
        bulk_event: AuditEntry | None = None,
    ) -> StoredResource:
        """Creates a resource with the given id (imports and migrations keep their ids)."""
        async with self._audited(ctx, "create", type_key, resource_id, bulk_event) as audit:
            ctx.require(Permission.CREATE)
            refuse_while_moving(ctx)
            rt = self.resource_type(type_key, ctx.tenant)
            if len(resource_id) > self.limits.max_id_length:
                raise ScimError.invalid_value(
                    f"an id may have at most {self.limits.max_id_length} characters"
                )
            attributes, change = split_members(
                rt,
                canonical_attributes(
                    rt, document, limits=self.limits, compatibility=ctx.tenant.compatibility
                ),
            )
            added = await self._members.resolve(ctx.tenant, change)
            now = self._clock()
            resource = StoredResource(rt.name, resource_id, 1, now, now, attributes)
            require_time()
            await audit.begin(None, resource.version)
            begin_writing()
            await self._insert_with_members(ctx.tenant, rt, resource, added)
            return resource

    async def _insert_with_members(
        self,
        tenant: Tenant,
        rt: ResourceType,
        resource: StoredResource,
        added: list[Member],
    ) -> None:
        """Writes a new group's members before the group: they are seen only through the
        group, so a fault at any step leaves either the whole group or none (members written
        for a group that never came to be are invisible, and cleared when possible)."""
        if added:
            await self._repository.memberships.add(tenant, resource.id, added)
        try:
            await self._repository.insert(tenant, resource, rt)
        except ScimError as error:
            if added and error.status != 409:  # 409: the id is taken, by a group of its own
                await asyncio.shield(self._clear_unborn(tenant, resource.id))
            raise
        except BaseException:
            if added:
                await asyncio.shield(self._clear_unborn(tenant, resource.id))
            raise
        if added:
            await asyncio.shield(self._members.settle(tenant, resource.id, added))

    async def _clear_unborn(self, tenant: Tenant, group_id: str) -> None:
        try:
            await self._repository.memberships.clear(tenant, group_id)
        except ScimError:
            logger.warning("memberships of a group that was not created are left behind")
