"""Opaque cursors for cursor paging (RFC 9865). A cursor holds an offset and a digest of the
tenant and query it belongs to, so that it cannot be replayed against another tenant, filter
or sort order. It is not a secret: what it carries, an offset, `startIndex` gives anyone."""

from __future__ import annotations

import base64
import hashlib

from scimtenancy_server.domain.errors import ScimError

_PREFIX = "c1"
_MAX_OFFSET = 2**62  # past any tenant's data, and within int64 for every transport


def query_key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:12]


def encode_cursor(offset: int, key: str) -> str:
    raw = f"{_PREFIX}:{offset}:{key}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, key: str) -> int:
    """The offset a cursor stands for; 400 `invalidCursor` (RFC 9865 §2.3) otherwise."""
    if cursor == "":
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, offset, digest = raw.split(":")
        value = int(offset)
    except ValueError:
        raise ScimError.bad_request("invalidCursor", "the cursor is not valid") from None
    if prefix != _PREFIX or digest != key or not 0 <= value <= _MAX_OFFSET:
        raise ScimError.bad_request("invalidCursor", "the cursor does not belong to this query")
    return value
