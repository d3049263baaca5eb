"""Runs bulk requests (RFC 7644 §3.7) through the same operations as single requests, so
every rule (validation, tenant scoping, membership, preconditions) applies to each one."""

from __future__ import annotations

from typing import Any

import orjson

from scimtenancy_common.wire import ERROR_SCHEMA
from scimtenancy_server.domain.bulk import (
    BULK_RESPONSE_SCHEMA,
    BulkOperation,
    execution_order,
    operation_references,
    parse_bulk,
    substitute,
    too_large,
)
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.render import resource_location
from scimtenancy_server.domain.resource import StoredResource, parse_json_object
from scimtenancy_server.domain.tenant import TenantContext
from scimtenancy_server.pacing import Pacer
from scimtenancy_server.services.resources import ResourceService

_SUCCESS = {"POST": 201, "PUT": 200, "PATCH": 200, "DELETE": 204}


class BulkService:
    def __init__(
        self, resources: ResourceService, max_operations: int = 1000, max_payload: int = 1_048_576
    ) -> None:
        self._resources = resources
        self.max_operations = max_operations
        self.max_payload = max_payload

    async def run(self, ctx: TenantContext, body: bytes, base_url: str) -> dict[str, Any]:
        if len(body) > self.max_payload:
            raise too_large(f"a bulk request may hold at most {self.max_payload} bytes")
        document = parse_json_object(body, max_depth=self._resources.limits.max_json_depth)
        plan = parse_bulk(document, self.max_operations)
        order, cyclic = execution_order(plan.operations)
        ids: dict[str, str] = {}
        results: dict[int, dict[str, Any]] = {}
        errors = 0
        pacer = Pacer()
        for operation in order:
            if plan.fail_on_errors is not None and errors >= plan.fail_on_errors:
                break
            try:
                async with self._resources.audit.bulk_item(*self._audit_target(ctx, operation)):
                    results[operation.index] = await self._run_one(ctx, operation, ids, base_url)
            except ScimError as error:
                errors += 1
                results[operation.index] = _failure(operation, error)
            # Embedded storage never suspends: let other tenants' requests in between.
            await pacer.pace()
        if plan.fail_on_errors is None or errors < plan.fail_on_errors:
            cycle = ScimError.conflict("circular bulkId references cannot be resolved")
            for operation in cyclic:
                target = self._audit_target(ctx, operation)
                await self._resources.audit.refused(*target, cycle)
                results[operation.index] = _failure(operation, cycle)
        return {
            "schemas": [BULK_RESPONSE_SCHEMA],
            "Operations": [results[i] for i in sorted(results)],
        }

    def _audit_target(
        self, ctx: TenantContext, operation: BulkOperation
    ) -> tuple[str, str, str, str, str]:
        """Who runs the operation and what it names, as far as its path says (an id may
        still be a `bulkId:` reference)."""
        endpoint, _, resource_id = operation.path.strip("/").partition("/")
        name = self._resources.type_name(ctx, endpoint)
        return ctx.tenant_id, ctx.actor, operation.method, name, resource_id

    async def _run_one(
        self, ctx: TenantContext, operation: BulkOperation, ids: dict[str, str], base_url: str
    ) -> dict[str, Any]:
        missing = operation_references(operation) - ids.keys()
        if missing:
            raise ScimError.invalid_value(
                f"bulkId {sorted(missing)[0]!r} names no resource created in this request"
            )
        parts = [substitute(part, ids) for part in operation.path.strip("/").split("/")]
        data = orjson.dumps(substitute(operation.data, ids)) if operation.data is not None else b""
        resource = await self._dispatch(ctx, operation, parts, data)
        result: dict[str, Any] = {
            "method": operation.method,
            "status": str(_SUCCESS[operation.method]),
        }
        if operation.bulk_id:
            result["bulkId"] = operation.bulk_id
        if resource is not None:
            if operation.method == "POST" and operation.bulk_id:
                ids[operation.bulk_id] = resource.id
            rt = self._resources.resource_type(resource.resource_type, ctx.tenant)
            result["location"] = resource_location(base_url, rt.endpoint, resource.id)
            result["version"] = resource.etag
        return result

    async def _dispatch(
        self, ctx: TenantContext, operation: BulkOperation, parts: list[str], data: bytes
    ) -> StoredResource | None:
        method = operation.method
        if method == "POST" and len(parts) == 1:
            return await self._resources.create(ctx, parts[0], data)
        if len(parts) != 2 or method == "POST":
            raise ScimError.invalid_path(f"{method} cannot be applied to {operation.path!r}")
        endpoint, resource_id = parts
        if method == "PUT":
            return await self._resources.replace(
                ctx, endpoint, resource_id, data, operation.version
            )
        if method == "PATCH":
            patch = self._resources.patch(ctx, endpoint, resource_id, data, operation.version)
            return (await patch).resource
        await self._resources.delete(ctx, endpoint, resource_id, operation.version)
        return None


def _failure(operation: BulkOperation, error: ScimError) -> dict[str, Any]:
    response: dict[str, Any] = {
        "schemas": [ERROR_SCHEMA],
        "status": str(error.status),
        "detail": error.detail,
    }
    if error.scim_type:
        response["scimType"] = error.scim_type
    result: dict[str, Any] = {
        "method": operation.method,
        "status": str(error.status),
        "response": response,
    }
    if operation.bulk_id:
        result["bulkId"] = operation.bulk_id
    return result
