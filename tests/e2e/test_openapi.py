"""The OpenAPI description: served by every URL strategy, valid OpenAPI 3.1, and true of the
running service. Schemathesis sends requests generated from it (its examples, positive and
negative data) over a real socket and checks every response: no server error, a documented
status, content type and headers, and a body that matches the documented schema."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
import requests
import schemathesis
from e2e.stack import server_settings
from e2e.threaded_stack import ThreadedStack, threaded_stack
from helpers import user_body
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import CheckFunction
from schemathesis.generation import GenerationMode
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi import checks as openapi_checks

from scimtenancy_common.settings import JwtIssuer
from scimtenancy_server.domain.tenant import IsolationLevel
from scimtenancy_transcoder.openapi import build_document

ISSUER = "https://idp.example"
SECRET = "a-shared-secret-long-enough-for-hs256!"
ME = "employee-7"
ROOT_PATHS = ["/healthz", "/readyz", "/openapi.json"]
CHECKS: list[CheckFunction] = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
]
BOUNDED = settings(
    max_examples=10,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
)


@dataclass(frozen=True)
class Caller:
    """One tenant's identity provider: an API key, and a JWT whose subject names a User (what
    /Me needs)."""

    base_url: str
    api_key: str
    token: str

    def authorization(self, path: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token if path == '/Me' else self.api_key}"}


@pytest.fixture(scope="module")
def live() -> Iterator[ThreadedStack]:
    server = server_settings("memory")
    server.jwt_issuers = [
        JwtIssuer(issuer=ISSUER, algorithms=["HS256"], secret=SECRET, tenant_claim="tid")
    ]
    with threaded_stack(server) as service:
        yield service


def new_tenant(live: ThreadedStack) -> Caller:
    async def create() -> Caller:
        scim = await live.stack.tenant(IsolationLevel.STANDARD)
        me = await scim.post("/Users", user_body("me", externalId=ME))
        assert me.status_code == 201, me.text
        now = int(time.time())
        claims = {"iss": ISSUER, "iat": now, "exp": now + 900, "tid": scim.tenant_id, "sub": ME}
        token = jwt.encode(claims, SECRET, algorithm="HS256")
        return Caller(scim.base_url, scim.api_key, token)

    return live.run(create())


@pytest.fixture(scope="module")
def caller(live: ThreadedStack) -> Caller:
    return new_tenant(live)


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def served_document(live: ThreadedStack, strategy: str, **headers: str) -> dict[str, Any]:
    response = httpx.get(
        f"{live.stack.origins[strategy]}/openapi.json", headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    return document


@pytest.mark.parametrize("strategy", ["path", "subdomain", "header"])
def test_every_strategy_serves_a_valid_openapi_31_document(
    live: ThreadedStack, strategy: str
) -> None:
    document = served_document(live, strategy)
    assert document["openapi"] == "3.1.0"
    described = json.loads(json.dumps(build_document(header_strategy=strategy == "header")))
    assert {k: v for k, v in document.items() if k != "servers"} == described
    schemathesis.openapi.from_dict(document).validate()
    paths = document["paths"]
    for path in ("/Users", "/Users/{id}", "/Groups/{id}", "/Me", "/Bulk", "/.search"):
        assert path in paths
    assert {"get", "post"} <= paths["/Users"].keys()
    assert {"get", "put", "patch", "delete"} <= paths["/Groups/{id}"].keys()
    tenant_headers = {p["$ref"].rsplit("/", 1)[1] for p in paths["/Users"].get("parameters", [])}
    assert tenant_headers == (
        {"x-tenant-id", "x-client-id", "tenant"} if strategy == "header" else set()
    )


def test_servers_follow_the_url_strategy(live: ThreadedStack) -> None:
    path = served_document(live, "path")["servers"]
    assert path == [
        {
            "url": "/tenants/{tenant}/scim/v2",
            "variables": {"tenant": {"default": "dev", "description": "The tenant's id."}},
        }
    ]
    port = live.stack.origins["subdomain"].rsplit(":", 1)[1]
    subdomain = served_document(live, "subdomain", Host=f"any.scim.test:{port}")["servers"]
    assert subdomain[0]["url"] == f"http://{{tenant}}.scim.test:{port}/scim/v2"
    assert served_document(live, "header")["servers"] == [{"url": "/scim/v2"}]


def test_the_description_needs_no_credential_and_rejects_other_methods(live: ThreadedStack) -> None:
    response = httpx.post(f"{live.stack.origins['path']}/openapi.json", timeout=30)
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/scim+json"


# The description the service serves (checked above), with the path strategy's servers.
DOCUMENT = {**build_document(header_strategy=False), "servers": [{"url": "/tenants/dev/scim/v2"}]}
# Operations whose bodies are whole Users: the coverage phase makes some 1700 boundary cases of
# each. POST /Users keeps the negative ones (each way a User can be wrong must be refused); a PUT
# to an unknown id answers 404 before reading its body, and PUT /Me validates as POST /Users.
CREATE_USER = ["createUser"]
REPLACE_USER = ["replaceUser", "replaceMe"]


def load_description(*phases: str, negative_coverage_only: bool = False) -> BaseSchema:
    schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT))
    # Unknown query parameters and headers are ignored, as HTTP allows: not a violation.
    schema.config.generation.update(allow_extra_parameters=False)
    schema.config.phases.update(phases=list(phases))
    if negative_coverage_only:
        schema.config.phases.coverage.generation.update(modes=[GenerationMode.NEGATIVE])
    return schema


scim_schema = (
    load_description("examples", "coverage", "fuzzing")
    .exclude(path=ROOT_PATHS)
    .exclude(operation_id=CREATE_USER + REPLACE_USER)
)
create_user_schema = load_description(
    "examples", "coverage", "fuzzing", negative_coverage_only=True
).include(operation_id=CREATE_USER)
replace_user_schema = load_description("examples", "fuzzing").include(operation_id=REPLACE_USER)
root_schema = load_description("examples", "coverage", "fuzzing").include(path=ROOT_PATHS)


def call_and_validate(case: Any, caller: Caller, http: requests.Session) -> None:
    headers = caller.authorization(case.path)
    case.call_and_validate(base_url=caller.base_url, session=http, headers=headers, checks=CHECKS)


@scim_schema.parametrize()
@BOUNDED
def test_scim_endpoints_conform_to_the_description(
    case: Any, caller: Caller, http: requests.Session
) -> None:
    call_and_validate(case, caller, http)


@create_user_schema.parametrize()
@BOUNDED
def test_user_creation_conforms_to_the_description(
    case: Any, caller: Caller, http: requests.Session
) -> None:
    call_and_validate(case, caller, http)


@replace_user_schema.parametrize()
@BOUNDED
def test_user_replacements_conform_to_the_description(
    case: Any, caller: Caller, http: requests.Session
) -> None:
    call_and_validate(case, caller, http)


@root_schema.parametrize()
@BOUNDED
def test_probes_conform_to_the_description(
    case: Any, live: ThreadedStack, http: requests.Session
) -> None:
    case.call_and_validate(base_url=live.stack.origins["path"], session=http, checks=CHECKS)


def test_linked_operations_conform_to_the_description(
    live: ThreadedStack, http: requests.Session
) -> None:
    """Stateful: resources created by POST are read, replaced, patched and deleted through the
    description's links, so those operations meet existing resources too. Each scenario has a
    tenant of its own, so that the service's answers depend on that scenario's steps only."""
    description = load_description("stateful")
    # Links may overwrite the very part of a request that a negative case broke, making it
    # valid again: schema-violating requests are the stateless tests' business.
    description.config.phases.stateful.generation.update(modes=[GenerationMode.POSITIVE])
    machine = description.exclude(path=ROOT_PATHS).as_state_machine()

    class Scenario(machine):  # type: ignore[misc, valid-type]
        caller: Caller

        def setup(self) -> None:
            self.caller = new_tenant(live)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            headers = self.caller.authorization(case.path)
            return {"base_url": self.caller.base_url, "session": http, "headers": headers}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            kwargs.pop("additional_checks", None)
            case.validate_response(
                response, checks=CHECKS, headers=kwargs["headers"], transport_kwargs=kwargs
            )

    Scenario.run(settings=settings(BOUNDED, max_examples=20, stateful_step_count=8))
