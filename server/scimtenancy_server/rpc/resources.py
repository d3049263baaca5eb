"""The ResourceService servicer: protobuf in, ResourceService calls, protobuf out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import grpc
import orjson
from google.protobuf.duration_pb2 import Duration

from scimtenancy.resources.v1 import resources_pb2 as pb
from scimtenancy.resources.v1 import resources_pb2_grpc
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.idempotency import (
    BULK_SCOPE,
    create_scope,
    fingerprint,
    parse_key,
)
from scimtenancy_server.domain.projection import (
    Projection,
    ReturnPreference,
    bounded_projection,
    project,
)
from scimtenancy_server.domain.render import member_references, render, to_scim
from scimtenancy_server.domain.resource import StoredResource
from scimtenancy_server.domain.schema import ResourceType
from scimtenancy_server.domain.search import ListRequest
from scimtenancy_server.domain.tenant import Tenant
from scimtenancy_server.pacing import paced_chunks
from scimtenancy_server.rpc.context import current_request
from scimtenancy_server.rpc.list_response import page_fields
from scimtenancy_server.services.bulk import BulkService
from scimtenancy_server.services.idempotency import Attempt, IdempotencyService
from scimtenancy_server.services.resources import ListResult, ResourceService

# Group members rendered between two turns of the event loop.
_MEMBERS_PER_TURN = 500
# What `bounded_projection` makes of a request naming no attributes, under every profile.
_WHOLE = Projection()

_PREFERENCES = {
    pb.RETURN_PREFERENCE_UNSPECIFIED: ReturnPreference.UNSPECIFIED,
    pb.RETURN_PREFERENCE_MINIMAL: ReturnPreference.MINIMAL,
    pb.RETURN_PREFERENCE_REPRESENTATION: ReturnPreference.REPRESENTATION,
}


class ResourceServicer(resources_pb2_grpc.ResourceServiceServicer):
    def __init__(
        self, service: ResourceService, bulk: BulkService, idempotency: IdempotencyService
    ) -> None:
        self._service = service
        self._bulk = bulk
        self._idempotency = idempotency

    def _projection(self, message: pb.Projection) -> Projection:
        if not message.attributes and not message.excluded_attributes:
            return _WHOLE
        return bounded_projection(
            tuple(message.attributes),
            tuple(message.excluded_attributes),
            self._service.limits,
            current_request().tenant.tenant.compatibility,
        )

    async def _rendered(
        self, resources: Sequence[StoredResource], projection: Projection
    ) -> list[pb.Resource]:
        rendered: list[pb.Resource] = []
        async for chunk in paced_chunks(resources):  # a page of 1,000 takes tens of ms
            for resource in chunk:
                rendered.append(await self._one(resource, projection))
        return rendered

    async def _page(self, result: ListResult, projection: Projection, view: int) -> dict[str, Any]:
        """The fields ListResourcesResponse and SearchResourcesResponse share."""
        resources = await self._rendered(result.page.resources, projection)
        return page_fields(result, resources, view)

    async def _one(
        self, resource: StoredResource, projection: Projection, into: pb.Resource | None = None
    ) -> pb.Resource:
        """The resource's message, written `into` a reply's field if given (no copy)."""
        members = resource.attributes.get("members")
        many = isinstance(members, list) and len(members) > _MEMBERS_PER_TURN
        json = None
        if many and projection.shows_whole("members"):
            json = await self._with_many_members(resource, projection)
        return self._message(resource, projection, json, into)

    def _message(
        self,
        resource: StoredResource,
        projection: Projection,
        json: bytes | None = None,
        into: pb.Resource | None = None,
    ) -> pb.Resource:
        current = current_request()
        tenant = current.tenant.tenant
        rt = self._service.resource_type(resource.resource_type, tenant)
        message = pb.Resource() if into is None else into
        message.id = resource.id
        message.resource_type = resource.resource_type
        message.version = _version(tenant, resource)
        message.json = (
            _json(tenant, rt, resource, projection, current.base_url) if json is None else json
        )
        return message

    async def _with_many_members(self, group: StoredResource, projection: Projection) -> bytes:
        """A group with more members than a page renders them a page at a time between turns
        of the event loop (100,000 members take a few hundred ms) and joins the JSON."""
        members = group.attributes["members"]
        rest = replace(
            group, attributes={k: v for k, v in group.attributes.items() if k != "members"}
        )
        base_url = current_request().base_url
        head = self._message(rest, projection).json
        parts = [
            orjson.dumps(member_references(page, base_url))[1:-1]
            async for page in paced_chunks(members, _MEMBERS_PER_TURN)
        ]
        return head[:-1] + b',"members":[' + b",".join(parts) + b"]}"

    async def CreateResource(
        self, request: pb.CreateResourceRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateResourceResponse:
        key = parse_key(request.idempotency_key)
        projection = self._projection(request.projection)  # refused before anything is written
        if key is None:
            return await self._create(request, projection, None)
        tenant = current_request().tenant
        scope = create_scope(self._service.type_name(tenant, request.resource_type))
        requested = fingerprint(
            scope,
            request.json,
            request.projection.attributes,
            request.projection.excluded_attributes,
        )

        async def attempt(run: Attempt) -> bytes:
            reply = await self._create(request, projection, run)
            serialized: bytes = reply.SerializeToString()
            return serialized

        async def reread(resource_id: str) -> bytes:
            return await self._created(request.resource_type, resource_id, projection)

        answer = await self._idempotency.run(
            tenant.tenant_id, key, scope, requested, attempt, reread
        )
        reply = pb.CreateResourceResponse.FromString(answer)
        if reply.resource.version and not tenant.tenant.responses.etag:
            _unversion(reply.resource)  # a replay of an answer from before versions went
        return reply

    async def _create(
        self, request: pb.CreateResourceRequest, projection: Projection, run: Attempt | None
    ) -> pb.CreateResourceResponse:
        created = await self._service.create(
            current_request().tenant,
            request.resource_type,
            request.json,
            projection,
            resource_id=run.reserved_id if run else None,
            resumed=run is not None and run.resumed,
        )
        reply = pb.CreateResourceResponse()
        await self._one(created, projection, reply.resource)
        return reply

    async def _created(self, type_key: str, resource_id: str, projection: Projection) -> bytes:
        """A keyed create's answer rebuilt from the resource (it was too large to keep)."""
        tenant = current_request().tenant
        found = await self._service.created(tenant, type_key, resource_id, projection)
        if found is None:
            raise ScimError.conflict(
                "the request with this Idempotency-Key created a resource that has since "
                "been deleted"
            )
        reply = pb.CreateResourceResponse()
        await self._one(found, projection, reply.resource)
        serialized: bytes = reply.SerializeToString()
        return serialized

    async def GetResource(
        self, request: pb.GetResourceRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetResourceResponse:
        tenant = current_request().tenant
        projection = self._projection(request.projection)
        found = await self._service.get(tenant, request.resource_type, request.id, projection)
        reply = pb.GetResourceResponse()
        await self._one(found, projection, reply.resource)
        return reply

    async def ReplaceResource(
        self, request: pb.ReplaceResourceRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReplaceResourceResponse:
        projection = self._projection(request.projection)
        replaced = await self._service.replace(
            current_request().tenant,
            request.resource_type,
            request.id,
            request.json,
            request.if_match,
            projection,
        )
        reply = pb.ReplaceResourceResponse()
        await self._one(replaced, projection, reply.resource)
        return reply

    async def PatchResource(
        self, request: pb.PatchResourceRequest, context: grpc.aio.ServicerContext
    ) -> pb.PatchResourceResponse:
        projection = self._projection(request.projection)
        patched = await self._service.patch(
            current_request().tenant,
            request.resource_type,
            request.id,
            request.json,
            request.if_match,
            projection,
            _PREFERENCES.get(request.return_preference, ReturnPreference.UNSPECIFIED),
        )
        resource = patched.resource
        if patched.minimal:
            tenant = current_request().tenant.tenant
            minimal = pb.Resource(
                id=resource.id,
                resource_type=resource.resource_type,
                version=_version(tenant, resource),
            )
            return pb.PatchResourceResponse(resource=minimal, minimal=True)
        reply = pb.PatchResourceResponse()
        await self._one(resource, projection, reply.resource)
        return reply

    async def DeleteResource(
        self, request: pb.DeleteResourceRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteResourceResponse:
        await self._service.delete(
            current_request().tenant, request.resource_type, request.id, request.if_match
        )
        return pb.DeleteResourceResponse()

    async def ListResources(
        self, request: pb.ListResourcesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListResourcesResponse:
        projection = self._projection(request.projection)
        query = ListRequest(
            filter=request.filter,
            start_index=request.start_index if request.HasField("start_index") else None,
            count=request.count if request.HasField("count") else None,
            sort_by=request.sort_by,
            sort_order=request.sort_order,
            projection=projection,
            cursor=request.cursor if request.HasField("cursor") else None,
        )
        result = await self._service.list_resources(
            current_request().tenant, request.resource_type, query
        )
        return pb.ListResourcesResponse(**await self._page(result, projection, request.view))

    async def SearchResources(
        self, request: pb.SearchResourcesRequest, context: grpc.aio.ServicerContext
    ) -> pb.SearchResourcesResponse:
        found = await self._service.search(
            current_request().tenant, request.resource_type, request.json
        )
        page = await self._page(found.result, found.projection, request.view)
        return pb.SearchResourcesResponse(**page)

    async def ResolveMe(
        self, request: pb.ResolveMeRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResolveMeResponse:
        return pb.ResolveMeResponse(id=await self._service.resolve_me(current_request().tenant))

    async def Bulk(
        self, request: pb.BulkRequest, context: grpc.aio.ServicerContext
    ) -> pb.BulkResponse:
        tenant = current_request().tenant.tenant
        self._bulk.require_offered(tenant)  # before an Idempotency-Key is looked at
        key = parse_key(request.idempotency_key)
        if key is None:
            return await self._run_bulk(request, None)

        async def attempt(run: Attempt) -> bytes:
            serialized: bytes = (await self._run_bulk(request, run)).SerializeToString()
            return serialized

        requested = fingerprint(BULK_SCOPE, request.json)
        answer = await self._idempotency.run(tenant.tenant_id, key, BULK_SCOPE, requested, attempt)
        reply = pb.BulkResponse.FromString(answer)
        if not tenant.responses.etag and b'"version"' in reply.json:
            reply.json = _unversioned_bulk(reply.json)  # a replay from before versions went
        return reply

    async def _run_bulk(self, request: pb.BulkRequest, run: Attempt | None) -> pb.BulkResponse:
        """A keyed bulk's POSTs get ids derived from the reserved seed; a resumed run answers
        those an earlier attempt created as created."""
        current = current_request()
        response = await self._bulk.run(
            current.tenant,
            request.json,
            current.base_url,
            id_seed=run.reserved_id if run else None,
            resume=run is not None and run.resumed,
        )
        return pb.BulkResponse(json=orjson.dumps(response))

    async def CheckHealth(
        self, request: pb.CheckHealthRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckHealthResponse:
        tenant = current_request().tenant
        health = await self._service.health(tenant)
        round_trip = Duration()
        round_trip.FromTimedelta(timedelta(seconds=health.storage_round_trip))
        return pb.CheckHealthResponse(
            tenant_id=tenant.tenant_id,
            isolation_level=tenant.tenant.isolation.value,
            storage_round_trip=round_trip,
            usage=[
                pb.ResourceUsage(resource_type=u.resource_type, used=u.used, limit=u.limit)
                for u in health.usage
            ],
        )


def _version(tenant: Tenant, resource: StoredResource) -> str:
    """The resource's version, where the tenant is offered versions (RFC 7644 §3.14)."""
    return resource.etag if tenant.responses.etag else ""


def _json(
    tenant: Tenant,
    rt: ResourceType,
    resource: StoredResource,
    projection: Projection,
    base_url: str,
) -> bytes:
    if tenant.responses.etag:
        return render(rt, resource, base_url, projection)
    body = to_scim(rt, resource, base_url)
    del body["meta"]["version"]
    return orjson.dumps(project(rt, body, projection))


def _unversion(resource: pb.Resource) -> None:
    """Takes the version out of a kept answer, for a tenant no longer offered versions."""
    body = orjson.loads(resource.json)
    meta = body.get("meta") if isinstance(body, dict) else None
    if isinstance(meta, dict):
        meta.pop("version", None)
        resource.json = orjson.dumps(body)
    resource.version = ""


def _unversioned_bulk(json: bytes) -> bytes:
    response = orjson.loads(json)
    for operation in response.get("Operations", ()):
        operation.pop("version", None)
    return orjson.dumps(response)
