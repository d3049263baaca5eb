"""Server interceptors: error conversion for every RPC, tenant resolution, admin guard."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    AsyncExitStack,
    nullcontext,
)
from typing import Any, TypeVar

import grpc

from scimtenancy_common.telemetry import tracing_enabled
from scimtenancy_common.wire import BASE_URL_KEY, STARTED_KEY, TENANT_HINT_KEY, changes_data
from scimtenancy_server.deadlines import (
    NOT_STARTED,
    Budget,
    as_outcome,
    budget_for,
    loop_deadline,
    working_to,
)
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.rpc.context import RequestContext, enter_request, leave_request
from scimtenancy_server.rpc.errors import abort
from scimtenancy_server.rpc.observability import (
    Observation,
    OperationMetrics,
    operation_name,
    tracer,
)
from scimtenancy_server.services.fair_share import TenantFairShare
from scimtenancy_server.services.rate_limits import TenantRateLimiter
from scimtenancy_server.services.resolution import TenantResolver, bearer_token

logger = logging.getLogger(__name__)

Behaviour = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
Guard = Callable[[Mapping[str, str]], Awaitable[RequestContext | None]]
Admission = Callable[[RequestContext | None], AbstractAsyncContextManager[object]]

TENANT_SERVICES = (
    "/scimtenancy.resources.v1.ResourceService/",
    "/scimtenancy.discovery.v1.DiscoveryService/",
)
ADMIN_SERVICES = ("/scimtenancy.admin.v1.TenantAdminService/",)


def _metadata(context: grpc.aio.ServicerContext) -> dict[str, str]:
    return {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}


def _span(traced: bool, name: str, tenant: str = "") -> AbstractContextManager[object]:
    """The span of a stage when the process traces; nothing (not even a no-op span) if not."""
    if not traced:
        return nullcontext()
    return tracer.start_as_current_span(name, attributes={"tenant.id": tenant} if tenant else None)


# An RPC that may change stored data (`changes_data`), once started, runs to its end even if
# the caller stops waiting, so a deadline or a dropped connection never leaves a change half
# made.
_STARTED = ((STARTED_KEY, "1"),)
_T = TypeVar("_T")
_finishing: set[asyncio.Task[Any]] = set()


async def _holding(turn: AsyncExitStack, work: Awaitable[_T]) -> _T:
    async with turn:
        return await work


def _orphan_done(task: asyncio.Task[Any]) -> None:
    _finishing.discard(task)
    if not task.cancelled() and not isinstance(task.exception(), ScimError | None):
        logger.error("a change finished after its caller left", exc_info=task.exception())


async def _run_to_end(turn: AsyncExitStack, work: Awaitable[_T]) -> _T:
    """Runs a change in its own task holding the request's turn: cancelling the call (its
    deadline, the client gone) stops the waiting, not the change."""
    task = asyncio.ensure_future(_holding(turn, work))
    _finishing.add(task)
    task.add_done_callback(_orphan_done)
    return await asyncio.shield(task)


async def finish_changes(seconds: float) -> None:
    """Waits (at most `seconds`) for changes whose callers stopped waiting."""
    if _finishing:
        await asyncio.wait(set(_finishing), timeout=seconds)


async def _take_turn(
    stack: AsyncExitStack, turn: AbstractAsyncContextManager[object], budget: Budget
) -> None:
    """Waits for the request's turn until its budget ends: then it did nothing, and says so."""
    try:
        async with asyncio.timeout_at(loop_deadline(budget)):
            await stack.enter_async_context(turn)
    except TimeoutError:
        raise ScimError.unavailable(NOT_STARTED) from None


async def _worked_on(
    request_context: RequestContext | None,
    admit: Admission,
    budget: Budget,
    changes: bool,
    work: Callable[[], Awaitable[_T]],
) -> _T:
    async with AsyncExitStack() as stack:
        await _take_turn(stack, admit(request_context), budget)
        if changes:
            return await _run_to_end(stack.pop_all(), work())
        try:
            async with asyncio.timeout_at(loop_deadline(budget)):
                return await work()
        except TimeoutError:
            raise ScimError.unavailable("the request did not finish in time; retry") from None


def _guarded(
    method: str,
    behaviour: Behaviour,
    guard: Guard,
    admit: Admission,
    guard_span: str,
    metrics: OperationMetrics,
) -> Behaviour:
    operation = operation_name(method)
    traced = tracing_enabled()  # no-op spans still cost a context switch each
    changes = changes_data(method.rsplit("/", 1)[-1])

    async def handle(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if changes:
            await context.send_initial_metadata(_STARTED)
        metadata = _metadata(context)
        observation = Observation.begin(method, request, metadata, metrics)
        failure: ScimError | None = None

        async def work() -> Any:
            with _span(traced, f"scim.{operation}", observation.tenant):
                return await behaviour(request, context)

        with working_to(budget_for(context.time_remaining())) as budget:
            try:
                with _span(traced, guard_span):
                    request_context = await guard(metadata)
                observation.resolved(request_context)
                token = enter_request(request_context) if request_context else None
                try:
                    return await _worked_on(request_context, admit, budget, changes, work)
                finally:
                    if token is not None:
                        leave_request(token)
            except ScimError as error:
                failure = as_outcome(error)
            except Exception:
                logger.exception("unexpected failure in %s", method)
                failure = ScimError.internal()
            finally:
                observation.end(failure)
        assert failure is not None
        await abort(context, failure)

    return handle


class _GuardInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    prefixes: tuple[str, ...] = ()
    guard_span = ""
    metrics: OperationMetrics
    _wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]]

    async def guard(self, metadata: Mapping[str, str]) -> RequestContext | None:
        raise NotImplementedError

    def admit(self, request: RequestContext | None) -> AbstractAsyncContextManager[object]:
        """Waits, if need be, until the admitted request may be worked on."""
        return nullcontext()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or handler.unary_unary is None or not method.startswith(self.prefixes):
            return handler
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]  # services are registered once: wrap each method once, not per call
        wrapped = grpc.unary_unary_rpc_method_handler(
            _guarded(
                method, handler.unary_unary, self.guard, self.admit, self.guard_span, self.metrics
            ),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        self._wrapped[method] = (handler, wrapped)
        return wrapped


# Every `$ref` and `meta.location` repeats the base URL: a long one would multiply answers.
MAX_BASE_URL = 2048


def _base_url(value: str) -> str:
    """The caller's SCIM base URL for rendering (empty: render no URLs)."""
    if value and (len(value) > MAX_BASE_URL or not value.startswith(("http://", "https://"))):
        raise ScimError.invalid_value(
            f"{BASE_URL_KEY} must be an http(s) URL of at most {MAX_BASE_URL} characters"
        )
    return value


class TenantInterceptor(_GuardInterceptor):
    """Resolves the caller's tenant from its credential for every resource and discovery RPC."""

    prefixes = TENANT_SERVICES
    guard_span = "tenant.resolve"

    def __init__(
        self,
        resolver: TenantResolver,
        rate_limiter: TenantRateLimiter,
        metrics: OperationMetrics,
        fair_share: TenantFairShare | None = None,
    ) -> None:
        self.metrics = metrics
        self._wrapped = {}
        self._resolver = resolver
        self._rate_limiter = rate_limiter
        self._fair_share = fair_share or TenantFairShare(0)

    def admit(self, request: RequestContext | None) -> AbstractAsyncContextManager[object]:
        """The tenant's rate limit, then its turn; a request refused here counts as its
        tenant's (it proved its credential)."""
        if request is None:
            return nullcontext()
        tenant = request.tenant.tenant
        self._rate_limiter.admit(tenant.tenant_id, tenant.rate_limit)
        return self._fair_share.turn(tenant.tenant_id)

    async def guard(self, metadata: Mapping[str, str]) -> RequestContext | None:
        tenant = await self._resolver.resolve(metadata.get("authorization"))
        hint = metadata.get(TENANT_HINT_KEY)
        if hint and hint != tenant.tenant_id:
            # The same answer whether or not the named tenant exists.
            raise ScimError.forbidden("the credential does not belong to the tenant in the URL")
        return RequestContext(tenant, _base_url(metadata.get(BASE_URL_KEY, "")))


class AdminInterceptor(_GuardInterceptor):
    """Admits tenant-admin RPCs only with the configured admin token."""

    prefixes = ADMIN_SERVICES
    guard_span = "admin.authorize"

    def __init__(self, admin_token: str, metrics: OperationMetrics) -> None:
        self.metrics = metrics
        self._wrapped = {}
        self._admin_token = admin_token.encode()

    async def guard(self, metadata: Mapping[str, str]) -> RequestContext | None:
        presented = bearer_token(metadata.get("authorization")).encode()
        if not self._admin_token or not hmac.compare_digest(presented, self._admin_token):
            raise ScimError.unauthenticated("a valid admin token is required")
        return None
