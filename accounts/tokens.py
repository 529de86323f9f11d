"""Signed, purpose-bound, expiring tokens for emailed links (itsdangerous, a salt per purpose)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer


@dataclass(frozen=True)
class Purpose:
    salt: str
    max_age_seconds: int


PASSWORD_RESET = Purpose("password-reset-v1", 30 * 60)
ACCOUNT_SETUP = Purpose("account-setup-v1", 72 * 3600)
# The longest invitation (60 days) plus the longest attempt (240 minutes + 50% extra time) and a grace;
# the database's expiry, status and token version decide the rest.
INVITATION = Purpose("invitation-v1", 60 * 86400 + 6 * 3600 + 15 * 60)


class InvalidToken(Exception):
    """The token is malformed, tampered with, expired, or minted for another purpose."""


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    # itsdangerous signs with the last key and accepts all of them: old keys first, the current one last.
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or []), current_app.config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=purpose.salt)


def mint(purpose: Purpose, payload: dict[str, Any]) -> str:
    """Sign opaque ids (never names or emails) for one purpose."""
    return _serializer(purpose).dumps(payload)


def read(purpose: Purpose, token: str) -> dict[str, Any]:
    """Verify signature, purpose and age; raises InvalidToken for every kind of failure alike."""
    try:
        payload = _serializer(purpose).loads(token, max_age=purpose.max_age_seconds)
    except BadData:
        raise InvalidToken from None
    if not isinstance(payload, dict):
        raise InvalidToken
    return payload
