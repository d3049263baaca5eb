"""Server interceptors: error conversion for every RPC, tenant resolution, admin guard."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import grpc

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.rpc.context import (
    BASE_URL_KEY,
    TENANT_HINT_KEY,
    RequestContext,
    enter_request,
    leave_request,
)
from scimtenancy_server.rpc.errors import abort
from scimtenancy_server.services.rate_limits import TenantRateLimiter
from scimtenancy_server.services.resolution import TenantResolver, bearer_token

logger = logging.getLogger(__name__)

Behaviour = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
Guard = Callable[[Mapping[str, str]], Awaitable[RequestContext | None]]

TENANT_SERVICES = (
    "/scimtenancy.resources.v1.ResourceService/",
    "/scimtenancy.discovery.v1.DiscoveryService/",
)
ADMIN_SERVICES = ("/scimtenancy.admin.v1.TenantAdminService/",)


def _metadata(context: grpc.aio.ServicerContext) -> dict[str, str]:
    return {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}


def _guarded(method: str, behaviour: Behaviour, guard: Guard) -> Behaviour:
    async def handle(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            request_context = await guard(_metadata(context))
            token = enter_request(request_context) if request_context else None
            try:
                return await behaviour(request, context)
            finally:
                if token is not None:
                    leave_request(token)
        except ScimError as error:
            failure = error
        except Exception:
            logger.exception("unexpected failure in %s", method)
            failure = ScimError.internal()
        await abort(context, failure)

    return handle


class _GuardInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    prefixes: tuple[str, ...] = ()

    async def guard(self, metadata: Mapping[str, str]) -> RequestContext | None:
        raise NotImplementedError

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or handler.unary_unary is None or not method.startswith(self.prefixes):
            return handler
        return grpc.unary_unary_rpc_method_handler(
            _guarded(method, handler.unary_unary, self.guard),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class TenantInterceptor(_GuardInterceptor):
    """Resolves the caller's tenant from its credential for every resource and discovery RPC."""

    prefixes = TENANT_SERVICES

    def __init__(self, resolver: TenantResolver, rate_limiter: TenantRateLimiter) -> None:
        self._resolver = resolver
        self._rate_limiter = rate_limiter

    async def guard(self, metadata: Mapping[str, str]) -> RequestContext | None:
        tenant = await self._resolver.resolve(metadata.get("authorization"))
        hint = metadata.get(TENANT_HINT_KEY)
        if hint and hint != tenant.tenant_id:
            # The same answer whether or not the named tenant exists.
            raise ScimError.forbidden("the credential does not belong to the tenant in the URL")
        self._rate_limiter.admit(tenant.tenant_id)
        return RequestContext(tenant, metadata.get(BASE_URL_KEY, ""))


class AdminInterceptor(_GuardInterceptor):
    """Admits tenant-admin RPCs only with the configured admin token."""

    prefixes = ADMIN_SERVICES

    def __init__(self, admin_token: str) -> None:
        self._admin_token = admin_token.encode()

    async def guard(self, metadata: Mapping[str, str]) -> RequestContext | None:
        presented = bearer_token(metadata.get("authorization")).encode()
        if not self._admin_token or not hmac.compare_digest(presented, self._admin_token):
            raise ScimError.unauthenticated("a valid admin token is required")
        return None
