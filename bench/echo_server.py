"""The transport ceiling: a gRPC ResourceService whose GetResource answers a canned User at
once, with no credential check, no storage and no SCIM work. Served like the real server
(grpc.aio on uvloop), behind the real transcoder, it measures what the HTTP → gRPC hop alone
costs.

python -m bench.echo_server --port 50099
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

import grpc
import orjson
import uvloop

from scimtenancy.resources.v1 import resources_pb2 as pb
from scimtenancy.resources.v1 import resources_pb2_grpc

# About the size and shape of a User the real service renders for the benchmark's data.
CANNED_USER = orjson.dumps(
    {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "00000000-0000-4000-8000-000000000000",
        "userName": "user000000@bench.example",
        "displayName": "Bench User 000000",
        "name": {"givenName": "Bench", "familyName": "User000000"},
        "emails": [{"value": "user000000@bench.example", "type": "work", "primary": True}],
        "active": True,
        "meta": {
            "resourceType": "User",
            "created": "2025-01-01T00:00:00Z",
            "lastModified": "2025-01-01T00:00:00Z",
            "version": '"1"',
            "location": "http://127.0.0.1/tenants/echo/scim/v2/Users/"
            "00000000-0000-4000-8000-000000000000",
        },
    }
)


class EchoResources(resources_pb2_grpc.ResourceServiceServicer):
    def __init__(self) -> None:
        self._reply = pb.GetResourceResponse(
            resource=pb.Resource(
                id="00000000-0000-4000-8000-000000000000",
                resource_type="User",
                version='"1"',
                json=CANNED_USER,
            )
        )

    async def GetResource(self, request: Any, context: Any) -> Any:
        return self._reply


async def serve(port: int) -> None:
    server = grpc.aio.server()
    resources_pb2_grpc.add_ResourceServiceServicer_to_server(EchoResources(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    uvloop.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
