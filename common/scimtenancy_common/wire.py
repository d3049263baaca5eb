"""What both processes promise about the answers they give, written once."""

from __future__ import annotations

# A SCIM error's `detail` is a sentence for a person: it may quote a client's value, never at
# length, whichever process writes it.
MAX_DETAIL_LENGTH = 300


def short_detail(detail: str) -> str:
    if len(detail) <= MAX_DETAIL_LENGTH:
        return detail
    return detail[: MAX_DETAIL_LENGTH - 1] + "…"
