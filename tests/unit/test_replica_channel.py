"""GRPC_TARGET: one address, a list of IP addresses, or a gRPC name; the service config the
channel to the replicas is built with (round-robin, health checks, gRPC's retries); and what
gRPC then does, against fake replicas in this process on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from e2e.certificates import Authority
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from scimtenancy.resources.v1 import resources_pb2
from scimtenancy_common.grpc_tls import (
    PLAINTEXT,
    SERVER_NAME_OPTION,
    ChannelSecurity,
    channel_security,
    read_pem,
)
from scimtenancy_common.settings import Settings
from scimtenancy_server.rpc.health import StorageAwareHealth
from scimtenancy_transcoder.rpc_client import (
    CHANNEL_OPTIONS,
    RESOURCE_SERVICE,
    GrpcTargetError,
    ResourceClient,
    channel_target,
    target_problems,
)

TLS = ChannelSecurity(grpc.ssl_channel_credentials())
TLS_NAMED = ChannelSecurity(grpc.ssl_channel_credentials(), ((SERVER_NAME_OPTION, "scim"),))


@pytest.mark.parametrize(
    ("setting", "target"),
    [
        ("127.0.0.1:50051", "127.0.0.1:50051"),
        ("scim-server:50051", "scim-server:50051"),
        ("[::1]:50051", "[::1]:50051"),
        ("10.0.0.1:50051,10.0.0.2:50051", "ipv4:10.0.0.1:50051,10.0.0.2:50051"),
        (" 10.0.0.1:1 , 10.0.0.2:2 ", "ipv4:10.0.0.1:1,10.0.0.2:2"),
        ("[::1]:50051,[fd00::2]:50051", "ipv6:[::1]:50051,[fd00::2]:50051"),
        ("dns:///scim-server:50051", "dns:///scim-server:50051"),
        ("dns://10.0.0.53/scim-server:50051", "dns://10.0.0.53/scim-server:50051"),
        ("dns:scim-server", "dns:scim-server"),
        ("ipv4:10.0.0.1:50051,10.0.0.2:50051", "ipv4:10.0.0.1:50051,10.0.0.2:50051"),
        ("ipv6:///[::1]:50051", "ipv6:[::1]:50051"),
        ("unix:/run/scim.sock", "unix:/run/scim.sock"),
    ],
)
def test_targets_gRPC_can_dial(setting: str, target: str) -> None:
    assert channel_target(setting) == target


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("", "'' is not host:port"),
        ("scim-server", "'scim-server' has no port"),
        ("127.0.0.1:0", "is not host:port"),
        ("127.0.0.1:99999", "is not host:port"),
        ("::1:50051", "'::1:50051' is not host:port (an IPv6 address in brackets)"),
        ("scim-a:50051,scim-b:50051", "'scim-a:50051' is a host name, and a list takes IP"),
        ("10.0.0.1:50051,", "'' is not host:port"),
        ("10.0.0.1:50051,10.0.0.2", "'10.0.0.2' has no port"),
        ("10.0.0.1:50051,[::1]:50051", "mixes IPv4 and IPv6 addresses"),
        ("10.0.0.1:50051,10.0.0.1:50051", "names an address twice"),
        ("ipv4:[::1]:50051", "ipv4: lists ipv6 addresses"),
        ("dns:///a:1,b:2", "'a:1,b:2' is not host:port"),
        ("unix:", "names nothing after unix:"),
    ],
)
def test_targets_refused_with_the_reason(setting: str, problem: str) -> None:
    with pytest.raises(GrpcTargetError) as refused:
        channel_target(setting)
    assert problem in str(refused.value)


def test_a_list_over_tls_needs_the_certificates_name() -> None:
    """gRPC checks a multi-address target's certificate against the whole list otherwise."""
    listed = "10.0.0.1:50051,10.0.0.2:50051"
    with pytest.raises(GrpcTargetError, match="SCIMTENANCY_GRPC_TLS_SERVER_NAME"):
        channel_target(listed, TLS)
    assert channel_target(listed, TLS_NAMED) == f"ipv4:{listed}"
    assert channel_target("dns:///scim-server:50051", TLS) == "dns:///scim-server:50051"


def test_a_bad_target_is_one_line_naming_the_setting() -> None:
    setting = "scim-a:50051,scim-b:50051"
    (line,) = target_problems(Settings(grpc_target=setting))
    assert line.startswith("SCIMTENANCY_GRPC_TARGET: 'scim-a:50051' is a host name")
    assert "dns:///scim-server:50051" in line
    assert line.endswith(f"(got {setting!r})")
    assert "\n" not in line
    assert target_problems(Settings(grpc_target="127.0.0.1:1,127.0.0.1:2")) == []


def _service_config() -> dict[str, Any]:
    options = dict(CHANNEL_OPTIONS)
    config: dict[str, Any] = json.loads(str(options["grpc.service_config"]))
    return config


def test_the_channel_balances_health_checks_and_retries_unavailable_only() -> None:
    config = _service_config()
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    assert config["healthCheckConfig"] == {
        "serviceName": "scimtenancy.resources.v1.ResourceService"
    }
    (method,) = config["methodConfig"]
    assert {"service": "scimtenancy.resources.v1.ResourceService"} in method["name"]
    assert {"service": "grpc.health.v1.Health", "method": "Check"} in method["name"]
    retry = method["retryPolicy"]
    assert retry["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert 2 <= retry["maxAttempts"] <= 5  # gRPC caps attempts at 5
    assert "timeout" not in method  # each call's own deadline bounds its attempts
    options = dict(CHANNEL_OPTIONS)
    assert options["grpc.enable_retries"] == 1
    assert options["grpc.service_config_disable_resolution"] == 1
    assert options["grpc.max_receive_message_length"] == -1


# -- what gRPC does with the channel: fake replicas in this process, on loopback


@dataclass
class FakeReplica:
    """Answers GetResource; refuses (UNAVAILABLE, before any work) every first attempt of a
    call marked REFUSE_FIRST; records the attempt number of each call it sees."""

    server: grpc.aio.Server
    target: str
    health: health.aio.HealthServicer
    attempts: list[int] = field(default_factory=list)

    async def get(self, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        metadata = dict(context.invocation_metadata() or ())
        attempt = int(metadata.get("grpc-previous-rpc-attempts", "0"))
        self.attempts.append(attempt)
        if REFUSE_FIRST in metadata and attempt == 0:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "not started")
        return resources_pb2.GetResourceResponse().SerializeToString()


REFUSE_FIRST = "x-refuse-first"
GET = resources_pb2.GetResourceRequest(resource_type="Users", id="x")


async def fake_replica(
    status: health_pb2.HealthCheckResponse.ServingStatus,
    credentials: grpc.ServerCredentials | None = None,
    servicer: health.aio.HealthServicer | None = None,
) -> FakeReplica:
    server = grpc.aio.server()
    address = "127.0.0.1:0"
    if credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, credentials)
    replica = FakeReplica(server, f"127.0.0.1:{port}", servicer or health.aio.HealthServicer())
    method = grpc.unary_unary_rpc_method_handler(replica.get)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(RESOURCE_SERVICE, {"GetResource": method}),)
    )
    await replica.health.set(RESOURCE_SERVICE, status)
    health_pb2_grpc.add_HealthServicer_to_server(replica.health, server)
    await server.start()
    return replica


@asynccontextmanager
async def client_of(
    replicas: list[FakeReplica], security: ChannelSecurity = PLAINTEXT
) -> AsyncIterator[ResourceClient]:
    """A transcoder's client whose target lists the replicas, once every one has answered."""
    target = ",".join(replica.target for replica in replicas)
    client = ResourceClient(target, timeout=10, security=security)
    try:
        for _ in range(20):  # until each replica is ready and in the rotation
            if all(replica.attempts for replica in replicas):
                break
            await client.stub.GetResource(GET, timeout=10)
        assert all(replica.attempts for replica in replicas)
        for replica in replicas:
            replica.attempts.clear()
        yield client
    finally:
        await client.close()


@pytest.fixture
async def fakes() -> AsyncIterator[list[FakeReplica]]:
    serving = health_pb2.HealthCheckResponse.SERVING
    started = [await fake_replica(serving) for _ in range(2)]
    yield started
    for replica in started:
        await replica.server.stop(None)


async def test_a_call_refused_before_it_started_is_retried_on_another_replica(
    fakes: list[FakeReplica],
) -> None:
    async with client_of(fakes) as client:
        await client.stub.GetResource(GET, timeout=10, metadata=((REFUSE_FIRST, "1"),))
    assert sorted(f.attempts for f in fakes) == [[0], [1]]  # the retry went to the other one


async def test_a_replica_that_stops_serving_is_taken_out_of_the_rotation(
    fakes: list[FakeReplica],
) -> None:
    """As a draining server does: it says NOT_SERVING while it still answers calls."""
    draining = fakes[0]
    async with client_of(fakes) as client:
        await draining.health.enter_graceful_shutdown()
        passed_by = 0  # calls in a row not sent to it; round-robin over two alternates
        for _ in range(50):  # until the client has heard
            before = len(draining.attempts)
            await client.stub.GetResource(GET, timeout=10)
            passed_by = passed_by + 1 if len(draining.attempts) == before else 0
            if passed_by == 4:
                break
        assert passed_by == 4
        seen = len(draining.attempts)
        for _ in range(10):
            await client.stub.GetResource(GET, timeout=10)
    assert len(draining.attempts) == seen  # and it stays out


async def test_a_replica_whose_storage_is_down_stays_in_the_rotation() -> None:
    """The replicas share the database: taking one out would take them all out, and the
    server's own 503 says more than the channel's. Readiness (Check) still tells."""

    async def storage_down() -> bool:
        return False

    serving = health_pb2.HealthCheckResponse.SERVING
    replica = await fake_replica(serving, servicer=StorageAwareHealth(storage_down))
    try:
        async with client_of([replica]) as client:  # calls reach it
            check = health_pb2.HealthCheckRequest(service="")
            reply = await client.health.Check(check, timeout=10)
            await client.stub.GetResource(GET, timeout=10)
    finally:
        await replica.server.stop(None)
    assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert replica.attempts == [0]


async def test_replicas_listed_by_address_are_dialled_over_tls(tmp_path: Path) -> None:
    """With the name their certificates carry (GRPC_TLS_SERVER_NAME), checked on each."""
    authority = Authority(tmp_path, "replicas-ca")
    issued = authority.issue("replica", ["tenancy.internal"], [])
    credentials = grpc.ssl_server_credentials([(read_pem(issued.key), read_pem(issued.cert))])
    serving = health_pb2.HealthCheckResponse.SERVING
    replicas = [await fake_replica(serving, credentials) for _ in range(2)]
    settings = Settings(grpc_tls_ca=authority.ca, grpc_tls_server_name="tenancy.internal")
    try:
        async with client_of(replicas, channel_security(settings)):  # each one answered
            pass
    finally:
        for replica in replicas:
            await replica.server.stop(None)
