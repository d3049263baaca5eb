"""Reading a SCIM request body: media type and size, checked before any byte is forwarded."""

from __future__ import annotations

from starlette.requests import Request

from scimtenancy_transcoder.errors import HttpScimError

ACCEPTED_MEDIA_TYPES = frozenset({"application/scim+json", "application/json"})


async def read_body(request: Request, limit: int) -> bytes:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type and media_type not in ACCEPTED_MEDIA_TYPES:
        raise HttpScimError(
            415, f"Content-Type {media_type!r} is not supported; send application/scim+json"
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> HttpScimError:
    return HttpScimError(413, f"the request body is larger than {limit} bytes", "tooLarge")
