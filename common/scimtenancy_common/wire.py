"""The contract between the transcoder and the tenancy server, written once: the gRPC
metadata keys, where a SCIM error travels in a gRPC status, the SCIM message URNs, and what
both promise about the answers they give."""

from __future__ import annotations

# gRPC metadata the transcoder sends with every call.
TENANT_HINT_KEY = "x-scim-tenant-hint"  # the tenant the URL names, if any
BASE_URL_KEY = "x-scim-base-url"  # where the client sent the request; references render from it
# RPCs that only read are named so (GetResource, ListTenants, SearchResources, ResolveMe,
# ...); every other RPC may change stored data.
READ_PREFIXES = ("Get", "List", "Search", "Resolve")


def changes_data(rpc: str) -> bool:
    """Whether the RPC (its name, e.g. `PatchResource`) may change stored data."""
    return not rpc.startswith(READ_PREFIXES)


# Response metadata a server sends the moment it takes up an RPC that may change data: gRPC
# never re-sends a call once its headers arrived, and a call that failed without them was
# never begun (so the transcoder can tell "not started" from "outcome unknown").
STARTED_KEY = "x-scim-started"
# Trailing metadata on every answer the server gives itself: its UNAVAILABLE already means
# "nothing done", and re-sending it at once to a replica on the same database would only
# multiply the wait (gRPC retry, gRFC A6 "pushback").
NO_RETRY = ("grpc-retry-pushback-ms", "-1")
# The trailing metadata that carries a `google.rpc.Status` with the SCIM error's details.
STATUS_DETAILS_KEY = "grpc-status-details-bin"

# SCIM message URNs (RFC 7644 §3.12, §3.4.2).
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

# The detail of a 503 whose change may or may not have been made (the server's, when a fault
# struck after it began writing; the transcoder's, when the call failed in transit). A gRPC
# UNAVAILABLE from the server, by contrast, always means nothing was done.
OUTCOME_UNKNOWN = (
    "the outcome is unknown: the change may or may not have been applied; read the resource "
    "before retrying, or retry with the same Idempotency-Key"
)

# A SCIM error's `detail` is a sentence for a person: it may quote a client's value, never at
# length, whichever process writes it.
MAX_DETAIL_LENGTH = 300


def short_detail(detail: str) -> str:
    if len(detail) <= MAX_DETAIL_LENGTH:
        return detail
    return detail[: MAX_DETAIL_LENGTH - 1] + "…"
