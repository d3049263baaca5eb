"""Reading the tenants file: its files found and merged, then validated as a whole, every
problem placed at its file, line and field.

Sources are files or directories. In a directory every `*.yaml` / `*.yml` is a base file, in
name order, except environment overlays: `NAME.ENV.yaml` beside a `NAME.yaml` (or `.yml`).
With an environment chosen, each base file's overlay for it is read over the base: tenants
are matched by id, mappings merged key by key, lists and other values replaced; an overlay
may add tenants. A tenant id in two base files is an error."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from scimtenancy_common.settings import ENVIRONMENT_NAME
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.resource import parse_json_object
from scimtenancy_server.tenants_file import merge
from scimtenancy_server.tenants_file.merge import Merged
from scimtenancy_server.tenants_file.model import (
    DEFER_CROSS_CHECKS,
    MIN_SECRET_BYTES,
    TenantsConfig,
    cross_tenant_problems,
)
from scimtenancy_server.tenants_file.problems import (
    Location,
    Problem,
    TenantsFileInvalid,
    field_path,
)
from scimtenancy_server.tenants_file.yaml_nodes import MAX_DEPTH, read_document, read_text

MAX_FILES = 64
_SUFFIXES = (".yaml", ".yml")
_ENVIRONMENT = re.compile(ENVIRONMENT_NAME)


def load_tenants_file(
    sources: Sequence[Path], environment: str | None = None, env: Mapping[str, str] | None = None
) -> TenantsConfig:
    """The validated configuration; raises TenantsFileInvalid listing every problem."""
    if environment is not None and not _ENVIRONMENT.fullmatch(environment):
        message = (
            f"{environment!r} must be 1 to 63 letters, digits, '-' or '_', starting with a "
            "letter or digit"
        )
        problem = Problem("environment", None, "", message)
        raise TenantsFileInvalid([problem])
    bases, overlays = _files(sources, environment)
    merged = merge.merge_files([_read(path) for path in bases], [_read(path) for path in overlays])
    _resolve_schema_files(merged)
    config = _validate(merged)
    secrets = _secrets(config, merged, os.environ if env is None else env)
    return config.with_secrets(secrets)


def _read(path: Path) -> merge.Read:
    try:
        return read_document(path, str(path))
    except TenantsFileInvalid as invalid:
        return invalid.problems


def _files(sources: Sequence[Path], environment: str | None) -> tuple[list[Path], list[Path]]:
    bases: list[Path] = []
    problems: list[Problem] = []
    for source in sources:
        if source.is_dir():
            found = _base_files(source)
            if not found:  # e.g. mid-way through a swap: never read as "no tenants"
                problems.append(Problem(str(source), None, "", "holds no *.yaml or *.yml file"))
            bases.extend(found)
        elif source.is_file():
            bases.append(source)
        else:
            problems.append(Problem(str(source), None, "", "no such file or directory"))
    overlays = [o for o in (_overlay(b, environment) for b in bases) if o is not None]
    if len(bases) + len(overlays) > MAX_FILES:
        problems.append(Problem(str(sources[0]), None, "", f"more than {MAX_FILES} files"))
    if problems:
        raise TenantsFileInvalid(problems)
    return bases, overlays


def _base_files(directory: Path) -> list[Path]:
    found = sorted(p for p in directory.iterdir() if p.suffix in _SUFFIXES and p.is_file())
    names = {p.name for p in found}

    def is_overlay(path: Path) -> bool:
        stem = Path(path.stem)  # `tenants.prod` of `tenants.prod.yaml`
        return bool(stem.suffix) and any(f"{stem.stem}{s}" in names for s in _SUFFIXES)

    return [p for p in found if not is_overlay(p)]


def _overlay(base: Path, environment: str | None) -> Path | None:
    if environment is None:
        return None
    candidates = (base.with_name(f"{base.stem}.{environment}{s}") for s in _SUFFIXES)
    return next((c for c in candidates if c.is_file()), None)


def _resolve_schema_files(merged: Merged) -> None:
    """Each `schema_file` read (relative to the file that names it) into `schema`."""
    for index, tenant in enumerate(merged.tenants):
        extensions = tenant.get("schema_extensions") if isinstance(tenant, dict) else None
        for number, extension in enumerate(extensions if isinstance(extensions, list) else []):
            if not isinstance(extension, dict) or "schema" in extension:
                continue
            name = extension.get("schema_file")
            if not isinstance(name, str) or not name:
                continue
            where = ("tenants", index, "schema_extensions", number, "schema_file")
            origin = merged.origin(where)
            try:
                extension["schema"] = _schema_document(_beside(Path(origin.file), name))
            except (ScimError, TenantsFileInvalid) as error:
                detail = error.detail if isinstance(error, ScimError) else error.problems[0].message
                merged.problems.append(merged.problem(where, f"{name}: {detail}"))
                continue
            del extension["schema_file"]
            merged.rename(index, ("schema_extensions", number, "schema_file"), "schema")


def _beside(file: Path, name: str) -> Path:
    """`name` relative to the directory of `file`, which it may not leave: a tenants file
    names schemas that come with it, never other files of the machine."""
    directory = file.parent.resolve()
    path = (directory / name).resolve()
    if not path.is_relative_to(directory):
        raise ScimError.invalid_value("must name a file in the tenants file's directory")
    return path


def _schema_document(path: Path) -> dict[str, Any]:
    text = read_text(path, str(path))
    return parse_json_object(text.encode(), "the schema file", MAX_DEPTH)


def _validate(merged: Merged) -> TenantsConfig:
    problems = list(merged.problems)
    try:
        config = TenantsConfig.model_validate(
            {"version": 1, "tenants": merged.tenants}, context={DEFER_CROSS_CHECKS: True}
        )
    except ValidationError as error:
        problems.extend(_problem(merged, e) for e in error.errors(include_url=False))
        raise TenantsFileInvalid(problems) from None
    problems.extend(merged.problem(loc, m) for loc, m in cross_tenant_problems(config.tenants))
    if problems:
        raise TenantsFileInvalid(problems)
    return config


def _problem(merged: Merged, error: ErrorDetails) -> Problem:
    location: Location = tuple(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = _unknown_field(str(location[-1]))
    elif error["type"] == "missing":
        message = "is required"
    return merged.problem(location, message)


def _field_names(model: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(info.alias or name)
        for kind in getattr(info.annotation, "__args__", (info.annotation,)):
            inner = getattr(kind, "__args__", (kind,))
            for candidate in (kind, *inner):
                if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                    names |= _field_names(candidate)
    return names


_KNOWN_FIELDS = sorted(_field_names(TenantsConfig))


def _unknown_field(name: str) -> str:
    close = difflib.get_close_matches(name, _KNOWN_FIELDS, n=1)
    return f"unknown field {name!r}" + (f"; did you mean {close[0]!r}?" if close else "")


def _secrets(config: TenantsConfig, merged: Merged, env: Mapping[str, str]) -> dict[str, str]:
    """The values of the `secret_env` variables; a missing or short secret is a problem."""
    found: dict[str, str] = {}
    problems: list[Problem] = []
    for index, tenant in enumerate(config.tenants):
        for number, issuer in enumerate(tenant.jwt_issuers):
            if issuer.secret_env is None:
                continue
            where = ("tenants", index, "jwt_issuers", number, "secret_env")
            value = env.get(issuer.secret_env, "")
            needed = max(MIN_SECRET_BYTES.get(a, 0) for a in issuer.algorithms)
            if not value:
                problems.append(merged.problem(where, f"{issuer.secret_env} is not set"))
            elif len(value.encode()) < needed:
                message = f"{issuer.secret_env} holds fewer than {needed} bytes (RFC 7518 §3.2)"
                problems.append(merged.problem(where, message))
            else:
                found[issuer.secret_env] = value
    if problems:
        raise TenantsFileInvalid(problems)
    return found


__all__ = ["Problem", "TenantsFileInvalid", "field_path", "load_tenants_file"]
