"""The transcoder's side of the gRPC contract: one channel, stubs, per-request metadata."""

from __future__ import annotations

from dataclasses import dataclass

from grpc_health.v1 import health_pb2_grpc

from scimtenancy.discovery.v1 import discovery_pb2_grpc
from scimtenancy.resources.v1 import resources_pb2_grpc
from scimtenancy_common.grpc_tls import PLAINTEXT, ChannelSecurity
from scimtenancy_common.logs import REQUEST_ID_KEY, request_id_var
from scimtenancy_common.wire import BASE_URL_KEY, TENANT_HINT_KEY
from scimtenancy_transcoder.observability import client_interceptors

# A page of up to 1,000 resources can pass gRPC's 4 MB default; the server is trusted.
CHANNEL_OPTIONS = (("grpc.max_receive_message_length", -1),)


@dataclass(frozen=True)
class CallOptions:
    """What every RPC carries: the caller's credential, tenant hint and base URL."""

    authorization: str
    tenant_hint: str | None
    base_url: str

    def metadata(self) -> tuple[tuple[str, str], ...]:
        pairs = [("authorization", self.authorization), (BASE_URL_KEY, self.base_url)]
        if request_id := request_id_var.get():
            pairs.append((REQUEST_ID_KEY, request_id))
        if self.tenant_hint:
            pairs.append((TENANT_HINT_KEY, self.tenant_hint))
        return tuple(pairs)


class ResourceClient:
    def __init__(
        self,
        target: str,
        timeout: float,
        security: ChannelSecurity = PLAINTEXT,
        bulk_timeout: float | None = None,
    ) -> None:
        self._channel = security.aio_channel(target, client_interceptors(), CHANNEL_OPTIONS)
        self.stub = resources_pb2_grpc.ResourceServiceStub(self._channel)
        self.discovery = discovery_pb2_grpc.DiscoveryServiceStub(self._channel)
        self.health = health_pb2_grpc.HealthStub(self._channel)
        self.timeout = timeout
        self.bulk_timeout = bulk_timeout or timeout

    async def close(self) -> None:
        await self._channel.close()
