"""A tenant's response options, rate limit and schema extensions, between admin messages and
the domain."""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from scimtenancy.admin.v1 import admin_pb2 as pb
from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.tenant import (
    AuthenticationScheme,
    PatchAnswer,
    RateLimit,
    ResponseOptions,
    TenantExtension,
)

_PATCH_ANSWER_TO_PB = {
    PatchAnswer.DEFAULT: pb.PATCH_ANSWER_UNSPECIFIED,
    PatchAnswer.REPRESENTATION: pb.PATCH_ANSWER_REPRESENTATION,
    PatchAnswer.NO_CONTENT: pb.PATCH_ANSWER_NO_CONTENT,
}
_PATCH_ANSWER_FROM_PB = {v: k for k, v in _PATCH_ANSWER_TO_PB.items()}
_FEATURES = ("bulk", "sort", "etag")


def _patch_answer(value: pb.PatchAnswer) -> PatchAnswer:
    found = _PATCH_ANSWER_FROM_PB.get(value)
    if found is None:
        raise ScimError.invalid_value(f"unknown patch_answer {value}")
    return found


def _scheme(message: pb.AuthenticationScheme) -> AuthenticationScheme:
    return AuthenticationScheme(
        type=message.type,
        name=message.name,
        description=message.description,
        spec_uri=message.spec_uri,
        documentation_uri=message.documentation_uri,
        primary=message.primary,
    )


def response_options_from(message: pb.ResponseOptions) -> ResponseOptions:
    """The options a message names (checked by the service); unset features are offered."""
    offered = {f: getattr(message, f) if message.HasField(f) else True for f in _FEATURES}
    return ResponseOptions(
        documentation_uri=message.documentation_uri,
        authentication_schemes=tuple(_scheme(s) for s in message.authentication_schemes),
        filter_max_results=message.filter_max_results,
        patch_answer=_patch_answer(message.patch_answer),
        **offered,
    )


def response_options_message(options: ResponseOptions) -> pb.ResponseOptions:
    """The options with every feature's flag set, so a reader sees what is offered."""
    return pb.ResponseOptions(
        documentation_uri=options.documentation_uri,
        authentication_schemes=[
            pb.AuthenticationScheme(
                type=s.type,
                name=s.name,
                description=s.description,
                spec_uri=s.spec_uri,
                documentation_uri=s.documentation_uri,
                primary=s.primary,
            )
            for s in options.authentication_schemes
        ],
        bulk=options.bulk,
        sort=options.sort,
        etag=options.etag,
        filter_max_results=options.filter_max_results,
        patch_answer=_PATCH_ANSWER_TO_PB[options.patch_answer],
    )


def rate_limit_from(message: pb.RateLimit) -> RateLimit | None:
    """The tenant's own limit; None for `requests_per_second` 0 (the server's)."""
    if message.requests_per_second == 0:
        return None
    return RateLimit(message.requests_per_second, message.burst)


def rate_limit_message(limit: RateLimit | None) -> pb.RateLimit | None:
    if limit is None:
        return None
    return pb.RateLimit(requests_per_second=limit.requests_per_second, burst=limit.burst)


def extension_messages(extensions: Iterable[TenantExtension]) -> list[pb.SchemaExtension]:
    return [
        pb.SchemaExtension(
            resource_type=e.resource_type,
            schema_urn=e.schema.id,
            required=e.required,
            schema_json=orjson.dumps(e.schema.document),
        )
        for e in extensions
    ]
