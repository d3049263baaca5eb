"""Log lines: JSON with the request's context, credentials scrubbed from every part."""

from __future__ import annotations

import json
import logging

import pytest

from scimtenancy_common.logs import (
    REDACTED,
    JsonFormatter,
    TextFormatter,
    request_id_var,
    scrub,
    tenant_var,
)

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-123", "abc.def-123"),
        ("authorization=basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        (f"token {JWT} refused", JWT),
        ("api_key=sk_live_42 in query", "sk_live_42"),
        ('{"password": "hunter2"}', "hunter2"),
        ("client secret: s3cr3t-value", "s3cr3t-value"),
    ],
)
def test_credentials_are_scrubbed(text: str, secret: str) -> None:
    cleaned = scrub(text)
    assert secret not in cleaned
    assert REDACTED in cleaned


def test_ordinary_text_is_left_alone() -> None:
    text = "tenant acme uses 80 of its 100 Users (token bucket refilled)"
    assert scrub(text) == text


def _record(message: str, *args: object, **fields: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "scimtenancy.test", logging.WARNING, __file__, 1, message, args, None
    )
    record.fields = fields
    return record


def test_json_lines_carry_the_request_context_and_no_secret() -> None:
    request, tenant = request_id_var.set("req-9"), tenant_var.set("acme")
    try:
        line = JsonFormatter().format(
            _record("refused %s", f"Bearer {JWT}", header=f"Bearer {JWT}", count=3)
        )
    finally:
        request_id_var.reset(request)
        tenant_var.reset(tenant)
    entry = json.loads(line)
    assert entry["request_id"] == "req-9"
    assert entry["tenant"] == "acme"
    assert entry["level"] == "warning"
    assert entry["count"] == 3
    assert JWT not in line
    assert entry["message"] == f"refused Bearer {REDACTED}"


def test_text_lines_are_scrubbed_too() -> None:
    line = TextFormatter().format(_record("key %s", "api_key=abcdef"))
    assert "abcdef" not in line
