"""Liveness and readiness for orchestrators: /healthz answers while the process runs; /readyz
answers 200 only while the tenancy server reports SERVING (its storage answers too)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
from grpc_health.v1 import health_pb2
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from scimtenancy_transcoder.rpc_client import ResourceClient

READINESS_TIMEOUT = 2.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "alive"})


def readiness(client: ResourceClient) -> Callable[[Request], Awaitable[Response]]:
    async def readyz(request: Request) -> Response:
        try:
            reply = await client.health.Check(
                health_pb2.HealthCheckRequest(service=""), timeout=READINESS_TIMEOUT
            )
        except grpc.aio.AioRpcError as error:
            return JSONResponse({"status": "not ready", "detail": error.code().name}, 503)
        if reply.status != health_pb2.HealthCheckResponse.SERVING:
            return JSONResponse({"status": "not ready", "detail": "storage unavailable"}, 503)
        return JSONResponse({"status": "ready"})

    return readyz
