"""Rate limits keyed by account and by address, counted in Redis when configured, else in the database.

Keys are keyed hashes (HMAC with the secret key), so neither emails nor addresses are stored. When Redis does not
answer, the limits fail closed: ThrottleUnavailable, which the app answers with a 503, never an unlimited try.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import RateLimitCounter
from database import db, independent_unit_of_work


@dataclass(frozen=True)
class Limit:
    name: str
    max_count: int
    window: timedelta


LOGIN_PER_ACCOUNT = Limit("login-account", 10, timedelta(minutes=15))
LOGIN_PER_ADDRESS = Limit("login-address", 50, timedelta(minutes=15))
# Wrong second-step codes (only someone with the password gets that far). Three steps are accepted, so each
# guess at a 6-digit code has 3 chances in a million: 20 a day keeps a year of guessing near 2 %.
TWO_FACTOR_PER_ACCOUNT = Limit("two-factor-account", 5, timedelta(minutes=15))
TWO_FACTOR_PER_ACCOUNT_DAY = Limit("two-factor-account-day", 20, timedelta(days=1))
TWO_FACTOR_PER_ADDRESS = Limit("two-factor-address", 20, timedelta(minutes=15))
RESET_PER_ACCOUNT = Limit("reset-account", 3, timedelta(hours=1))
RESET_PER_ADDRESS = Limit("reset-address", 20, timedelta(hours=1))
# Bad report share links from one address: guessing tokens is pointless, but it is also not allowed.
SHARE_LINK_PER_ADDRESS = Limit("share-link-address", 20, timedelta(minutes=15))


def counter_key(limit: Limit, value: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, f"{limit.name}:{value.strip().lower()}".encode(), hashlib.sha256)
    return digest.hexdigest()


class ThrottleUnavailable(RuntimeError):
    """The rate-limit counters could not be read or written (Redis down): the limited action must not go ahead."""


@cache
def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=2)


@contextmanager
def _redis_errors() -> Iterator[None]:
    """Turn any Redis failure (refused, timed out, an error reply) into ThrottleUnavailable."""
    import redis

    try:
        yield
    except redis.RedisError as exc:
        raise ThrottleUnavailable(f"the rate-limit store did not answer ({type(exc).__name__})") from exc


def retry_after(limit: Limit, value: str, now: datetime) -> int | None:
    """Seconds until the limit lifts when it is reached, else None; ThrottleUnavailable when Redis does not answer."""
    key = counter_key(limit, value)
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        client = _redis(redis_url)
        with _redis_errors():
            count = int(client.get(f"rapport:rl:{key}") or 0)
            if count < limit.max_count:
                return None
            return max(1, int(client.ttl(f"rapport:rl:{key}")))
    row = db.session.scalar(select(RateLimitCounter).where(RateLimitCounter.key == key))
    if row is None or now >= row.window_start + limit.window or row.count < limit.max_count:
        return None
    return max(1, int((row.window_start + limit.window - now).total_seconds()))


def count_hit(limit: Limit, value: str, now: datetime, session: Session | None = None) -> None:
    """Count one event against the limit (in its own unit of work unless a session is given); ThrottleUnavailable
    when Redis does not answer."""
    key = counter_key(limit, value)
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        client = _redis(redis_url)
        # The window starts with the first hit; SET NX EX then INCR never leaves a key without expiry.
        pipe = client.pipeline()
        pipe.set(f"rapport:rl:{key}", 0, ex=int(limit.window.total_seconds()), nx=True)
        pipe.incr(f"rapport:rl:{key}")
        with _redis_errors():
            pipe.execute()
        return
    if session is None:
        with independent_unit_of_work() as own:
            _count_in(own, key, limit, now)
    else:
        _count_in(session, key, limit, now)


def _count_in(session: Session, key: str, limit: Limit, now: datetime) -> None:
    row = session.get(RateLimitCounter, key)
    if row is None:
        session.add(RateLimitCounter(key=key, window_start=now, count=1))
    elif now >= row.window_start + limit.window:
        row.window_start, row.count = now, 1
    else:
        row.count += 1


def clear(limit: Limit, value: str) -> None:
    """Forget the count for one key (after a successful sign-in); ThrottleUnavailable when Redis does not answer."""
    key = counter_key(limit, value)
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        with _redis_errors():
            _redis(redis_url).delete(f"rapport:rl:{key}")
        return
    row = db.session.get(RateLimitCounter, key)
    if row is not None:
        db.session.delete(row)
