"""Runs bulk requests (RFC 7644 §3.7) through the same operations as single requests, so
every rule (validation, tenant scoping, membership, preconditions) applies to each one."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson

from scimtenancy_common.wire import ERROR_SCHEMA
from scimtenancy_server.deadlines import Budget, as_outcome, current_budget, working_to
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
from scimtenancy_server.domain.tenant import PatchAnswer, Tenant, TenantContext
from scimtenancy_server.pacing import Pacer
from scimtenancy_server.services.audit import AuditEntry, AuditLog
from scimtenancy_server.services.resources import ResourceService

_SUCCESS = {"POST": 201, "PUT": 200, "PATCH": 200, "DELETE": 204}
# The namespace of ids derived from an idempotent bulk request's seed (RFC 9562 §5.5).
_SEEDED_IDS = uuid.UUID("5c1d3a52-8f4e-4f0b-9d61-2a7e3b0c9e14")


class BulkService:
    def __init__(
        self,
        resources: ResourceService,
        audit: AuditLog,
        max_operations: int = 1000,
        max_payload: int = 1_048_576,
    ) -> None:
        self._resources = resources
        self._audit = audit
        self.max_operations = max_operations
        self.max_payload = max_payload

    @staticmethod
    def require_offered(tenant: Tenant) -> None:
        """RFC 7644 §3.7: a service that does not support /Bulk says so in its
        ServiceProviderConfig; §3.12: 501 for an operation it does not support."""
        if not tenant.responses.bulk:
            raise ScimError.not_implemented(
                "/Bulk is not offered to this tenant (see its ServiceProviderConfig)"
            )

    async def run(
        self,
        ctx: TenantContext,
        body: bytes,
        base_url: str,
        *,
        id_seed: str | None = None,
        resume: bool = False,
    ) -> dict[str, Any]:
        """Runs the operations in dependency order while the request's time lasts; those it
        cannot start in time answer 503 each, so the response tells exactly what was done.

        With `id_seed`, a POST creates its resource under an id derived from the seed and
        its position; with `resume` (the same request run again after its first attempt's
        outcome was lost), a POST whose derived id exists answers that resource as created (a
        DELETE that the first attempt made answers 404, as any retried DELETE does)."""
        self.require_offered(ctx.tenant)
        if len(body) > self.max_payload:
            raise too_large(f"a bulk request may hold at most {self.max_payload} bytes")
        document = parse_json_object(body, max_depth=self._resources.limits.max_json_depth)
        plan = parse_bulk(document, self.max_operations)
        order, cyclic = execution_order(plan.operations)
        run = _Run(ctx, base_url, id_seed, resume)
        errors = 0
        pacer = Pacer()
        slowest = 0.0
        for position, operation in enumerate(order):
            if plan.fail_on_errors is not None and errors >= plan.fail_on_errors:
                break
            if current_budget().exhausted(slowest):
                self._not_started(run, order[position:])
                break
            started = time.monotonic()
            if not await self._run_audited(run, operation):
                errors += 1
            slowest = max(slowest, time.monotonic() - started)
            # Embedded storage never suspends: let other tenants' requests in between.
            await pacer.pace()
        if plan.fail_on_errors is None or errors < plan.fail_on_errors:
            cycle = ScimError.conflict("circular bulkId references cannot be resolved")
            for operation in cyclic:
                target = self._audit_target(ctx, operation)
                await self._audit.refused(*target, cycle)
                run.results[operation.index] = _failure(operation, cycle)
        return {
            "schemas": [BULK_RESPONSE_SCHEMA],
            "Operations": [run.results[i] for i in sorted(run.results)],
        }

    async def _run_audited(self, run: _Run, operation: BulkOperation) -> bool:
        """Runs one operation, as one audit event, with its own record of whether it began
        writing; True when it succeeded."""
        with working_to(Budget(current_budget().deadline)):
            try:
                target = self._audit_target(run.ctx, operation)
                async with self._audit.bulk_item(*target) as event:
                    run.results[operation.index] = await self._run_one(run, operation, event)
            except ScimError as error:
                run.results[operation.index] = _failure(operation, as_outcome(error))
                return False
        return True

    def _not_started(self, run: _Run, operations: list[BulkOperation]) -> None:
        late = ScimError.unavailable(
            "the request ran out of time before this operation started; send it again"
        )
        for operation in operations:
            run.results[operation.index] = _failure(operation, late)

    def _audit_target(
        self, ctx: TenantContext, operation: BulkOperation
    ) -> tuple[str, str, str, str, str]:
        """Who runs the operation and what it names, as far as its path says (an id may
        still be a `bulkId:` reference)."""
        endpoint, _, resource_id = operation.path.strip("/").partition("/")
        name = self._resources.type_name(ctx, endpoint)
        return ctx.tenant_id, ctx.actor, operation.method, name, resource_id

    async def _run_one(
        self, run: _Run, operation: BulkOperation, event: AuditEntry
    ) -> dict[str, Any]:
        missing = operation_references(operation) - run.ids.keys()
        if missing:
            raise ScimError.invalid_value(
                f"bulkId {sorted(missing)[0]!r} names no resource created in this request"
            )
        parts = [substitute(part, run.ids) for part in operation.path.strip("/").split("/")]
        data = operation.data
        payload = orjson.dumps(substitute(data, run.ids)) if data is not None else b""
        resource = await self._dispatch(run, operation, parts, payload, event)
        result: dict[str, Any] = {
            "method": operation.method,
            "status": str(_success(run.ctx.tenant, operation.method)),
        }
        if operation.bulk_id:
            result["bulkId"] = operation.bulk_id
        if resource is not None:
            if operation.method == "POST" and operation.bulk_id:
                run.ids[operation.bulk_id] = resource.id
            rt = self._resources.resource_type(resource.resource_type, run.ctx.tenant)
            result["location"] = resource_location(run.base_url, rt.endpoint, resource.id)
            if run.ctx.tenant.responses.etag:
                result["version"] = resource.etag
        return result

    async def _dispatch(
        self,
        run: _Run,
        operation: BulkOperation,
        parts: list[str],
        data: bytes,
        event: AuditEntry,
    ) -> StoredResource | None:
        """Runs the operation as the single request it stands for; that request joins the
        operation's audit `event` instead of opening one of its own."""
        method, ctx, version = operation.method, run.ctx, operation.version
        if method == "POST" and len(parts) == 1:
            return await self._create(run, operation, parts[0], data, event)
        if len(parts) != 2 or method == "POST":
            raise ScimError.invalid_path(f"{method} cannot be applied to {operation.path!r}")
        endpoint, resource_id = parts
        if method == "PUT":
            return await self._resources.replace(
                ctx, endpoint, resource_id, data, version, bulk_event=event
            )
        if method == "PATCH":
            patch = self._resources.patch(
                ctx, endpoint, resource_id, data, version, bulk_event=event
            )
            return (await patch).resource
        await self._resources.delete(ctx, endpoint, resource_id, version, bulk_event=event)
        return None

    async def _create(
        self, run: _Run, operation: BulkOperation, endpoint: str, data: bytes, event: AuditEntry
    ) -> StoredResource:
        new_id = run.seeded_id(operation)
        return await self._resources.create(
            run.ctx, endpoint, data, resource_id=new_id, resumed=run.resume, bulk_event=event
        )


@dataclass
class _Run:
    """One run of a bulk request: who runs it, the ids its POSTs made, the answers so far."""

    ctx: TenantContext
    base_url: str
    id_seed: str | None
    resume: bool
    ids: dict[str, str] = field(default_factory=dict)
    results: dict[int, dict[str, Any]] = field(default_factory=dict)

    def seeded_id(self, operation: BulkOperation) -> str | None:
        if self.id_seed is None:
            return None
        return str(uuid.uuid5(_SEEDED_IDS, f"{self.id_seed}/{operation.index}"))


def _success(tenant: Tenant, method: str) -> int:
    """A successful operation's status; a PATCH's is 204 for tenants whose PATCH answers
    have no body (RFC 7644 §3.5.2 allows either; the BulkResponse carries no resource)."""
    if method == "PATCH" and tenant.responses.patch_answer is PatchAnswer.NO_CONTENT:
        return 204
    return _SUCCESS[method]


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
