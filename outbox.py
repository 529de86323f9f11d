"""What the email outbox and the webhook outbox share: a row is claimed under a lease with a conditional
UPDATE (so two workers never send it at once), and a sweep releases rows whose lease ran out (their task
was lost) and finds those due. Both tables have status, attempts, next_attempt_at and lease_expires_at."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from database import independent_unit_of_work


def claim(model: Any, row_id: int, now: datetime, lease: timedelta, *, queued: enum.Enum, sending: enum.Enum) -> bool:
    """Mark a due queued row as sending under a lease, counting the attempt; False when it is taken or not due."""
    with independent_unit_of_work() as session:
        result = session.execute(
            update(model)
            .where(model.id == row_id, model.status == queued, model.next_attempt_at <= now)
            .values(status=sending, attempts=model.attempts + 1, lease_expires_at=now + lease)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def sweep(model: Any, now: datetime, limit: int, *, queued: enum.Enum, sending: enum.Enum) -> list[int]:
    """Put rows left sending past their lease back in the queue, and return the ids of queued rows due now."""
    with independent_unit_of_work() as session:
        session.execute(
            update(model)
            .where(model.status == sending, model.lease_expires_at < now)
            .values(status=queued, lease_expires_at=None, next_attempt_at=now)
        )
        due = session.scalars(
            select(model.id)
            .where(model.status == queued, model.next_attempt_at <= now)
            .order_by(model.next_attempt_at)
            .limit(limit)
        ).all()
    return list(due)
