"""`scimtenancy-admin validate` and `apply`: what they print and the exit codes they end with.

Exit codes: 0 valid, applied, or nothing to do; 1 an invalid file or a failed call (every
problem, or every tenant that failed with its cause, is printed); 3 a dry run that found
changes to make."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scimtenancy_server.tenants_file.admin_port import AdminCallFailed, TenantAdminPort
from scimtenancy_server.tenants_file.apply import ReconcileFailed, reconcile
from scimtenancy_server.tenants_file.load import load_tenants_file
from scimtenancy_server.tenants_file.model import TenantsConfig
from scimtenancy_server.tenants_file.problems import TenantsFileInvalid

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CHANGES_PENDING = 3


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def load_or_report(files: Sequence[Path], environment: str | None) -> TenantsConfig | None:
    """The configuration, or None after printing every problem."""
    try:
        return load_tenants_file(files, environment)
    except TenantsFileInvalid as invalid:
        print(invalid)
        print(f"invalid: {_plural(len(invalid.problems), 'problem')}")
        return None


def validate(files: Sequence[Path], environment: str | None) -> int:
    config = load_or_report(files, environment)
    if config is None:
        return EXIT_FAILED
    where = f" for environment {environment}" if environment else ""
    tenants = _plural(len(config.tenants), "tenant")
    print(f"valid: {tenants}, {_plural(len(config.jwt_issuers()), 'JWT issuer')}{where}")
    return EXIT_OK


def _after(failed: ReconcileFailed) -> str:
    if failed.stopped:
        return "the changes before the failure were applied; apply again once its cause is fixed"
    return "every other tenant was applied; apply again once the causes are fixed"


async def apply(
    config: TenantsConfig, admin: TenantAdminPort, *, dry_run: bool, prune: bool
) -> int:
    try:
        plan = await reconcile(config, admin, prune=prune, dry_run=dry_run)
    except ReconcileFailed as failed:
        print(failed.plan.render())
        print(*failed.render(), sep="\n")
        print(f"failed: {_plural(len(failed.failures), 'tenant')}; {_after(failed)}")
        return EXIT_FAILED
    except AdminCallFailed as error:
        print(f"cannot read the server's tenants: {error}")
        return EXIT_FAILED
    print(plan.render())
    if config.jwt_issuers():
        print("note: JWT issuers take effect in a server started with this file")
    if dry_run:
        print("dry run: nothing was changed")
        return EXIT_CHANGES_PENDING if plan.has_changes else EXIT_OK
    print("applied" if plan.has_changes else "nothing to do")
    return EXIT_OK
