"""The tenants file at start: read and checked before anything is served or bound. An invalid
file stops the process with exit status 2 and one line per problem on stderr
(`file:line: field: message`), as invalid settings do."""

from __future__ import annotations

import sys

from scimtenancy_common.settings import Settings
from scimtenancy_server.services.tenant_config.reading import (
    LoadedConfig,
    TenantsFileSource,
    read_at_start,
)
from scimtenancy_server.tenants_file.problems import TenantsFileInvalid

INVALID_EXIT_STATUS = 2


def read_or_exit(settings: Settings) -> LoadedConfig | None:
    """The tenants file the settings name, None when they name none."""
    if not settings.tenants_file:
        return None
    try:
        return read_at_start(TenantsFileSource.from_settings(settings))
    except TenantsFileInvalid as invalid:
        lines = [str(problem) for problem in invalid.problems]
        print("invalid tenants file:", *lines, sep="\n  ", file=sys.stderr)
        raise SystemExit(INVALID_EXIT_STATUS) from None
