"""Structured logs for both processes: one JSON object per line with the request id, trace id
and tenant of the request being served, and with credentials scrubbed from every message."""

from __future__ import annotations

import logging
import re
import sys
import time
from contextvars import ContextVar
from typing import Any, Literal

import orjson
from opentelemetry import trace

LogFormat = Literal["json", "text"]

# A request id travels as this header / gRPC metadata key; a caller's own id is kept only when
# it is a safe token.
REQUEST_ID_KEY = "x-request-id"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# The request being served, for log lines written while serving it.
request_id_var: ContextVar[str] = ContextVar("scimtenancy_request_id", default="")
tenant_var: ContextVar[str] = ContextVar("scimtenancy_log_tenant", default="")

# Bearer/Basic credentials, JWT-shaped strings, and `key=value` pairs naming secrets.
_SECRETS = re.compile(
    r"(?i)(?P<scheme>\b(?:bearer|basic)\s+)[^\s'\",;]+"
    r"|\beyJ[\w-]+\.[\w-]+\.[\w-]*"
    r"|(?P<name>\b(?:api[_-]?key|token|secret|password|authorization)\b[\"']?\s*[:=]\s*[\"']?)"
    r"(?:(?:bearer|basic)\s+)?[^\s'\",;}]+"
)
REDACTED = "[redacted]"
# Every pattern above contains one of these (lower-cased); text without any is left alone
# without running the expression, which most log lines are.
_TRIGGERS = ("bearer", "basic", "eyj", "key", "token", "secret", "password", "authorization")


def scrub(text: str) -> str:
    """The text with anything that looks like a credential replaced."""

    lowered = text.lower()
    if not any(trigger in lowered for trigger in _TRIGGERS):
        return text

    def replace(match: re.Match[str]) -> str:
        prefix = match.group("scheme") or match.group("name") or ""
        return prefix + REDACTED

    return _SECRETS.sub(replace, text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        _add_context(entry)
        for key, value in getattr(record, "fields", {}).items():
            entry[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["error"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        context: dict[str, Any] = {}
        _add_context(context)
        fields = {**context, **getattr(record, "fields", {})}
        suffix = "".join(f" {key}={value}" for key, value in fields.items())
        return scrub(super().format(record) + suffix)


def _add_context(entry: dict[str, Any]) -> None:
    if request_id := request_id_var.get():
        entry["request_id"] = request_id
    if tenant := tenant_var.get():
        entry["tenant"] = tenant
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        entry["trace_id"] = format(span_context.trace_id, "032x")
        entry["span_id"] = format(span_context.span_id, "016x")


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Root logging for a process: one handler on stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
