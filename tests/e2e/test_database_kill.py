"""FerretDB killed with SIGKILL under steady load, and restarted on the same data: every answer
is the success asked for or a SCIM 503 that tells the truth, none waits for the RPC deadline,
the service heals without a restart, and every acknowledged change is there afterwards."""

from __future__ import annotations

import time

from e2e.fault_load import FaultLoad, fault_load, fault_tenants
from e2e.ferretdb_process import FerretDB, private_ferretdb
from e2e.stack import running_stack, server_settings

RPC_TIMEOUT = 10.0
CLIENTS = 6
KILLS = 2  # each catches a few writes in flight, whose outcome is then in question
BUDGET = 400  # requests at most, whatever happens


async def kill_and_restart(ferretdb: FerretDB, load: FaultLoad, cycle: int) -> tuple[float, float]:
    """Kills the database mid-load, keeps the load on through the outage, and restarts it on
    the same data and port; returns when it was dead and how long after the restart began the
    load had its first success."""
    load.begin(f"steady {cycle}")
    await load.more(40)
    load.begin(f"outage {cycle}")
    await ferretdb.kill()
    dead = time.monotonic()
    await load.more(20)
    restarted = load.begin(f"restart {cycle}")
    await ferretdb.start()
    healed = await load.first_success_after(restarted)
    return dead, healed.answered - restarted


async def test_acknowledged_writes_survive_a_killed_database() -> None:
    async with private_ferretdb() as ferretdb:
        settings = server_settings("mongodb", ferretdb.uri)
        settings.mongodb_timeout_ms = 1000
        async with running_stack(settings, rpc_timeout=RPC_TIMEOUT) as stack:
            clients = await fault_tenants(stack, CLIENTS)
            try:
                async with fault_load(clients, BUDGET, RPC_TIMEOUT) as load:
                    cycles = [
                        await kill_and_restart(ferretdb, load, c) for c in range(1, KILLS + 1)
                    ]
                    load.begin("after")
                    await load.more(40)
            finally:
                if not ferretdb.running:  # the stack drops its database on the way out
                    await ferretdb.start()
            findings = await load.verify()

    print(load.summary(), *findings.unknown, sep="\n")
    print("recovered", ", ".join(f"{s:.2f} s" for _, s in cycles), "after each restart began")
    assert not findings.problems, findings.message()
    for cycle, (dead, _) in enumerate(cycles, 1):
        failed = [str(e) for e in load.settled(f"steady {cycle}") if not e.ok]
        assert not failed, f"failed with the database up: {failed}"
        outage = [e for e in load.settled(f"outage {cycle}") if e.sent > dead]
        served = [str(e) for e in outage if e.status != 503]
        assert not served, f"answered without a database: {served}"
    failed = [str(e) for e in load.answers("after") if not e.ok]
    assert not failed, f"failed after recovery: {failed}"
