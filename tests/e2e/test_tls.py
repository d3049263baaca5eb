"""gRPC over TLS, and mutual TLS, with certificates the tests make: the transcoder and internal
callers get through with the right trust and certificates, everyone else is refused."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import orjson
import pytest
from e2e.certificates import Authority, Issued
from e2e.stack import ADMIN_TOKEN, running_stack, server_settings
from grpc_health.v1 import health_pb2, health_pb2_grpc
from helpers import run_admin_cli, unique_id, user_body

from scimtenancy.resources.v1 import resources_pb2, resources_pb2_grpc
from scimtenancy_common.grpc_tls import PLAINTEXT, ChannelSecurity, channel_security
from scimtenancy_common.settings import Settings, load_settings
from scimtenancy_server.bootstrap import build_application, build_grpc_server
from scimtenancy_server.domain.tenant import IsolationLevel

BIN = Path(sys.executable).parent
OTHER_NAME = "tenancy.internal"  # in the server certificate, besides localhost and 127.0.0.1
RPC_TIMEOUT = 10.0
REFUSED = grpc.StatusCode.UNAVAILABLE  # a failed handshake: the call never reaches the server


@dataclass(frozen=True)
class Pki:
    ca: str
    server: Issued
    client: Issued
    foreign_client: Issued  # issued by a CA the server does not trust


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    authority = Authority(directory, "scimtenancy-test-ca")
    foreign = Authority(directory, "foreign-ca")
    return Pki(
        authority.ca,
        authority.issue("server", ["localhost", OTHER_NAME], ["127.0.0.1"]),
        authority.issue("internal-caller", [], [], client=True),
        foreign.issue("foreign-caller", [], [], client=True),
    )


def tls_server_settings(pki: Pki, mutual: bool = False) -> Settings:
    return server_settings("memory").model_copy(
        update={
            "grpc_tls_cert": pki.server.cert,
            "grpc_tls_key": pki.server.key,
            "grpc_tls_client_ca": pki.ca if mutual else "",
        }
    )


def caller(
    ca: str = "", client: Issued | None = None, server_name: str = "", tls: bool = True
) -> ChannelSecurity:
    return channel_security(
        Settings(
            grpc_tls=tls,
            grpc_tls_ca=ca,
            grpc_tls_client_cert=client.cert if client else "",
            grpc_tls_client_key=client.key if client else "",
            grpc_tls_server_name=server_name,
        )
    )


@asynccontextmanager
async def grpc_server(settings: Settings) -> AsyncIterator[str]:
    app = build_application(settings)
    server, port = await build_grpc_server(app, settings)
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)
        await app.close()


async def health_check(target: str, security: ChannelSecurity) -> grpc.StatusCode:
    async with security.aio_channel(target) as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=RPC_TIMEOUT
            )
        except grpc.aio.AioRpcError as error:
            return error.code()
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    return grpc.StatusCode.OK


async def admin_cli(target: str, *args: str) -> tuple[int, str]:
    return await run_admin_cli(target, ADMIN_TOKEN, *args)


async def test_scim_over_http_with_tls_between_transcoder_and_server(pki: Pki) -> None:
    async with running_stack(tls_server_settings(pki), grpc_tls_ca=pki.ca) as stack:
        owner = await stack.tenant(IsolationLevel.STANDARD)
        intruder = await stack.tenant(IsolationLevel.STANDARD)
        created = await owner.post("/Users", user_body("over-tls"))
        assert created.status_code == 201, created.text
        path = f"/Users/{created.json()['id']}"
        assert (await owner.get(path)).json() == created.json()
        assert (await intruder.get(path)).status_code == 404
        assert (await stack.http.get(f"{stack.origins['path']}/readyz")).status_code == 200


async def test_the_tls_port_refuses_callers_that_do_not_speak_or_trust_it(pki: Pki) -> None:
    async with grpc_server(tls_server_settings(pki)) as target:
        assert await health_check(target, PLAINTEXT) == REFUSED
        assert await health_check(target, caller()) == REFUSED  # system roots: not our CA
        assert await health_check(target, caller(pki.ca)) == grpc.StatusCode.OK
        assert await health_check(target, caller(pki.ca, server_name=OTHER_NAME)) == (
            grpc.StatusCode.OK
        )
        assert await health_check(target, caller(pki.ca, server_name="other.test")) == REFUSED


async def test_mutual_tls_takes_only_certificates_of_the_client_ca(pki: Pki) -> None:
    async with grpc_server(tls_server_settings(pki, mutual=True)) as target:
        assert await health_check(target, caller(pki.ca)) == REFUSED
        assert await health_check(target, caller(pki.ca, pki.foreign_client)) == REFUSED
        assert await health_check(target, caller(pki.ca, pki.client)) == grpc.StatusCode.OK


async def test_internal_callers_and_the_transcoder_over_mutual_tls(pki: Pki) -> None:
    client = {
        "grpc_tls_ca": pki.ca,
        "grpc_tls_client_cert": pki.client.cert,
        "grpc_tls_client_key": pki.client.key,
    }
    async with running_stack(tls_server_settings(pki, mutual=True), **client) as stack:
        scim = await stack.tenant(IsolationLevel.STRICT)
        created = await scim.post("/Users", user_body("via-transcoder"))
        assert created.status_code == 201, created.text

        tls_flags = ["--tls-ca", pki.ca, "--tls-cert", pki.client.cert, "--tls-key", pki.client.key]
        tenant_id = unique_id("mtls")
        code, out = await admin_cli(stack.grpc_target, *tls_flags, "create", tenant_id)
        assert code == 0, out
        code, out = await admin_cli(stack.grpc_target, *tls_flags, "issue-key", tenant_id)
        assert code == 0, out
        api_key = out.strip().splitlines()[-1]
        code, out = await admin_cli(stack.grpc_target, "--tls-ca", pki.ca, "list")
        assert (code, "UNAVAILABLE" in out) == (1, True)  # no client certificate

        async with caller(pki.ca, pki.client).aio_channel(stack.grpc_target) as channel:
            resources = resources_pb2_grpc.ResourceServiceStub(channel)
            as_tenant = (("authorization", f"Bearer {api_key}"),)
            reply = await resources.CreateResource(
                resources_pb2.CreateResourceRequest(
                    resource_type="User", json=orjson.dumps(user_body("internal"))
                ),
                metadata=as_tenant,
                timeout=RPC_TIMEOUT,
            )
            found = await resources.GetResource(
                resources_pb2.GetResourceRequest(resource_type="User", id=reply.resource.id),
                metadata=as_tenant,
                timeout=RPC_TIMEOUT,
            )
            assert orjson.loads(found.resource.json)["userName"] == "internal"
            with pytest.raises(grpc.aio.AioRpcError) as hidden:
                await resources.GetResource(
                    resources_pb2.GetResourceRequest(resource_type="User", id=created.json()["id"]),
                    metadata=as_tenant,
                    timeout=RPC_TIMEOUT,
                )
            assert hidden.value.code() == grpc.StatusCode.NOT_FOUND  # the other tenant's user


async def test_a_certificate_without_its_key_stops_the_server_at_start(pki: Pki) -> None:
    process = await asyncio.create_subprocess_exec(
        str(BIN / "scimtenancy-server"),
        stderr=asyncio.subprocess.PIPE,
        env={"PATH": os.environ["PATH"], "SCIMTENANCY_GRPC_TLS_CERT": pki.server.cert},
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    assert "SCIMTENANCY_GRPC_TLS_CERT and SCIMTENANCY_GRPC_TLS_KEY" in err.decode()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--grpc-tls-client-cert", "{cert}"], "SCIMTENANCY_GRPC_TLS_CLIENT_CERT and"),
        (["--grpc-tls-client-ca", "{ca}"], "SCIMTENANCY_GRPC_TLS_CLIENT_CA needs"),
        (["--grpc-tls-ca", "/no/such/ca.pem"], "SCIMTENANCY_GRPC_TLS_CA: no such file"),
    ],
)
def test_tls_settings_are_checked_together(
    pki: Pki, flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [f.format(cert=pki.client.cert, ca=pki.ca) for f in flags]
    with pytest.raises(SystemExit) as stopped:
        load_settings(argv)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
