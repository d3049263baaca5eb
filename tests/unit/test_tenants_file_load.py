"""Reading the tenants file: one test per kind of mistake, each placed at its file, line and
field; overlays, directories and the bounds; the examples and the published JSON Schema."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import get_args

import jsonschema_rs
import pytest
import yaml

from scimtenancy_server.domain.tenant_options import SERVED_SCHEME_TYPES
from scimtenancy_server.tenants_file.load import load_tenants_file
from scimtenancy_server.tenants_file.model import (
    AuthenticationSchemeSpec,
    TenantsConfig,
    json_schema_text,
)
from scimtenancy_server.tenants_file.problems import Problem, TenantsFileInvalid

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "config" / "examples"
SECRET = "s" * 32
EXAMPLE_ENV = {"INITECH_JWT_SECRET": SECRET}
EXTENSION_SCHEMA_FOR_TESTS = {
    "id": "urn:example:params:scim:schemas:extension:outside:2.0:User",
    "name": "Outside",
    "attributes": [{"name": "badge", "type": "string", "multiValued": False}],
}


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def problems(
    *sources: Path, environment: str | None = None, env: dict[str, str] | None = None
) -> list[Problem]:
    with pytest.raises(TenantsFileInvalid) as raised:
        load_tenants_file(list(sources), environment, env or {})
    return raised.value.problems


def only_problem(*sources: Path, **kwargs: object) -> Problem:
    found = problems(*sources, **kwargs)  # type: ignore[arg-type]
    assert len(found) == 1, found
    return found[0]


def one_tenant(tmp_path: Path, body: str) -> Path:
    """A file whose only tenant (at line 3) has these lines (from line 4 on)."""
    lines = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
    return write(tmp_path, "tenants.yaml", f"version: 1\ntenants:\n  - id: acme\n{lines}\n")


# -- the examples and the schema


def test_the_examples_are_valid_with_and_without_the_overlay() -> None:
    base = load_tenants_file([EXAMPLES], env=EXAMPLE_ENV)
    prod = load_tenants_file([EXAMPLES], "prod", EXAMPLE_ENV)
    assert [t.id for t in base.tenants] == ["acme", "globex", "initech"]
    assert base.tenants[0].limits.users == 5000
    assert prod.tenants[0].limits.users == 50000
    assert prod.tenants[0].limits.groups == 500  # mappings merge key by key
    assert prod.tenants[1].rate_limit is not None
    assert prod.tenants[1].rate_limit.requests_per_second == 200
    assert base.tenants[0].schema_extensions[0].urn.endswith(":acme:2.0:User")


def test_the_published_json_schema_is_current() -> None:
    committed = (ROOT / "config" / "tenants.schema.json").read_text()
    assert committed == json_schema_text(), (
        "config/tenants.schema.json is stale: run "
        "`scimtenancy-admin schema > config/tenants.schema.json` and commit it"
    )


@pytest.mark.parametrize("name", ["tenants.yaml", "tenants.prod.yaml"])
def test_the_examples_pass_the_json_schema(name: str) -> None:
    schema = json.loads((ROOT / "config" / "tenants.schema.json").read_text())
    document = yaml.safe_load((EXAMPLES / name).read_text())
    assert jsonschema_rs.validator_for(schema).is_valid(document)
    assert not jsonschema_rs.validator_for(schema).is_valid({**document, "tenant": []})


def test_the_examples_name_the_schema_for_editors() -> None:
    for name in ("tenants.yaml", "tenants.prod.yaml"):
        first = (EXAMPLES / name).read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../tenants.schema.json"


def test_issuers_are_bound_to_their_tenant_with_the_secret_from_the_environment() -> None:
    config = load_tenants_file([EXAMPLES], env=EXAMPLE_ENV)
    [issuer] = config.jwt_issuers()
    assert issuer.tenant == "initech"
    assert issuer.secret is not None
    assert issuer.secret.get_secret_value() == SECRET
    assert SECRET not in repr(config)


# -- one test per kind of mistake


def test_an_unknown_field_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = one_tenant(tmp_path, "display_name: Acme\nlimts: {users: 1}")
    found = only_problem(path)
    assert (found.file, found.line, found.field) == (str(path), 5, "tenants[0].limts")
    assert "did you mean 'limits'" in found.message


def test_a_wrong_type(tmp_path: Path) -> None:
    path = one_tenant(tmp_path, "limits:\n  users: many")
    found = only_problem(path)
    assert (found.line, found.field) == (5, "tenants[0].limits.users")
    assert "integer" in found.message


def test_a_number_written_as_a_string_is_refused(tmp_path: Path) -> None:
    found = only_problem(one_tenant(tmp_path, 'limits: {users: "5"}'))
    assert found.field == "tenants[0].limits.users"


def test_a_bad_tenant_id(tmp_path: Path) -> None:
    path = write(tmp_path, "t.yaml", "version: 1\ntenants:\n  - id: ok\n  - id: Not_OK\n")
    found = only_problem(path)
    assert (found.line, found.field) == (4, "tenants[1].id")
    assert "lower-case letters" in found.message


def test_a_duplicate_id_within_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, "t.yaml", "version: 1\ntenants:\n  - id: acme\n  - id: acme\n")
    found = only_problem(path)
    assert (found.file, found.line, found.field) == (str(path), 4, "tenants[1].id")
    assert f"also defined at {path}:3" in found.message


def test_a_duplicate_id_across_files_names_both_places(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "version: 1\ntenants:\n  - id: acme\n")
    write(tmp_path, "b.yaml", "version: 1\ntenants:\n  - id: other\n  - id: acme\n")
    found = only_problem(tmp_path)
    assert (found.file, found.line, found.field) == (str(tmp_path / "b.yaml"), 4, "tenants[1].id")
    assert f"{tmp_path / 'a.yaml'}:3" in found.message


def test_a_bad_permission(tmp_path: Path) -> None:
    path = one_tenant(tmp_path, "permissions:\n  - scim:read\n  - scim:write")
    found = only_problem(path)
    assert (found.line, found.field) == (6, "tenants[0].permissions[1]")
    assert "scim:read" in found.message  # the allowed values are listed


def test_no_permissions_at_all_is_refused(tmp_path: Path) -> None:
    found = only_problem(one_tenant(tmp_path, "permissions: []"))
    assert (found.line, found.field) == (4, "tenants[0].permissions")


def test_a_bad_isolation_level(tmp_path: Path) -> None:
    found = only_problem(one_tenant(tmp_path, "isolation: private"))
    assert (found.line, found.field) == (4, "tenants[0].isolation")
    assert "'strict', 'standard' or 'shared'" in found.message


def test_a_negative_limit(tmp_path: Path) -> None:
    found = only_problem(one_tenant(tmp_path, "limits: {users: 10, groups: -1}"))
    assert (found.line, found.field) == (4, "tenants[0].limits.groups")
    assert "greater than or equal to 0" in found.message


def test_a_bad_url(tmp_path: Path) -> None:
    path = one_tenant(tmp_path, "responses:\n  documentation_uri: ftp://docs.example/scim")
    found = only_problem(path)
    assert (found.line, found.field) == (5, "tenants[0].responses.documentation_uri")
    assert "must be an http(s) URL" in found.message  # the admin API's own words


def test_a_bad_rate_limit(tmp_path: Path) -> None:
    found = only_problem(one_tenant(tmp_path, "rate_limit: {requests_per_second: 0, burst: 5}"))
    assert found.field == "tenants[0].rate_limit.requests_per_second"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("rate_limit: {requests_per_second: 2000000, burst: 5}", "rate_limit.requests_per_second"),
        ("rate_limit: {requests_per_second: 5, burst: 2000000}", "rate_limit.burst"),
        ("responses: {filter_max_results: 1001}", "responses.filter_max_results"),
        ("responses: {patch_answer: default}", "responses.patch_answer"),
        (
            "responses:\n  authentication_schemes:\n"
            "    - {type: httpbasic, name: Basic, description: user and password}",
            "responses.authentication_schemes[0].type",
        ),
    ],
)
def test_a_value_the_server_would_refuse_is_refused_here(
    tmp_path: Path, body: str, field: str
) -> None:
    found = only_problem(one_tenant(tmp_path, body))
    assert found.field == f"tenants[0].{field}"


def test_two_primary_authentication_schemes_are_refused(tmp_path: Path) -> None:
    scheme = "{type: oauthbearertoken, name: %s, description: a token, primary: true}"
    body = "responses:\n  authentication_schemes:\n" + "".join(
        f"    - {scheme % name}\n" for name in ("one", "two")
    )
    found = only_problem(one_tenant(tmp_path, body))
    assert found.field == "tenants[0].responses.authentication_schemes"
    assert "at most one" in found.message


def test_the_scheme_types_are_the_ones_the_server_serves() -> None:
    offered = set(get_args(AuthenticationSchemeSpec.model_fields["type"].annotation))
    assert offered == SERVED_SCHEME_TYPES


def test_a_missing_environment_variable_for_a_secret(tmp_path: Path) -> None:
    path = one_tenant(
        tmp_path,
        """
        jwt_issuers:
          - issuer: https://idp.example/
            algorithms: [HS256]
            secret_env: ACME_SECRET
        """,
    )
    found = only_problem(path, env={"OTHER": SECRET})
    assert (found.line, found.field) == (7, "tenants[0].jwt_issuers[0].secret_env")
    assert found.message == "ACME_SECRET is not set"
    config = load_tenants_file([path], env={"ACME_SECRET": SECRET})
    assert config.jwt_issuers()[0].secret is not None


def test_a_secret_shorter_than_the_hash_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = one_tenant(
        tmp_path,
        "jwt_issuers:\n  - {issuer: i, algorithms: [HS512], secret_env: S}",
    )
    found = only_problem(path, env={"S": SECRET})  # 32 bytes; HS512 needs 64
    assert found.field == "tenants[0].jwt_issuers[0].secret_env"
    assert "64 bytes" in found.message
    assert SECRET not in found.message


def test_an_hs_issuer_without_secret_env(tmp_path: Path) -> None:
    found = only_problem(one_tenant(tmp_path, "jwt_issuers:\n  - {issuer: i, algorithms: [HS256]}"))
    assert (found.line, found.field) == (5, "tenants[0].jwt_issuers[0]")
    assert "needs 'secret_env'" in found.message


def test_an_rs_issuer_without_keys(tmp_path: Path) -> None:
    found = only_problem(one_tenant(tmp_path, "jwt_issuers:\n  - {issuer: i}"))
    assert "jwks_url" in found.message


def test_an_issuer_bound_to_two_tenants(tmp_path: Path) -> None:
    issuer = "jwt_issuers: [{issuer: 'https://idp.example/', jwks_url: 'https://idp.example/k'}]"
    path = write(
        tmp_path,
        "t.yaml",
        f"version: 1\ntenants:\n  - id: one\n    {issuer}\n  - id: two\n    {issuer}\n",
    )
    found = only_problem(path)
    assert (found.line, found.field) == (6, "tenants[1].jwt_issuers[0].issuer")
    assert "already bound to 'one'" in found.message


def test_a_bad_extension_schema_inline(tmp_path: Path) -> None:
    path = one_tenant(
        tmp_path,
        """
        schema_extensions:
          - resource_type: User
            schema: {id: "not-a-urn", attributes: []}
        """,
    )
    found = only_problem(path)
    assert (found.line, found.field) == (6, "tenants[0].schema_extensions[0].schema")
    assert "needs an 'id' URN" in found.message


def test_a_bad_extension_schema_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        "schemas/x.json",
        '{"id": "urn:x:1", "attributes": [{"name": "a", "type": "blob"}]}',
    )
    path = one_tenant(
        tmp_path, "schema_extensions:\n  - {resource_type: User, schema_file: schemas/x.json}"
    )
    found = only_problem(path)
    assert (found.line, found.field) == (5, "tenants[0].schema_extensions[0].schema_file")
    assert "attribute types must be among" in found.message


def test_a_missing_extension_schema_file(tmp_path: Path) -> None:
    path = one_tenant(
        tmp_path, "schema_extensions:\n  - {resource_type: User, schema_file: no.json}"
    )
    found = only_problem(path)
    assert found.field == "tenants[0].schema_extensions[0].schema_file"
    assert found.message.startswith("no.json: cannot be read")


def test_an_extension_of_the_services_own_schema_is_refused(tmp_path: Path) -> None:
    urn = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    path = one_tenant(
        tmp_path,
        "schema_extensions:\n  - resource_type: User\n"
        f"    schema: {{id: '{urn}', attributes: [{{name: a, type: string}}]}}",
    )
    assert "schema of the service itself" in only_problem(path).message


def test_an_overlay_naming_an_unknown_key(tmp_path: Path) -> None:
    write(tmp_path, "tenants.yaml", "version: 1\ntenants:\n  - id: acme\n")
    overlay = write(
        tmp_path, "tenants.prod.yaml", "version: 1\ntenants:\n  - id: acme\n    limts: {}\n"
    )
    found = only_problem(tmp_path, environment="prod")
    assert (found.file, found.line, found.field) == (str(overlay), 4, "tenants[0].limts")
    load_tenants_file([tmp_path], None, {})  # without the environment the overlay is not read


def test_an_error_in_an_overlay_value_is_placed_in_the_overlay(tmp_path: Path) -> None:
    write(
        tmp_path,
        "tenants.yaml",
        "version: 1\ntenants:\n  - id: a\n  - id: acme\n    limits: {users: 1}\n",
    )
    overlay = write(
        tmp_path,
        "tenants.prod.yaml",
        "version: 1\ntenants:\n  - id: acme\n    limits: {users: -5}\n",
    )
    found = only_problem(tmp_path / "tenants.yaml", environment="prod")
    assert (found.file, found.line, found.field) == (str(overlay), 4, "tenants[0].limits.users")


def test_an_overlay_replaces_lists_and_may_add_tenants(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.yaml",
        "version: 1\ntenants:\n  - id: a\n    permissions: [scim:read, scim:list]\n",
    )
    write(
        tmp_path,
        "t.dev.yml",
        "version: 1\ntenants:\n  - {id: a, permissions: [scim:read]}\n  - id: b\n",
    )
    config = load_tenants_file([tmp_path], "dev", {})
    assert [t.id for t in config.tenants] == ["a", "b"]
    assert [p.value for p in config.tenants[0].permissions] == ["scim:read"]


def test_a_directory_reads_its_files_in_name_order(tmp_path: Path) -> None:
    write(tmp_path, "b.yaml", "version: 1\ntenants: [{id: second}]\n")
    write(tmp_path, "a.yml", "version: 1\ntenants: [{id: first}]\n")
    write(tmp_path, "notes.txt", "not read")
    config = load_tenants_file([tmp_path], None, {})
    assert [t.id for t in config.tenants] == ["first", "second"]


def test_the_version_and_the_top_level_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "t.yaml", "version: 2\ntenant: []\n")
    found = {(p.line, p.field) for p in problems(path)}
    assert found == {(1, "version"), (2, "tenant")}


def test_every_problem_is_listed_one_per_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, "t.yaml", "version: 1\ntenants:\n  - id: A\n  - id: b\n    isolation: x\n"
    )
    with pytest.raises(TenantsFileInvalid) as raised:
        load_tenants_file([path], None, {})
    lines = str(raised.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}:3: tenants[0].id: ")
    assert lines[1].startswith(f"{path}:5: tenants[1].isolation: ")


def test_a_missing_file(tmp_path: Path) -> None:
    found = only_problem(tmp_path / "none.yaml")
    assert (found.line, found.message) == (None, "no such file or directory")


# -- bounds


def test_a_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("version: 1\n# " + "x" * (1 << 20) + "\n")
    found = only_problem(path)
    assert (found.file, found.line) == (str(path), None)
    assert "larger than 1048576 bytes" in found.message


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    lines = ["version: 1", "a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}]" for i in range(9)]
    path = write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    found = only_problem(path)
    assert (found.line, found.message) == (2, "anchors and aliases (& and *) are not supported")


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "deep.yaml", "version: 1\ntenants: " + "[" * 40 + "]" * 40 + "\n")
    assert "nests deeper than 32 levels" in only_problem(path).message


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    found = only_problem(one_tenant(tmp_path, "display_name: A\ndisplay_name: B"))
    assert (found.line, found.message) == (5, "key 'display_name' appears twice")


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "t.yaml", "version: 1\ntenants:\n  - id: [acme\n")
    found = only_problem(path)
    assert found.line is not None
    assert found.message.startswith("is not valid YAML")


def test_python_tags_are_refused(tmp_path: Path) -> None:
    found = only_problem(one_tenant(tmp_path, "display_name: !!python/name:os.system"))
    assert "not supported" in found.message


def test_too_many_tenants(tmp_path: Path) -> None:
    body = "".join(f"  - id: t{i}\n" for i in range(10_001))
    found = only_problem(write(tmp_path, "t.yaml", "version: 1\ntenants:\n" + body))
    assert "more than 10000 tenants" in found.message


def test_the_model_alone_refuses_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        TenantsConfig.model_validate({"version": 1, "tenants": [{"id": "a"}, {"id": "a"}]})


def test_an_environment_name_cannot_reach_other_files(tmp_path: Path) -> None:
    path = write(tmp_path, "t.yaml", "version: 1\ntenants: []\n")
    found = only_problem(path, environment="../x")
    assert str(found) == (
        "environment: '../x' must be 1 to 63 letters, digits, '-' or '_', starting with a "
        "letter or digit"
    )
    assert only_problem(path, environment="-x").file == "environment"  # as the server's


# -- what an attacker's read found: each refused as the admin API or the reader would


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('display_name: "a\\x01b"', "display_name"),
        ('responses: {documentation_uri: "https://a\\x01b"}', "responses.documentation_uri"),
        ('responses: {documentation_uri: "https://["}', "responses.documentation_uri"),
        (
            "responses:\n  authentication_schemes:\n"
            '    - {type: oauth2, name: " ", description: a token}',
            "responses.authentication_schemes[0].name",
        ),
        ("rate_limit: {requests_per_second: 5.0e-324, burst: 1}", "rate_limit.requests_per_second"),
    ],
)
def test_what_the_admin_api_refuses_the_file_refuses(tmp_path: Path, body: str, field: str) -> None:
    found = only_problem(one_tenant(tmp_path, body))
    assert found.field == f"tenants[0].{field}"


def test_a_directory_without_a_tenants_file_is_refused_not_read_as_no_tenants(
    tmp_path: Path,
) -> None:
    (tmp_path / "tenants.yaml.bak").write_text("version: 1\ntenants: []\n")
    found = only_problem(tmp_path)
    assert (found.file, found.message) == (str(tmp_path), "holds no *.yaml or *.yml file")


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "schema.json")
    path = one_tenant(
        tmp_path, "schema_extensions:\n  - {resource_type: User, schema_file: schema.json}"
    )
    found = only_problem(path)
    assert found.field == "tenants[0].schema_extensions[0].schema_file"
    assert "is not a regular file" in found.message


@pytest.mark.parametrize("name", ["../outside.json", "/etc/passwd"])
def test_a_schema_file_outside_the_directory_is_refused(tmp_path: Path, name: str) -> None:
    inner = tmp_path / "tenants"
    inner.mkdir()
    (tmp_path / "outside.json").write_text(json.dumps(EXTENSION_SCHEMA_FOR_TESTS))
    body = f"schema_extensions:\n  - {{resource_type: User, schema_file: '{name}'}}"
    found = only_problem(one_tenant(inner, body))
    assert "the tenants file's directory" in found.message
    assert "root" not in found.message  # nothing of the file's content


@pytest.mark.parametrize("name", ["PATH", "SCIMTENANCY_ADMIN_TOKEN", "scimtenancy_admin_token"])
def test_a_secret_cannot_come_from_a_variable_that_holds_something_else(
    tmp_path: Path, name: str
) -> None:
    body = (
        "jwt_issuers:\n  - {issuer: 'https://idp.example/', algorithms: [HS256], "
        f"secret_env: {name}}}"
    )
    found = only_problem(one_tenant(tmp_path, body), env={name: "s" * 64})
    assert found.field == "tenants[0].jwt_issuers[0].secret_env"
    assert "s" * 64 not in found.message
