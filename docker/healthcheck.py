"""Container health checks, configured by the same SCIMTENANCY_* variables as the process:

  healthcheck.py grpc   the tenancy server's gRPC health (grpc.health.v1) is SERVING; dials
                        127.0.0.1:$SCIMTENANCY_GRPC_PORT, over TLS when the client TLS variables
                        (SCIMTENANCY_GRPC_TLS_CA, ..._CLIENT_CERT/KEY, ..._SERVER_NAME) say so
  healthcheck.py http   the transcoder's /readyz answers 200 (tenancy server and storage up)

Exit status 0: healthy; 1: not.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from scimtenancy_common.settings import Settings

TIMEOUT = 3.0


def grpc_serving(settings: Settings) -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from scimtenancy_common.grpc_tls import channel_security

    with channel_security(settings).channel(f"127.0.0.1:{settings.grpc_port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=TIMEOUT
            )
        except grpc.RpcError as error:
            print(f"gRPC health: {error.code().name}", file=sys.stderr)
            return False
    serving: bool = reply.status == health_pb2.HealthCheckResponse.SERVING
    return serving


def http_ready(settings: Settings) -> bool:
    url = f"http://127.0.0.1:{settings.http_port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            ready: bool = response.status == 200
            return ready
    except (urllib.error.URLError, OSError) as error:
        print(f"{url}: {error}", file=sys.stderr)
        return False


def main(argv: list[str]) -> int:
    checks = {"grpc": grpc_serving, "http": http_ready}
    if len(argv) != 1 or argv[0] not in checks:
        print(__doc__, file=sys.stderr)
        return 2
    return 0 if checks[argv[0]](Settings()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
