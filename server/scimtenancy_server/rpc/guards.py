"""The guards of every RPC: error conversion, tenant resolution (with its rate limit and fair
share) or the admin token, the request's budget, its metrics and log context.

A guard wraps each method of a servicer once, when the servicer is registered (`register`),
so a call runs its guarded method directly: no interceptor pipeline runs per call. The
tracing instrumentation's span interceptor, when the process traces, stays around it."""

from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, nullcontext
from functools import partial
from types import TracebackType
from typing import Any, TypeVar

import grpc

from scimtenancy_common.telemetry import tracing_enabled
from scimtenancy_common.wire import BASE_URL_KEY, STARTED_KEY, TENANT_HINT_KEY, changes_data
from scimtenancy_server.deadlines import (
    NOT_STARTED,
    Budget,
    as_outcome,
    budget_for,
    enter_budget,
    leave_budget,
    loop_deadline,
)
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.rpc.context import RequestContext, enter_request, leave_request
from scimtenancy_server.rpc.errors import abort
from scimtenancy_server.rpc.observability import Observation, operation_name, tracer
from scimtenancy_server.rpc.operation_metrics import OperationMetrics
from scimtenancy_server.services.fair_share import UNBOUNDED, Place, TenantFairShare
from scimtenancy_server.services.rate_limits import TenantRateLimiter
from scimtenancy_server.services.resolution import TenantResolver, bearer_token

logger = logging.getLogger(__name__)

Behaviour = Callable[[Any, grpc.aio.ServicerContext], Coroutine[Any, Any, Any]]
# A generated `add_<Service>Servicer_to_server(servicer, server)`.
AddServicer = Callable[[Any, Any], None]


def _metadata(context: grpc.aio.ServicerContext) -> dict[str, str]:
    # Only keys ending in `-bin` carry bytes, and none of those is ever looked up.
    return dict(context.invocation_metadata() or ())


# An RPC that may change stored data (`changes_data`), once started, runs to its end even if
# the caller stops waiting, so a deadline or a dropped connection never leaves a change half
# made.
_STARTED = ((STARTED_KEY, "1"),)
_T = TypeVar("_T")
_finishing: set[asyncio.Task[Any]] = set()


async def _holding(turn: AbstractAsyncContextManager[object], work: Awaitable[_T]) -> _T:
    async with turn:
        return await work


def _orphan_done(task: asyncio.Task[Any]) -> None:
    _finishing.discard(task)
    if not task.cancelled() and not isinstance(task.exception(), ScimError | None):
        logger.error("a change finished after its caller left", exc_info=task.exception())


async def _run_to_end(turn: AbstractAsyncContextManager[object], work: Awaitable[_T]) -> _T:
    """Runs a change in its own task holding the request's turn: cancelling the call (its
    deadline, the client gone) stops the waiting, not the change."""
    task = asyncio.get_running_loop().create_task(_holding(turn, work))
    _finishing.add(task)
    task.add_done_callback(_orphan_done)
    return await asyncio.shield(task)


async def finish_changes(seconds: float) -> None:
    """Waits (at most `seconds`) for changes whose callers stopped waiting."""
    if _finishing:
        await asyncio.wait(set(_finishing), timeout=seconds)


class _Held:
    """A place taken at once, as the turn a change holds to its end."""

    __slots__ = ("_place",)

    def __init__(self, place: Place) -> None:
        self._place = place

    async def __aenter__(self) -> Place:
        return self._place

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._place.release()


async def _take_turn(
    stack: AsyncExitStack, turn: AbstractAsyncContextManager[object], budget: Budget
) -> None:
    """Waits for the request's turn until its budget ends: then it did nothing, and says so."""
    try:
        async with asyncio.timeout_at(loop_deadline(budget)):
            await stack.enter_async_context(turn)
    except TimeoutError:
        raise ScimError.unavailable(NOT_STARTED) from None


_LATE = "the request did not finish in time; retry"


async def _in_time(budget: Budget, work: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """The work, refused once the budget ends."""
    try:
        async with asyncio.timeout_at(loop_deadline(budget)):
            return await work()
    except TimeoutError:
        raise ScimError.unavailable(_LATE) from None


async def _worked_on_in_turn(
    turn: AbstractAsyncContextManager[object],
    budget: Budget,
    changes: bool,
    work: Callable[[], Coroutine[Any, Any, _T]],
) -> _T:
    """The request once its turn comes (it waits at most its budget)."""
    async with AsyncExitStack() as stack:
        await _take_turn(stack, turn, budget)
        if changes:
            return await _run_to_end(stack.pop_all(), work())
        return await _in_time(budget, work)


class Guard:
    """What lets a call in (`resolve`) and when it is worked on (`admit`, `turn`)."""

    guard_span = ""

    def __init__(self, metrics: OperationMetrics) -> None:
        self.metrics = metrics

    async def resolve(self, metadata: Mapping[str, str]) -> RequestContext | None:
        raise NotImplementedError

    def admit(self, request: RequestContext | None) -> Place | None:
        """The place the admitted request is worked on in, if free at once; None: it waits
        for `turn`."""
        return UNBOUNDED

    def turn(self, request: RequestContext | None) -> AbstractAsyncContextManager[object]:
        """Waits until the request (not admitted at once) may be worked on, and holds that."""
        return nullcontext()

    def register(self, server: grpc.aio.Server, add: AddServicer, servicer: Any) -> None:
        """Registers the servicer (through its generated `add`) with every unary method
        guarded."""
        registration = _Registration()
        add(servicer, registration)
        if not registration.services:
            raise RuntimeError(f"{add.__name__} registered no method handlers")
        for service, handlers in registration.services.items():
            guarded = {
                name: self._guarded(f"/{service}/{name}", handler)
                for name, handler in handlers.items()
            }
            server.add_generic_rpc_handlers(
                (grpc.method_handlers_generic_handler(service, guarded),)
            )
            server.add_registered_method_handlers(service, guarded)

    def _guarded(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        if handler.unary_unary is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            _guarded(method, _coroutine_function(handler.unary_unary), self),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _coroutine_function(behaviour: Callable[..., Any]) -> Behaviour:
    """The method as a coroutine function (the generated base class's are plain functions
    that refuse), so its work is a coroutine that `_in_time` awaits and `_run_to_end` runs in
    a task of its own."""
    if inspect.iscoroutinefunction(behaviour):
        return behaviour

    async def awaiting(request: Any, context: grpc.aio.ServicerContext) -> Any:
        return await behaviour(request, context)

    return awaiting


class _Registration:
    """Stands in for the server while generated code registers a servicer: keeps the method
    handlers of each service."""

    def __init__(self) -> None:
        self.services: dict[str, dict[str, grpc.RpcMethodHandler]] = {}

    def add_generic_rpc_handlers(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        """The same handlers come by service in `add_registered_method_handlers`."""

    def add_registered_method_handlers(
        self, service: str, handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        self.services[service] = dict(handlers)


async def _worked_on(
    guard: Guard,
    request: RequestContext | None,
    budget: Budget,
    changes: bool,
    work: Callable[[], Coroutine[Any, Any, _T]],
) -> _T:
    place = guard.admit(request)
    if place is None:
        return await _worked_on_in_turn(guard.turn(request), budget, changes, work)
    if changes:
        return await _run_to_end(_Held(place), work())
    try:
        return await _in_time(budget, work)
    finally:
        place.release()


async def _in_span(name: str, tenant: str, work: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    with tracer.start_as_current_span(name, attributes={"tenant.id": tenant} if tenant else None):
        return await work()


async def _resolved_in_span(guard: Guard, metadata: Mapping[str, str]) -> RequestContext | None:
    with tracer.start_as_current_span(guard.guard_span):
        return await guard.resolve(metadata)


def _guarded(method: str, behaviour: Behaviour, guard: Guard) -> Behaviour:
    operation = operation_name(method)
    span_name = f"scim.{operation}"
    metrics = guard.metrics
    traced = tracing_enabled()  # no-op spans still cost a context switch each
    changes = changes_data(method.rsplit("/", 1)[-1])

    async def handle(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if changes:
            await context.send_initial_metadata(_STARTED)
        metadata = _metadata(context)
        observation = Observation.begin(operation, request, metadata, metrics, traced)
        failure: ScimError | None = None
        budget = budget_for(context.time_remaining())
        budget_token = enter_budget(budget)
        try:
            if traced:
                request_context = await _resolved_in_span(guard, metadata)
            else:
                request_context = await guard.resolve(metadata)
            observation.resolved(request_context)
            work: Callable[[], Coroutine[Any, Any, Any]] = partial(behaviour, request, context)
            if traced:
                work = partial(_in_span, span_name, observation.tenant, work)
            token = enter_request(request_context) if request_context else None
            try:
                return await _worked_on(guard, request_context, budget, changes, work)
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
            leave_budget(budget_token)
        assert failure is not None
        await abort(context, failure)

    return handle


# Every `$ref` and `meta.location` repeats the base URL: a long one would multiply answers.
MAX_BASE_URL = 2048


def _base_url(value: str) -> str:
    """The caller's SCIM base URL for rendering (empty: render no URLs)."""
    if value and (len(value) > MAX_BASE_URL or not value.startswith(("http://", "https://"))):
        raise ScimError.invalid_value(
            f"{BASE_URL_KEY} must be an http(s) URL of at most {MAX_BASE_URL} characters"
        )
    return value


class TenantGuard(Guard):
    """Resolves the caller's tenant from its credential for every resource and discovery RPC."""

    guard_span = "tenant.resolve"

    def __init__(
        self,
        resolver: TenantResolver,
        rate_limiter: TenantRateLimiter,
        metrics: OperationMetrics,
        fair_share: TenantFairShare | None = None,
    ) -> None:
        super().__init__(metrics)
        self._resolver = resolver
        self._rate_limiter = rate_limiter
        self._fair_share = fair_share or TenantFairShare(0)

    def admit(self, request: RequestContext | None) -> Place | None:
        """The tenant's rate limit, then a place if one is free; a request refused here
        counts as its tenant's (it proved its credential)."""
        if request is None:
            return UNBOUNDED
        tenant = request.tenant.tenant
        self._rate_limiter.admit(tenant.tenant_id, tenant.rate_limit)
        return self._fair_share.try_take(tenant.tenant_id)

    def turn(self, request: RequestContext | None) -> AbstractAsyncContextManager[object]:
        if request is None:
            return nullcontext()
        return self._fair_share.turn(request.tenant.tenant_id)

    async def resolve(self, metadata: Mapping[str, str]) -> RequestContext | None:
        tenant = await self._resolver.resolve(metadata.get("authorization"))
        hint = metadata.get(TENANT_HINT_KEY)
        if hint and hint != tenant.tenant_id:
            # The same answer whether or not the named tenant exists.
            raise ScimError.forbidden("the credential does not belong to the tenant in the URL")
        return RequestContext(tenant, _base_url(metadata.get(BASE_URL_KEY, "")))


class AdminGuard(Guard):
    """Admits tenant-admin RPCs only with the configured admin token."""

    guard_span = "admin.authorize"

    def __init__(self, admin_token: str, metrics: OperationMetrics) -> None:
        super().__init__(metrics)
        self._admin_token = admin_token.encode()

    async def resolve(self, metadata: Mapping[str, str]) -> RequestContext | None:
        presented = bearer_token(metadata.get("authorization")).encode()
        if not self._admin_token or not hmac.compare_digest(presented, self._admin_token):
            raise ScimError.unauthenticated("a valid admin token is required")
        return None
