"""Position rules: a client's job, its title and responsibilities."""

from __future__ import annotations

from datetime import datetime

from accounts import audit
from accounts.models import Client, User
from database import db
from positions.models import Position


def save_position(
    *, position: Position | None, client: Client, title: str, responsibilities: str, by: User, now: datetime
) -> Position:
    """Add a position to a client, or change one."""
    if position is None:
        position = Position(agency_id=client.agency_id, client_id=client.id, created_at=now)
        db.session.add(position)
        action = "position.created"
    else:
        action = "position.updated"
    position.client_id = client.id
    position.title = title.strip()
    position.responsibilities = responsibilities.strip()
    db.session.flush()
    audit.record(
        action,
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type="position",
        object_public_id=position.public_id,
    )
    return position
