"""A tenant's response options: what an admin may set, the ServiceProviderConfig they make,
and how they shape requests and answers."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import make_tenant

from scimtenancy_server.domain.discovery import service_provider_config
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.projection import Projection, ReturnPreference
from scimtenancy_server.domain.search import ListRequest
from scimtenancy_server.domain.tenant import (
    AuthenticationScheme,
    PatchAnswer,
    RateLimit,
    ResponseOptions,
    Tenant,
)
from scimtenancy_server.domain.tenant_options import (
    validate_display_name,
    validate_rate_limit,
    validate_response_options,
)
from scimtenancy_server.domain.tenant_responses import (
    offered_if_match,
    offered_sort,
    patch_returns_resource_for,
)

BEARER = AuthenticationScheme("oauthbearertoken", "Bearer", "An API key")


def tenant(**options: object) -> Tenant:
    return replace(make_tenant(), responses=ResponseOptions(**options))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "uri",
    [
        "https://docs.example.com/a?b#c",
        "http://127.0.0.1:8080/docs",
        "",  # none
    ],
)
def test_documentation_uris_taken(uri: str) -> None:
    options = ResponseOptions(
        documentation_uri=uri, authentication_schemes=(replace(BEARER, spec_uri=uri),)
    )
    assert validate_response_options(options) == options


@pytest.mark.parametrize(
    "uri",
    [
        "https://",
        "mailto:a@example.com",
        "https://ex ample.com/\n",
        "example.com/docs",
        "https://a b/c d",  # spaces are not in URIs (RFC 3986)
        "https://[",  # an unclosed IPv6 host, which urlsplit itself refuses
        "http://[::1",
        "https://a]b",
    ],
)
def test_documentation_uris_refused(uri: str) -> None:
    with pytest.raises(ScimError) as refused:
        validate_response_options(ResponseOptions(documentation_uri=uri))
    assert (refused.value.status, refused.value.scim_type) == (400, "invalidValue")


@pytest.mark.parametrize(
    "scheme",
    [
        replace(BEARER, type="httpdigest"),
        replace(BEARER, description="   "),
        replace(BEARER, name="tab\there"),
        replace(BEARER, name="n" * 257),
    ],
)
def test_schemes_refused(scheme: AuthenticationScheme) -> None:
    with pytest.raises(ScimError):
        validate_response_options(ResponseOptions(authentication_schemes=(scheme,)))


def test_display_names_and_rate_limits() -> None:
    assert validate_display_name("Acme Corporation, Zürich") == "Acme Corporation, Zürich"
    with pytest.raises(ScimError):
        validate_display_name("line\nbreak")
    assert validate_rate_limit(RateLimit(0.001, 1)) == RateLimit(0.001, 1)
    too_slow = (RateLimit(5e-324, 1), RateLimit(1e-300, 1), RateLimit(0.0009, 1))
    for bad in (RateLimit(0, 1), RateLimit(float("nan"), 1), RateLimit(1e7, 1), RateLimit(1, 0)):
        with pytest.raises(ScimError):
            validate_rate_limit(bad)
    for bad in too_slow:
        with pytest.raises(ScimError) as refused:
            validate_rate_limit(bad)
        assert "from 0.001" in refused.value.detail


def test_the_service_provider_config_follows_the_options() -> None:
    server = service_provider_config("", 1000, 100, 1000, 1_048_576)
    assert server == service_provider_config("", 1000, 100, 1000, 1_048_576, ResponseOptions())
    assert "documentationUri" not in server
    options = ResponseOptions(
        authentication_schemes=(BEARER,), bulk=False, etag=False, filter_max_results=50
    )
    narrowed = service_provider_config("", 1000, 100, 1000, 1_048_576, options)
    assert narrowed["authenticationSchemes"] == [
        {
            "type": "oauthbearertoken",
            "name": "Bearer",
            "description": "An API key",
            "primary": False,
        }
    ]
    assert narrowed["bulk"] == {"supported": False, "maxOperations": 0, "maxPayloadSize": 0}
    assert narrowed["etag"] == {"supported": False}
    assert narrowed["sort"] == {"supported": True}
    assert narrowed["pagination"]["defaultPageSize"] == narrowed["filter"]["maxResults"] == 50
    # Never past the server's own most, whatever the tenant's.
    assert ResponseOptions(filter_max_results=50).max_results(20) == 20


def test_what_is_not_offered_is_not_applied() -> None:
    plain, bare = tenant(), tenant(etag=False, sort=False)
    assert offered_if_match(plain, '"3"') == '"3"'
    assert offered_if_match(bare, '"3"') == ""
    sorted_request = ListRequest(filter='userName sw "a"', sort_by="userName", sort_order="x")
    assert offered_sort(plain, sorted_request) is sorted_request
    assert offered_sort(bare, sorted_request) == ListRequest(filter='userName sw "a"')


@pytest.mark.parametrize(
    ("answer", "preference", "projection", "members", "resource"),
    [
        (PatchAnswer.DEFAULT, ReturnPreference.UNSPECIFIED, Projection(), False, True),
        (PatchAnswer.DEFAULT, ReturnPreference.UNSPECIFIED, Projection(), True, False),
        (PatchAnswer.NO_CONTENT, ReturnPreference.UNSPECIFIED, Projection(), False, False),
        (PatchAnswer.NO_CONTENT, ReturnPreference.REPRESENTATION, Projection(), False, True),
        (PatchAnswer.NO_CONTENT, ReturnPreference.UNSPECIFIED, Projection(("id",)), False, True),
        (PatchAnswer.REPRESENTATION, ReturnPreference.UNSPECIFIED, Projection(), True, True),
        (PatchAnswer.REPRESENTATION, ReturnPreference.MINIMAL, Projection(), False, False),
    ],
)
def test_patch_answers(
    answer: PatchAnswer,
    preference: ReturnPreference,
    projection: Projection,
    members: bool,
    resource: bool,
) -> None:
    """The client's Prefer or projection, then the tenant's choice, then the server's rule."""
    chosen = tenant(patch_answer=answer)
    assert patch_returns_resource_for(chosen, projection, preference, members) is resource
