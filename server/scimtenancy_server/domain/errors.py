"""The service's one error type: a SCIM error (RFC 7644 §3.12), converted once per transport."""

from __future__ import annotations

from scimtenancy_common.wire import MAX_DETAIL_LENGTH, short_detail

__all__ = ["MAX_DETAIL_LENGTH", "ScimError"]


class ScimError(Exception):
    """A failure with an HTTP status, an optional `scimType` and a detail safe to show a client."""

    # A 503 whose change may or may not have been applied (never retried blindly).
    unknown_outcome = False

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        detail = short_detail(detail)
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type

    def __repr__(self) -> str:
        return f"ScimError({self.status}, {self.detail!r}, scim_type={self.scim_type!r})"

    @classmethod
    def bad_request(cls, scim_type: str, detail: str) -> ScimError:
        return cls(400, detail, scim_type)

    @classmethod
    def invalid_syntax(cls, detail: str) -> ScimError:
        return cls(400, detail, "invalidSyntax")

    @classmethod
    def invalid_value(cls, detail: str) -> ScimError:
        return cls(400, detail, "invalidValue")

    @classmethod
    def invalid_filter(cls, detail: str) -> ScimError:
        return cls(400, detail, "invalidFilter")

    @classmethod
    def invalid_path(cls, detail: str) -> ScimError:
        return cls(400, detail, "invalidPath")

    @classmethod
    def no_target(cls, detail: str) -> ScimError:
        return cls(400, detail, "noTarget")

    @classmethod
    def mutability(cls, detail: str) -> ScimError:
        return cls(400, detail, "mutability")

    @classmethod
    def unauthenticated(cls, detail: str) -> ScimError:
        return cls(401, detail)

    @classmethod
    def forbidden(cls, detail: str) -> ScimError:
        return cls(403, detail)

    @classmethod
    def not_found(cls, detail: str) -> ScimError:
        return cls(404, detail)

    @classmethod
    def uniqueness(cls, detail: str) -> ScimError:
        return cls(409, detail, "uniqueness")

    @classmethod
    def conflict(cls, detail: str) -> ScimError:
        return cls(409, detail)

    @classmethod
    def precondition_failed(cls, detail: str) -> ScimError:
        return cls(412, detail)

    @classmethod
    def too_large(cls, detail: str) -> ScimError:
        return cls(413, detail, "tooLarge")

    @classmethod
    def internal(cls, detail: str = "internal error") -> ScimError:
        return cls(500, detail)

    @classmethod
    def not_implemented(cls, detail: str) -> ScimError:
        return cls(501, detail)

    @classmethod
    def unavailable(cls, detail: str) -> ScimError:
        """A fault or a refusal to start (an unknown outcome once writing began: see
        `deadlines.as_outcome`)."""
        return cls(503, detail)

    @classmethod
    def outcome_unknown(cls, detail: str) -> ScimError:
        error = cls(503, detail)
        error.unknown_outcome = True
        return error
