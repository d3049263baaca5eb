"""Tenant API keys: shown once, stored only as a SHA-256 hash, looked up by that hash.

A plain hash suffices because the keys are 256-bit random values, not passwords: there is
nothing to brute-force, and a lookup by hash stays one indexed `_id` read.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

KEY_PREFIX = "scimt"


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_hash: str
    key_id: str
    tenant_id: str
    created: datetime
    revoked: bool = False
    expires: datetime | None = None  # set when the key is rotated: it works until then
    last_used: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return not self.revoked and (self.expires is None or now < self.expires)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key(tenant_id: str, now: datetime) -> tuple[ApiKey, str]:
    """Returns the record to store and the secret to hand out once."""
    key_id = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    return ApiKey(hash_secret(secret), key_id, tenant_id, now), secret


def api_key_from_secret(secret: str, tenant_id: str, now: datetime) -> ApiKey:
    """A record for a secret chosen by configuration (the development tenant's key)."""
    return ApiKey(hash_secret(secret), "configured", tenant_id, now)
