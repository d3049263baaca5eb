"""The DiscoveryService servicer."""

from __future__ import annotations

from typing import Any

import grpc
import orjson

from scimtenancy.discovery.v1 import discovery_pb2 as pb
from scimtenancy.discovery.v1 import discovery_pb2_grpc
from scimtenancy_server.domain.discovery import (
    find_resource_type,
    find_schema,
    resource_type_document,
    schema_document,
    served_schemas,
    service_provider_config,
)
from scimtenancy_server.domain.render import list_response_json
from scimtenancy_server.domain.schema import ResourceTypeRegistry
from scimtenancy_server.rpc.context import current_request
from scimtenancy_server.services.bulk import BulkService


def _owner() -> str:
    """The display name of the tenant whose discovery documents are asked for."""
    return current_request().tenant.tenant.display_name


def _list_response(documents: list[dict[str, Any]]) -> bytes:
    """Every document, one page: discovery lists are short and not paged (RFC 7644 §4)."""
    return list_response_json(len(documents), [orjson.dumps(d) for d in documents])


class DiscoveryServicer(discovery_pb2_grpc.DiscoveryServiceServicer):
    def __init__(
        self,
        bulk: BulkService,
        registry: ResourceTypeRegistry,
        max_results: int,
        default_count: int,
    ) -> None:
        self._bulk = bulk
        self._registry = registry
        self._max_results = max_results
        self._default_count = default_count

    def _types(self) -> ResourceTypeRegistry:
        return self._registry.for_tenant(current_request().tenant.tenant)

    async def GetServiceProviderConfig(
        self, request: pb.GetServiceProviderConfigRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetServiceProviderConfigResponse:
        current = current_request()
        document = service_provider_config(
            current.base_url,
            self._max_results,
            self._default_count,
            self._bulk.max_operations,
            self._bulk.max_payload,
            current.tenant.tenant.responses,
        )
        return pb.GetServiceProviderConfigResponse(json=orjson.dumps(document))

    async def ListResourceTypes(
        self, request: pb.ListResourceTypesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListResourceTypesResponse:
        base, owner = current_request().base_url, _owner()
        documents = [resource_type_document(rt, base, owner) for rt in self._types().all()]
        return pb.ListResourceTypesResponse(json=_list_response(documents))

    async def GetResourceType(
        self, request: pb.GetResourceTypeRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetResourceTypeResponse:
        rt = find_resource_type(self._types(), request.id)
        document = resource_type_document(rt, current_request().base_url, _owner())
        return pb.GetResourceTypeResponse(json=orjson.dumps(document))

    async def ListSchemas(
        self, request: pb.ListSchemasRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSchemasResponse:
        base = current_request().base_url
        documents = [schema_document(s, base) for s in served_schemas(self._types())]
        return pb.ListSchemasResponse(json=_list_response(documents))

    async def GetSchema(
        self, request: pb.GetSchemaRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSchemaResponse:
        schema = find_schema(self._types(), request.id)
        document = schema_document(schema, current_request().base_url)
        return pb.GetSchemaResponse(json=orjson.dumps(document))
