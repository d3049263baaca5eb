"""The request context: resolved tenant and rendering hints, carried in a contextvar."""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass

from scimtenancy_server.domain.tenant import TenantContext


@dataclass(frozen=True, slots=True)
class RequestContext:
    tenant: TenantContext
    base_url: str


_current: ContextVar[RequestContext] = ContextVar("scimtenancy_request")


def current_request() -> RequestContext:
    return _current.get()


def enter_request(context: RequestContext) -> Token[RequestContext]:
    return _current.set(context)


def leave_request(token: Token[RequestContext]) -> None:
    _current.reset(token)
