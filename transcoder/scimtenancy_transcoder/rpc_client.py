"""The transcoder's side of the gRPC contract: one channel over every server replica, stubs,
per-request metadata.

The channel balances calls round-robin over the replicas that report their resource service
SERVING (gRPC client-side health checking), and gRPC's own retry policy sends a call that
failed UNAVAILABLE before any server answered its headers to the next replica."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

from grpc_health.v1 import health_pb2, health_pb2_grpc

from scimtenancy.discovery.v1 import discovery_pb2, discovery_pb2_grpc
from scimtenancy.resources.v1 import resources_pb2, resources_pb2_grpc
from scimtenancy_common.grpc_tls import (
    PLAINTEXT,
    SERVER_NAME_OPTION,
    ChannelSecurity,
    channel_security,
)
from scimtenancy_common.logs import REQUEST_ID_KEY, request_id_var
from scimtenancy_common.settings import ENV_PREFIX, Settings
from scimtenancy_common.wire import BASE_URL_KEY, TENANT_HINT_KEY
from scimtenancy_transcoder.observability import client_interceptors
from scimtenancy_transcoder.strategies import parse_host

RESOURCE_SERVICE = resources_pb2.DESCRIPTOR.services_by_name["ResourceService"].full_name
DISCOVERY_SERVICE = discovery_pb2.DESCRIPTOR.services_by_name["DiscoveryService"].full_name
HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name

# Resolvers of gRPC's core library: a target starting with one of them is a gRPC name.
URI_SCHEMES = frozenset(
    {"dns", "ipv4", "ipv6", "unix", "unix-abstract", "vsock", "xds", "google-c2p"}
)
ADDRESS_LISTS = frozenset({"ipv4", "ipv6"})
NO_NAME_LISTS = (
    "is a host name, and a list takes IP addresses only (gRPC has no resolver for a list of "
    "names): name one DNS name that resolves to every replica, e.g. dns:///scim-server:50051"
)

# gRFC A6 retries: gRPC re-sends a call only until the response headers arrive (the server
# sends them before it works on a call), so what is retried is what no server began.
# Five attempts (gRPC's most) with backoffs drawn up to 0.1, 0.2, 0.4 and 0.8 s: a replica's
# drain has about a second to reach a loaded client before its calls run out of retries.
RETRY_POLICY = {
    "maxAttempts": 5,
    "initialBackoff": "0.1s",
    "maxBackoff": "1s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}
SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
    # Watch of the resource service: NOT_SERVING once a replica drains (see the server's
    # rpc/health.py for why a storage outage does not take replicas out).
    "healthCheckConfig": {"serviceName": RESOURCE_SERVICE},
    "methodConfig": [
        {
            "name": [
                {"service": RESOURCE_SERVICE},
                {"service": DISCOVERY_SERVICE},
                {"service": HEALTH_SERVICE, "method": "Check"},
            ],
            "retryPolicy": RETRY_POLICY,
        }
    ],
}
CHANNEL_OPTIONS = (
    # A page of up to 1,000 resources can pass gRPC's 4 MB default; the server is trusted.
    ("grpc.max_receive_message_length", -1),
    ("grpc.service_config", json.dumps(SERVICE_CONFIG)),
    ("grpc.service_config_disable_resolution", 1),  # DNS TXT records never override it
    ("grpc.enable_retries", 1),
    # A restarted replica is dialled again within 5 s (gRPC's default backs off to 120 s).
    ("grpc.max_reconnect_backoff_ms", 5_000),
)


class GrpcTargetError(ValueError):
    """`GRPC_TARGET` names nothing gRPC can dial; the message says why, in one line."""


def channel_target(text: str, security: ChannelSecurity = PLAINTEXT) -> str:
    """The gRPC target for `GRPC_TARGET`: `host:port` as written; a comma-separated list of
    IP addresses as gRPC's `ipv4:`/`ipv6:` multi-address target; a gRPC name (`dns:///…`,
    `ipv4:…`, `unix:…`) as written, once checked."""
    text = text.strip()
    scheme, colon, rest = text.partition(":")
    if colon and scheme.lower() in URI_SCHEMES:
        target = _named(scheme.lower(), rest)
    elif "," in text:
        target = _address_list(text.split(","))
    else:
        _host_and_port(text)
        target = text
    if _several_addresses(target) and not _names_the_server(security):
        # gRPC would check every replica's certificate against the whole list.
        raise GrpcTargetError(
            f"a list of addresses over TLS needs {ENV_PREFIX}GRPC_TLS_SERVER_NAME, the name "
            "the replicas' certificates carry"
        )
    return target


def target_problems(settings: Settings) -> list[str]:
    """One line naming the setting when `grpc_target` cannot work, else none."""
    try:
        channel_target(settings.grpc_target, channel_security(settings))
    except GrpcTargetError as error:
        return [f"{ENV_PREFIX}GRPC_TARGET: {error} (got {settings.grpc_target!r})"]
    return []


def _host_and_port(entry: str, port_required: bool = True) -> str:
    """The host of `host:port` (lower case, an IPv6 address in brackets)."""
    found = parse_host(entry)
    if found is None:
        raise GrpcTargetError(f"{entry!r} is not host:port (an IPv6 address in brackets)")
    host, port = found
    if port is None and port_required:
        raise GrpcTargetError(f"{entry!r} has no port")
    return host


def _family(host: str, entry: str) -> str:
    if host.startswith("["):
        return "ipv6"
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise GrpcTargetError(f"{entry!r} {NO_NAME_LISTS}") from None
    return "ipv4"


def _address_list(entries: list[str], family: str | None = None) -> str:
    entries = [entry.strip() for entry in entries]
    families = {_family(_host_and_port(entry), entry) for entry in entries}
    if len(families) > 1:
        raise GrpcTargetError("mixes IPv4 and IPv6 addresses; list one family")
    if family is not None and families != {family}:
        raise GrpcTargetError(f"{family}: lists {families.pop()} addresses")
    if len(set(entries)) < len(entries):
        raise GrpcTargetError("names an address twice")
    return f"{families.pop()}:{','.join(entries)}"


def _named(scheme: str, rest: str) -> str:
    """A gRPC name, checked where a mistake would only show when the first call fails."""
    if scheme in ADDRESS_LISTS:
        return _address_list(rest.lstrip("/").split(","), scheme)
    if scheme == "dns":
        name = rest[2:].partition("/")[2] if rest.startswith("//") else rest
        _host_and_port(name, port_required=False)  # gRPC's default port is 443
    elif not rest.strip("/"):
        raise GrpcTargetError(f"names nothing after {scheme}:")
    return f"{scheme}:{rest}"


def _several_addresses(target: str) -> bool:
    scheme, _, rest = target.partition(":")
    return scheme in ADDRESS_LISTS and "," in rest


def _names_the_server(security: ChannelSecurity) -> bool:
    """Plaintext, or TLS checking the certificate for a configured name."""
    named = any(key == SERVER_NAME_OPTION for key, _ in security.options)
    return security.credentials is None or named


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
    """Stubs on one channel to the tenancy server replicas; GrpcTargetError on a bad target."""

    def __init__(
        self,
        target: str,
        timeout: float,
        security: ChannelSecurity = PLAINTEXT,
        bulk_timeout: float | None = None,
    ) -> None:
        self._channel = security.aio_channel(
            channel_target(target, security), client_interceptors(), CHANNEL_OPTIONS
        )
        self.stub = resources_pb2_grpc.ResourceServiceStub(self._channel)
        self.discovery = discovery_pb2_grpc.DiscoveryServiceStub(self._channel)
        self.health = health_pb2_grpc.HealthStub(self._channel)
        self.timeout = timeout
        self.bulk_timeout = bulk_timeout or timeout

    async def close(self) -> None:
        await self._channel.close()
