"""Audit events: who changed what in a tenant, when, and with which outcome.

An event is written in two stages: `pending` before the change reaches storage, and a final
stage (`success` or `failure`) after it. A `pending` event whose final stage never came
means the outcome is unknown (the process stopped, or the call was cancelled, mid-change);
its versions say which transition was attempted, so the resource's current version tells
whether it happened.
"""

from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

# The actor of tenant-administration calls (they carry the admin token, not a tenant key).
ADMIN_ACTOR = "admin"

# `20260101T120000.123Z-<16 hex>`: fixed width, so ids sort in time order as strings. The
# hex digits are this process's sequence number, then random ones: events of one process in
# the same millisecond keep their order, and ids of several processes never collide.
EVENT_ID = re.compile(r"\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{16}")
_sequence = itertools.count()


class Outcome(StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    event_id: str
    tenant_id: str
    time: datetime  # when the operation started
    actor: str  # an API key's public id, `jwt:<sub>` or `admin`; never a secret
    operation: str  # `create`, `replace`, `patch`, `delete`, or an admin action (`tenant.suspend`)
    resource_type: str  # `User`, `Group`, `Tenant`, `ApiKey`
    resource_id: str
    outcome: Outcome = Outcome.PENDING
    version_before: int | None = None
    version_after: int | None = None
    error_status: int | None = None  # the HTTP status of a failure
    error_type: str = ""  # its scimType, if it has one
    bulk: bool = False  # one operation of a /Bulk request

    @property
    def final(self) -> bool:
        return self.outcome is not Outcome.PENDING


def time_key(moment: datetime) -> str:
    """`moment`, rounded up to the millisecond, in the fixed-width form event ids start with."""
    moment = moment.astimezone(UTC)
    if moment.microsecond % 1000:
        try:
            moment += timedelta(microseconds=1000 - moment.microsecond % 1000)
        except OverflowError:  # the last instant datetime can hold
            moment = moment.replace(microsecond=999_000)
    return (
        f"{moment.year:04d}{moment.month:02d}{moment.day:02d}T"
        f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}."
        f"{moment.microsecond // 1000:03d}Z"
    )


def new_event_id(moment: datetime) -> str:
    sequence = next(_sequence) % 2**32
    return f"{time_key(moment)}-{sequence:08x}{secrets.token_hex(4)}"
