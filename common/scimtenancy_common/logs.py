"""Structured logs for both processes: one JSON object per line with the request id, trace id
and tenant of the request being served, and with credentials scrubbed from every message."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import time
from contextvars import ContextVar
from typing import Any, Literal, TextIO

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

# Credentials are found by two expressions, each run once over the text, in time linear in
# its length: every quantifier over a run of characters is possessive (it gives nothing back),
# and no position can start an attempt that re-reads text an earlier attempt read and
# rejected. (A hand-written scanner would need the same argument in more code.) The JWT rule
# runs first; whatever a name or scheme rule would then swallow it would have swallowed
# anyway, so the two passes redact what the one expression of before did (a property test
# checks it against that expression).
#
# JWT-shaped strings (`eyJ<header>.<payload>.<signature>`). An attempt from an `eyJ` consumes
# the whole `[\w-]` run after it, whether or not the dots follow: every later `eyJ` of that run
# would meet the same continuation and fail the same way, so skipping them loses nothing and
# keeps "eyJ-eyJ-eyJ-…" from costing one scan of the rest of the line per `eyJ` (which made
# a 60 KB request line cost 3 s, twice per access line).
_JWT = re.compile(r"(?i)\beyJ[\w-]++(?P<rest>\.[\w-]++\.[\w-]*+)?")
# Bearer/Basic credentials, and `key=value` pairs naming secrets. A failed attempt reads at
# most the whitespace run after its own name or scheme, which no other attempt can start in,
# and the few characters of the look-ahead after it.
#
# What follows a scheme is a credential unless it is one capitalised word (`OAuth Bearer
# Token`, a doubled `Bearer Bearer` whose second scheme is followed by the token): no issued
# token (an API key, a JWT, an opaque access token) is one capital and up to 19 lowercase
# letters and nothing else, while such words are what prose and names put after "Bearer".
# Lowercase words are still redacted: a hand-chosen secret is more often one of those.
_WORD = r"(?-i:[A-Z][a-z]{1,19})(?:[\s'\",;]|\Z)"
_SECRETS = re.compile(
    rf"(?i)(?P<scheme>\b(?:bearer|basic)\s++)(?!{_WORD})[^\s'\",;]++"
    r"|(?P<name>\b(?:api[_-]?key|token|secret|password|authorization)\b[\"']?\s*+[:=]\s*+[\"']?)"
    r"(?:(?:bearer|basic)\s++)?[^\s'\",;}]++"
)
REDACTED = "[redacted]"
# Every pattern above contains one of these (lower-cased); text without any is left alone
# without running the expressions, which most log lines are.
_TRIGGERS = ("bearer", "basic", "eyj", "key", "token", "secret", "password", "authorization")
# Characters of one client-supplied value (a path, a tenant named by a URL) kept in a line.
MAX_LOGGED_VALUE = 512


def scrub(text: str) -> str:
    """The text with anything that looks like a credential replaced, in time linear in its
    length."""

    lowered = text.lower()
    if not any(trigger in lowered for trigger in _TRIGGERS):
        return text
    if "eyj" in lowered:
        text = _JWT.sub(_redact_jwt, text)
    return _SECRETS.sub(_redact_secret, text)


def _redact_jwt(match: re.Match[str]) -> str:
    return REDACTED if match.group("rest") else match.group()


def _redact_secret(match: re.Match[str]) -> str:
    return (match.group("scheme") or match.group("name")) + REDACTED


def bounded(text: str, limit: int = MAX_LOGGED_VALUE) -> str:
    """A client-supplied value as it may be logged: scrubbed first (so a cut cannot leave part
    of a credential unrecognised), then cut to `limit` characters, saying how many went.
    Scrubbing it again, as the formatters do, leaves it as it is: the cut part is scrubbed once
    more (it may end in part of a "[redacted]") and the note starts with `;`, which ends the
    value of every secret."""
    text = scrub(text)
    if len(text) <= limit:
        return text
    return f"{scrub(text[:limit])}; …[cut {len(text) - limit} characters]"


class JsonFormatter(logging.Formatter):
    _second = -1
    _second_text = ""

    def _time(self, record: logging.LogRecord) -> str:
        """`2026-12-02T06:21:01.123Z`; the part up to the second is formatted once a second."""
        second = int(record.created)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record),
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
        entry["tenant"] = bounded(tenant)  # the transcoder's is the one the URL names
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        entry["trace_id"] = format(span_context.trace_id, "032x")
        entry["span_id"] = format(span_context.span_id, "016x")


class TurnBatchingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes the lines logged during one turn of the running event loop together, at the end
    of the turn, rather than one write (a system call) per line: a loaded transcoder logs a
    line per request, and writing it cost more than formatting it. Warnings and errors, and
    lines logged outside an event loop's thread, are written at once, after any waiting before
    them. What is waiting is written when logging shuts down, so a process that ends normally
    loses nothing; one killed outright loses at most the lines of its last turn."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._waiting: list[str] = []
        self._flush_scheduled = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._waiting.append(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING or not self._schedule_flush():
            self._write_waiting()

    def _schedule_flush(self) -> bool:
        if self._flush_scheduled:
            return True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a thread without a loop
            return False
        loop.call_soon(self._end_of_turn)
        self._flush_scheduled = True
        return True

    def _end_of_turn(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._flush_scheduled = False
            self._write_waiting()

    def _write_waiting(self) -> None:
        if not self._waiting:
            return
        text = "".join(self._waiting)
        self._waiting.clear()
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:
            self.handleError(logging.makeLogRecord({"msg": "log lines lost"}))

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write_waiting()
            super().flush()


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Root logging for a process: one handler on stderr in the chosen format. Neither format
    shows the caller's source line, thread or process, so records do not look them up (the
    source line is a walk of the stack for every line)."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # the logging module's documented switch (its HOWTO, "Optimization")
    handler = TurnBatchingHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
