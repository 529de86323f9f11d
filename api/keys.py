"""Creating, finding and revoking API keys. A key is ``rpk_<prefix>_<secret>``: the prefix finds the row,
the secret's SHA-256 is compared in constant time. Keys carry 256 random bits, so a fast hash is enough."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from accounts import audit
from accounts.models import User
from api.models import ApiKey, ApiScope
from database import db

KEY_PATTERN = re.compile(r"rpk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})")
NAME_MAX = 80


class ApiKeyError(ValueError):
    """A key could not be created: the message names the field's problem."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    plaintext: str  # shown once, never stored


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    agency_id: int, *, name: str, scope: str, by: User, now: datetime, plaintext: str | None = None
) -> NewKey:
    """A new key for the agency, inside the caller's unit of work; the plaintext is returned once.

    `plaintext` is for the demo seed only, whose key is printed at every start; keys are otherwise random.
    """
    problems: dict[str, str] = {}
    name = " ".join(name.split())
    if not name:
        problems["name"] = "Give the key a name, such as the system that will use it."
    elif len(name) > NAME_MAX:
        problems["name"] = f"Use at most {NAME_MAX} characters."
    if scope not in {s.value for s in ApiScope}:
        problems["scope"] = "Choose read only, or read and write."
    given = KEY_PATTERN.fullmatch(plaintext) if plaintext is not None else None
    if plaintext is not None and given is None:
        problems["key"] = "A given key must look like rpk_<12 letters or digits>_<43 characters>."
    if problems:
        raise ApiKeyError(problems)
    prefix, secret = given.groups() if given else (secrets.token_hex(6), secrets.token_urlsafe(32))
    key = ApiKey(
        agency_id=agency_id,
        name=name,
        prefix=prefix,
        secret_sha256=_digest(secret),
        scope=ApiScope(scope),
        created_by_id=by.id,
        created_at=now,
    )
    db.session.add(key)
    db.session.flush()
    audit.record(
        "api_key.created",
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type="api_key",
        object_public_id=key.public_id,
        details={"scope": {"before": None, "after": key.scope.value}},
    )
    return NewKey(key=key, plaintext=f"rpk_{prefix}_{secret}")


def revoke_key(key: ApiKey, *, by: User, now: datetime) -> None:
    """Stop a key at once (idempotent)."""
    if key.revoked_at is not None:
        return
    key.revoked_at = now
    audit.record(
        "api_key.revoked",
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type="api_key",
        object_public_id=key.public_id,
    )


def find_key(presented: str) -> ApiKey | None:
    """The active key matching a presented key, or None (malformed, unknown, wrong secret or revoked)."""
    match = KEY_PATTERN.fullmatch(presented.strip())
    if match is None:
        return None
    prefix, secret = match.groups()
    key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not hmac.compare_digest(key.secret_sha256, _digest(secret)):
        return None
    return key if key.is_active else None


def agency_keys(agency_id: int) -> list[ApiKey]:
    return list(
        db.session.scalars(select(ApiKey).where(ApiKey.agency_id == agency_id).order_by(ApiKey.created_at.desc()))
    )
