"""Input limits: every request costs time bounded by its size and by these numbers.

They are enforced in the server, so a direct gRPC caller meets the same ones as HTTP. Each
refusal names the limit it met and writes nothing."""

from __future__ import annotations

from dataclasses import dataclass

# Integers must fit in 64 bits (BSON's int64, and every IdP's integer attribute).
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class InputLimits:
    """Defaults are far above what Microsoft Entra ID and Okta send (their users are a few
    kilobytes, with strings of at most a few hundred characters and a handful of values per
    multi-valued attribute) and far below what could stall a server."""

    # Characters of one string value.
    max_string_length: int = 8192
    # Values of one multi-valued attribute; a Group's `members` are not counted here.
    max_values: int = 256
    # Bytes of a resource's canonical JSON, `members` not counted.
    max_resource_bytes: int = 65_536
    # Nesting of JSON objects and arrays in a request body (a Bulk request's included).
    max_json_depth: int = 32
    # Characters of a filter expression.
    max_filter_length: int = 4096
    # Attribute expressions (`userName eq "x"`) in one filter.
    max_filter_terms: int = 100
    # Nesting of parentheses, `not (...)` and value filters `[...]` in one filter.
    max_filter_depth: int = 16
    # Characters of an attribute path (filters, PATCH paths, sortBy, attributes).
    max_path_length: int = 256
    # Names in `attributes` or `excludedAttributes`.
    max_projection_names: int = 100
    # Characters of a resource id; longer ones cannot exist, so they are not looked up.
    max_id_length: int = 256
    # Operations of one PATCH; each may walk the values of the attribute it names.
    max_patch_operations: int = 1000


DEFAULT_LIMITS = InputLimits()
