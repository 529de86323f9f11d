"""The rate limits' Redis backend (skipped without Redis, except on CI where Redis is required)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from accounts import throttle
from accounts.throttle import LOGIN_PER_ACCOUNT, RESET_PER_ACCOUNT
from database import utcnow
from tests.conftest import CI

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_unreachable() -> str | None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
        return None
    except redis.RedisError as exc:
        return f"Redis not reachable at {REDIS_URL.split('@')[-1]} ({type(exc).__name__})"
    finally:
        client.close()


@pytest.fixture(scope="module", autouse=True)
def _require_redis() -> None:
    reason = _redis_unreachable()
    if reason:
        if CI:
            pytest.fail(f"{reason}; CI=true requires Redis")
        pytest.skip(reason)


@pytest.fixture
def account(ctx) -> Iterator[str]:
    """A value no other test uses; its keys are deleted afterwards."""
    value = f"throttle-{uuid.uuid4().hex}@example.test"
    yield value
    keys = [f"rapport:rl:{throttle.counter_key(limit, value)}" for limit in (LOGIN_PER_ACCOUNT, RESET_PER_ACCOUNT)]
    throttle._redis(REDIS_URL).delete(*keys)


def redis_key(value: str) -> str:
    return f"rapport:rl:{throttle.counter_key(LOGIN_PER_ACCOUNT, value)}"


pytestmark = pytest.mark.app_config(REDIS_URL=REDIS_URL)


def test_the_limit_is_reached_at_the_tenth_hit_and_cleared(account):
    now = utcnow()
    for _ in range(LOGIN_PER_ACCOUNT.max_count - 1):
        throttle.count_hit(LOGIN_PER_ACCOUNT, account, now)
    assert throttle.retry_after(LOGIN_PER_ACCOUNT, account, now) is None

    throttle.count_hit(LOGIN_PER_ACCOUNT, account, now)

    wait = throttle.retry_after(LOGIN_PER_ACCOUNT, account, now)
    assert isinstance(wait, int)
    assert 0 < wait <= LOGIN_PER_ACCOUNT.window.total_seconds()
    # Counted in Redis under a keyed hash, not in the database, and never under the address itself.
    client = throttle._redis(REDIS_URL)
    assert int(client.get(redis_key(account))) == LOGIN_PER_ACCOUNT.max_count
    assert not client.keys(f"*{account}*")
    assert throttle.retry_after(LOGIN_PER_ACCOUNT, f"  {account.upper()} ", now)  # the same account

    throttle.clear(LOGIN_PER_ACCOUNT, account)

    assert throttle.retry_after(LOGIN_PER_ACCOUNT, account, now) is None
    assert client.exists(redis_key(account)) == 0


def test_the_window_is_not_extended_by_later_hits(account):
    now = utcnow()
    throttle.count_hit(LOGIN_PER_ACCOUNT, account, now)
    client = throttle._redis(REDIS_URL)
    client.expire(redis_key(account), 5)

    throttle.count_hit(LOGIN_PER_ACCOUNT, account, now)

    assert 0 < client.ttl(redis_key(account)) <= 5


def test_limits_and_values_are_counted_apart(account):
    now = utcnow()
    for _ in range(LOGIN_PER_ACCOUNT.max_count):
        throttle.count_hit(LOGIN_PER_ACCOUNT, account, now)

    assert throttle.retry_after(LOGIN_PER_ACCOUNT, account, now)
    assert throttle.retry_after(RESET_PER_ACCOUNT, account, now) is None
    assert throttle.retry_after(LOGIN_PER_ACCOUNT, "x" + account, now) is None
