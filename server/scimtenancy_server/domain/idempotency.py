"""Idempotency keys (draft-ietf-httpapi-idempotency-key-header): the key's form, the
fingerprint of the request it names, and the record kept of each key."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from scimtenancy_server.domain.errors import ScimError

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
BULK_SCOPE = "bulk"
# Outside an sf-string's quotes, a key is one token: two keys joined by a comma (a header
# sent twice) or with spaces between them are refused, not read as one.
_BARE_EXCLUDED = frozenset('",')
_OWS = " \t"


def _invalid(detail: str) -> ScimError:
    return ScimError.invalid_value(f"the {HEADER} header {detail}")


def parse_key(value: str) -> str | None:
    """The key a field value names (None: no key, when empty): an sf-string (RFC 8941
    §3.3.3) or, as many clients send it, a bare token; 1 to 255 printable ASCII characters."""
    value = value.strip(_OWS)  # RFC 9110 §5.5: surrounding whitespace is not part of it
    if not value:
        return None
    if len(value) > 2 * MAX_KEY_LENGTH + 2:  # the longest form: every character escaped
        raise _invalid(f"must hold 1 to {MAX_KEY_LENGTH} characters")
    key = _unquoted(value) if value.startswith('"') else _bare(value)
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise _invalid(f"must hold 1 to {MAX_KEY_LENGTH} characters")
    return key


def _bare(value: str) -> str:
    if any(not ("!" <= c <= "~") or c in _BARE_EXCLUDED for c in value):
        raise _invalid("must be one quoted string or one token of printable ASCII characters")
    return value


def _unquoted(value: str) -> str:
    """RFC 8941 §4.2.5 (Parsing a String), with nothing allowed after the closing quote."""
    characters: list[str] = []
    rest = iter(value[1:])
    for c in rest:
        if c == "\\":
            escaped = next(rest, "")
            if escaped not in ('"', "\\"):
                raise _invalid('has an escape other than \\" or \\\\')
            characters.append(escaped)
        elif c == '"':
            if next(rest, None) is not None:
                raise _invalid("must be a single string, with nothing after its closing quote")
            return "".join(characters)
        elif not (" " <= c <= "~"):
            raise _invalid("may hold printable ASCII characters only")
        else:
            characters.append(c)
    raise _invalid("has no closing quote")


def key_hash(key: str) -> str:
    """What is stored and logged of a key: never the key itself."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_scope(resource_type: str) -> str:
    return f"create:{resource_type}"


def fingerprint(
    scope: str,
    body: bytes,
    attributes: Sequence[str] = (),
    excluded_attributes: Sequence[str] = (),
) -> str:
    """SHA-256 of the operation and resource type (`scope`), the body's bytes and the
    projection, each part length-prefixed so that no two requests share one."""
    digest = hashlib.sha256()
    parts = [scope.encode(), body, *(a.encode() for a in attributes), b"\x00"]
    parts += [a.encode() for a in excluded_attributes]
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Replied:
    """The first request succeeded: its serialized reply message."""

    reply: bytes


@dataclass(frozen=True, slots=True)
class Refused:
    """The first request got a SCIM error that a retry of it would get again."""

    status: int
    scim_type: str
    detail: str

    @classmethod
    def of(cls, error: ScimError) -> Refused:
        return cls(error.status, error.scim_type or "", error.detail)

    def error(self) -> ScimError:
        return ScimError(self.status, self.detail, self.scim_type or None)


@dataclass(frozen=True, slots=True)
class Unkept:
    """The first request succeeded, but its answer was too large to keep."""

    size: int


Answer = Replied | Refused | Unkept


# Client errors that depend on the state of things rather than on the request: a limit or a
# permission (403), a conflict or a precondition (409, 412), or "later" (408, 425, 429). A
# retry may meet a different answer, so they are not kept; like every refusal, they did
# nothing, so they free the key.
_STATE_DEPENDENT = frozenset({403, 408, 409, 412, 425, 429})


def kept_refusal(error: ScimError) -> bool:
    """Whether a retry would meet the same error: a client error the request itself earns."""
    return 400 <= error.status < 500 and error.status not in _STATE_DEPENDENT


def refused(error: ScimError) -> bool:
    """Whether the error is a refusal (a client error): the request changed nothing."""
    return 400 <= error.status < 500


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """One key of one tenant for one operation. Each attempt at the request is a generation:
    `attempt` counts them; a running one (no answer yet) holds the key until `lease_until`."""

    tenant_id: str
    scope: str
    key_hash: str
    fingerprint: str
    reserved_id: str  # the id the create gets (a uuid4), or the seed of a /Bulk's ids
    lease_until: datetime
    expires_at: datetime
    attempt: int = 0
    answer: Answer | None = None

    @property
    def record_id(self) -> str:
        return f"{self.tenant_id}:{self.scope}:{self.key_hash}"

    @property
    def generation(self) -> tuple[str, int, bool]:
        """What a conditional write of the record compares: the same reservation, attempt
        and state."""
        return self.reserved_id, self.attempt, self.answer is None

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def leased(self, now: datetime) -> bool:
        """Whether its attempt may still be running."""
        return self.answer is None and now < self.lease_until
