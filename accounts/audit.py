"""The append-only audit trail: who did what to which object, when; random ids only."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accounts.models import AuditEvent
from database import db, independent_unit_of_work

log = logging.getLogger("rapport.audit")


def _event(
    action: str,
    *,
    now: datetime,
    agency_public_id: str | None,
    actor_public_id: str | None,
    object_type: str | None,
    object_public_id: str | None,
    outcome: str,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    log.info("audit %s %s actor=%s object=%s:%s", action, outcome, actor_public_id, object_type, object_public_id)
    return AuditEvent(
        occurred_at=now,
        action=action,
        outcome=outcome,
        agency_public_id=agency_public_id,
        actor_public_id=actor_public_id,
        object_type=object_type,
        object_public_id=object_public_id,
        details=details,
    )


def record(
    action: str,
    *,
    now: datetime,
    agency_public_id: str | None = None,
    actor_public_id: str | None = None,
    object_type: str | None = None,
    object_public_id: str | None = None,
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
) -> None:
    """Add an event to the open unit of work: it commits, or vanishes, with the action it records.

    `details` says what changed in reference data (never personal data); the log line leaves it out.
    """
    db.session.add(
        _event(
            action,
            now=now,
            agency_public_id=agency_public_id,
            actor_public_id=actor_public_id,
            object_type=object_type,
            object_public_id=object_public_id,
            outcome=outcome,
            details=details,
        )
    )


def record_now(
    action: str,
    *,
    now: datetime,
    agency_public_id: str | None = None,
    actor_public_id: str | None = None,
    object_type: str | None = None,
    object_public_id: str | None = None,
    outcome: str = "refused",
    details: dict[str, Any] | None = None,
    session: Session | None = None,
) -> None:
    """Write an event in a unit of work of its own, so that a refused request still leaves its trace."""
    event = _event(
        action,
        now=now,
        agency_public_id=agency_public_id,
        actor_public_id=actor_public_id,
        object_type=object_type,
        object_public_id=object_public_id,
        outcome=outcome,
        details=details,
    )
    if session is not None:
        session.add(event)
        return
    with independent_unit_of_work() as own:
        own.add(event)
