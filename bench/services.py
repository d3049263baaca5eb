"""The systems under test, started on loopback: a throw-away PostgreSQL cluster, FerretDB on
it or on SQLite, our service (tenancy server + transcoder), the peer, and the echo server
that stands for the transport ceiling."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import Managed, StartupError, Supervisor, free_port

ROOT = Path(__file__).resolve().parent.parent
FERRETDB = ROOT / ".tools" / "bin" / "ferretdb"
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
ADMIN_TOKEN = "bench-admin-token"  # noqa: S105 - a loopback-only throw-away server
PEER_TOKEN = "bench-peer-token"  # noqa: S105
RUN_COMMAND_KEY = "bench-run-command-key"
_VENV_BIN = Path(sys.executable).parent


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without settings of ours or FerretDB's that the caller may have set."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SCIMTENANCY_", "FERRETDB_", "PG", "MONGODB_"))
    }
    env.update(extra)
    return env


def settings_env(items: list[str]) -> dict[str, str]:
    """`NAME=VALUE` settings of our processes as SCIMTENANCY_NAME variables."""
    env = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise ValueError(f"a setting is NAME=VALUE, not {item!r}")
        env[f"SCIMTENANCY_{name.upper().removeprefix('SCIMTENANCY_')}"] = value
    return env


@dataclass
class Target:
    """One system the load generators talk to."""

    name: str
    base_url: str  # the SCIM base URL, e.g. http://127.0.0.1:8081/tenants/t1/scim/v2
    token: str
    origin: str  # scheme://host:port
    service_pids: tuple[int, ...]  # the processes whose CPU is "server CPU"
    database_pids: tuple[int, ...] = ()
    grpc_target: str = ""
    mongodb_uri: str = ""
    mongodb_database: str = ""
    processes: list[Managed] = field(default_factory=list)


@dataclass
class Database:
    name: str  # "ferretdb-postgresql" or "ferretdb-sqlite"
    uri: str
    pids: tuple[int, ...]


class Services:
    """Starts what a scenario needs and stops it again (by PID) when it is done."""

    def __init__(
        self, supervisor: Supervisor, work_dir: Path, service_env: dict[str, str] | None = None
    ) -> None:
        self.supervisor = supervisor
        self.work_dir = work_dir
        # Extra settings for our processes (e.g. SCIMTENANCY_LOG_LEVEL=warning), from --set.
        self.service_env = dict(service_env or {})

    # --- databases ---------------------------------------------------------------------

    def postgresql(self) -> tuple[str, Managed]:
        """A PostgreSQL 15 cluster in a temporary directory, tuned for speed rather than
        durability (fsync off). initdb refuses root, so as root it runs as `nobody`."""
        data = self.work_dir / "postgresql"
        data.mkdir()
        user = None
        if os.geteuid() == 0:
            user = pwd.getpwnam("nobody").pw_uid
            os.chown(self.work_dir, user, user)
            os.chown(data, user, user)
        subprocess.run(  # noqa: S603
            [
                *(str(POSTGRES_BIN / "initdb"), "-D", str(data), "-U", "postgres"),
                *("--auth=trust", "--no-locale", "-E", "UTF8", "--no-sync"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=clean_env(),
            user=user,
            group=user,
            extra_groups=[] if user is not None else None,
            cwd=self.work_dir,
        )
        port = free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.work_dir),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "300",
            "shared_buffers": "256MB",
        }
        argv = [str(POSTGRES_BIN / "postgres"), "-D", str(data), "-p", str(port)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        # SIGINT is PostgreSQL's fast shutdown (SIGTERM waits for clients to leave).
        managed = self.supervisor.start(
            "postgresql", argv, clean_env(), user=user, stop_signal=signal.SIGINT, cwd=data
        )
        deadline = time.monotonic() + 30
        ready = [str(POSTGRES_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)]
        while subprocess.run(ready, check=False).returncode != 0:  # noqa: S603
            if managed.process.poll() is not None or time.monotonic() > deadline:
                raise StartupError(f"PostgreSQL did not start:\n{managed.log_tail()}")
            time.sleep(0.1)
        return f"postgres://postgres@127.0.0.1:{port}/postgres", managed

    def ferretdb(self, backend: str, postgresql_url: str = "") -> tuple[Database, Managed]:
        if not FERRETDB.exists():
            raise StartupError(f"{FERRETDB} is missing: run scripts/install-tools")
        # A directory of its own: several sections may each start one of the same backend.
        state = Path(tempfile.mkdtemp(prefix=f"ferretdb-{backend}-", dir=self.work_dir))
        port = free_port()
        argv = [
            str(FERRETDB),
            f"--listen-addr=127.0.0.1:{port}",
            f"--state-dir={state}",
            "--debug-addr=-",
            "--telemetry=disable",
            "--log-level=warn",
        ]
        if backend == "postgresql":
            argv += ["--handler=postgresql", f"--postgresql-url={postgresql_url}"]
        else:
            argv += ["--handler=sqlite", f"--sqlite-url=file:{state}/"]
        managed = self.supervisor.start(f"ferretdb-{backend}", argv, clean_env())
        self.supervisor.wait_port(managed, port)
        uri = f"mongodb://127.0.0.1:{port}/"
        return Database(f"ferretdb-{backend}", uri, (managed.pid,)), managed

    # --- HTTP services -------------------------------------------------------------------

    def _transcoder(self, name: str, grpc_target: str) -> tuple[Managed, int]:
        port = free_port()
        # Loading a cold FerretDB-PostgreSQL by /Bulk can pass the default 10 s RPC deadline.
        settings = {"SCIMTENANCY_RPC_TIMEOUT": "120", **self.service_env}
        env = clean_env(
            **settings,
            SCIMTENANCY_HTTP_PORT=str(port),
            SCIMTENANCY_GRPC_TARGET=grpc_target,
        )
        managed = self.supervisor.start(
            f"{name}-transcoder", [str(_VENV_BIN / "scimtenancy-transcoder")], env
        )
        self.supervisor.wait_port(managed, port)
        return managed, port

    def ours(self, name: str, database: Database | None = None, database_name: str = "") -> Target:
        """Our service: `scimtenancy-server` + `scimtenancy-transcoder`, embedded storage
        without a database, else MongoDB storage on it. It has no base URL and token until a
        tenant is opened (bench.admin.open_tenant)."""
        grpc_port = free_port()
        env = clean_env(
            **self.service_env,
            SCIMTENANCY_GRPC_PORT=str(grpc_port),
            SCIMTENANCY_ADMIN_TOKEN=ADMIN_TOKEN,
            SCIMTENANCY_STORAGE="memory" if database is None else "mongodb",
        )
        if database is not None:
            env.update(
                SCIMTENANCY_MONGODB_URI=database.uri,
                SCIMTENANCY_MONGODB_DATABASE=database_name or "bench",
            )
        server = self.supervisor.start(
            f"{name}-server", [str(_VENV_BIN / "scimtenancy-server")], env
        )
        self.supervisor.wait_port(server, grpc_port)
        grpc_target = f"127.0.0.1:{grpc_port}"
        transcoder, http_port = self._transcoder(name, grpc_target)
        return Target(
            name=name,
            base_url="",
            token="",
            origin=f"http://127.0.0.1:{http_port}",
            service_pids=(server.pid, transcoder.pid),
            database_pids=database.pids if database else (),
            grpc_target=grpc_target,
            mongodb_uri=database.uri if database else "",
            mongodb_database=(database_name or "bench") if database else "",
            processes=[server, transcoder],
        )

    def run_command(self, name: str) -> Target:
        """The run command (`scimtenancy-dev`, what `scripts/run` starts): the transcoder and
        the server process it starts, on embedded storage, its development tenant. Its CPU is
        the command's process tree."""
        http_port, grpc_port = free_port(), free_port()
        env = clean_env(
            **self.service_env,
            SCIMTENANCY_DEV_API_KEY=RUN_COMMAND_KEY,
            SCIMTENANCY_RPC_TIMEOUT="120",
        )
        argv = [
            str(_VENV_BIN / "scimtenancy-dev"),
            *("--http-port", str(http_port), "--grpc-port", str(grpc_port)),
        ]
        managed = self.supervisor.start(name, argv, env)
        self.supervisor.wait_port(managed, http_port)
        return Target(
            name=name,
            base_url=f"http://127.0.0.1:{http_port}/tenants/dev/scim/v2",
            token=RUN_COMMAND_KEY,
            origin=f"http://127.0.0.1:{http_port}",
            service_pids=(managed.pid,),
            grpc_target=f"127.0.0.1:{grpc_port}",
            processes=[managed],
        )

    def ceiling(self) -> Target:
        """The transport ceiling: the real transcoder in front of bench.echo_server, which
        answers GetResource with a canned resource and does no SCIM work."""
        grpc_port = free_port()
        echo = self.supervisor.start(
            "ceiling-echo",
            [sys.executable, "-m", "bench.echo_server", "--port", str(grpc_port)],
            clean_env(),
            cwd=ROOT,
        )
        self.supervisor.wait_port(echo, grpc_port)
        transcoder, http_port = self._transcoder("ceiling", f"127.0.0.1:{grpc_port}")
        return Target(
            name="ceiling",
            base_url=f"http://127.0.0.1:{http_port}/tenants/echo/scim/v2",
            token="echo",  # noqa: S106 - the echo server reads no credential
            origin=f"http://127.0.0.1:{http_port}",
            service_pids=(echo.pid, transcoder.pid),
            processes=[echo, transcoder],
        )

    def peer(self) -> Target:
        """python-scim's scim2-server, in memory, through its own `scim2-server` command (a
        threaded WSGI server, the way its documentation serves it)."""
        port = free_port()
        executable = shutil.which("scim2-server", path=str(_VENV_BIN))
        if executable is None:
            raise StartupError("scim2-server is not installed in the benchmark venv")
        argv = [executable, "--port", str(port), "--bearer-token", PEER_TOKEN]
        managed = self.supervisor.start("peer", argv, clean_env())
        self.supervisor.wait_port(managed, port)
        return Target(
            name="peer",
            base_url=f"http://127.0.0.1:{port}/v2",
            token=PEER_TOKEN,
            origin=f"http://127.0.0.1:{port}",
            service_pids=(managed.pid,),
            processes=[managed],
        )

    def stop(self, target: Target) -> None:
        for managed in reversed(target.processes):
            self.supervisor.stop(managed)
