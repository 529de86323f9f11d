"""Read models for the account pages, always scoped to the caller's tenant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from accounts.access import scoped_select
from accounts.models import Agency, AuditEvent, Client, Scope, User
from database import db
from mailer import EmailMessage, EmailStatus

PAGE_SIZE = 50


def agency_for(scope: Scope) -> Agency:
    """The caller's agency."""
    return db.session.execute(scoped_select(Agency, scope)).scalar_one()


def list_users(scope: Scope) -> list[User]:
    return list(db.session.scalars(scoped_select(User, scope).order_by(User.role, User.name)))


def list_clients(scope: Scope) -> list[Client]:
    return list(db.session.scalars(scoped_select(Client, scope).order_by(Client.name)))


def users_of_client(scope: Scope, client: Client) -> list[User]:
    return list(db.session.scalars(scoped_select(User, scope).where(User.client_id == client.id).order_by(User.name)))


@dataclass(frozen=True)
class DashboardCounts:
    clients: int
    users: int
    emails_failed: int


def dashboard_counts(scope: Scope) -> DashboardCounts:
    def count(stmt: Select[Any]) -> int:
        return int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)

    return DashboardCounts(
        clients=count(scoped_select(Client, scope)),
        users=count(scoped_select(User, scope).where(User.is_active.is_(True))),
        emails_failed=count(scoped_select(EmailMessage, scope).where(EmailMessage.status == EmailStatus.FAILED)),
    )


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    actor_name: str | None
    object_label: str | None


# Filter value (an action prefix) and its label.
AUDIT_FILTERS = {
    "login": "Sign-ins",
    "logout": "Sign-outs",
    "password": "Passwords",
    "user": "Users",
    "client": "Clients",
    "agency": "Agency",
    "email": "Emails",
    "api": "API and keys",
    "webhook": "Webhooks",
    "access": "Denied access",
}


def list_audit_events(agency: Agency, *, before_id: int | None, action_prefix: str | None) -> list[AuditRow]:
    """The agency's audit events, newest first, one page; names are looked up now, never stored."""
    stmt = select(AuditEvent).where(AuditEvent.agency_public_id == agency.public_id)
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    if action_prefix:
        stmt = stmt.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    events = list(db.session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE)))
    ids = {e.actor_public_id for e in events} | {e.object_public_id for e in events if e.object_type == "user"}
    users = {
        u.public_id: u.name
        for u in db.session.scalars(select(User).where(User.agency_id == agency.id, User.public_id.in_(ids)))
    }
    client_ids = {e.object_public_id for e in events if e.object_type == "client"}
    clients = {
        c.public_id: c.name
        for c in db.session.scalars(
            select(Client).where(Client.agency_id == agency.id, Client.public_id.in_(client_ids))
        )
    }
    labels = {**users, **clients, agency.public_id: agency.name}
    return [
        AuditRow(
            event=e,
            actor_name=users.get(e.actor_public_id or ""),
            object_label=labels.get(e.object_public_id or ""),
        )
        for e in events
    ]


def list_emails(scope: Scope, *, status: EmailStatus | None, before_id: int | None) -> list[EmailMessage]:
    """The agency's outbox, newest first, one page."""
    stmt = scoped_select(EmailMessage, scope)
    if status is not None:
        stmt = stmt.where(EmailMessage.status == status)
    if before_id is not None:
        stmt = stmt.where(EmailMessage.id < before_id)
    return list(db.session.scalars(stmt.order_by(EmailMessage.id.desc()).limit(PAGE_SIZE)))


def audit_cursor(agency: Agency, public_id: str | None) -> int | None:
    """The position of the agency's audit event with that public id (the last one a page showed)."""
    if not public_id:
        return None
    return db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.public_id == public_id, AuditEvent.agency_public_id == agency.public_id)
    )


def email_cursor(scope: Scope, public_id: str | None) -> int | None:
    """The position of the agency's outbox row with that public id (the last one a page showed)."""
    if not public_id:
        return None
    stmt = scoped_select(EmailMessage, scope).where(EmailMessage.public_id == public_id)
    return db.session.scalar(stmt.with_only_columns(EmailMessage.id))


def audit_export_lines(agency: Agency, *, action_prefix: str | None, batch: int = 1000) -> Iterator[str]:
    """Every audit event of the agency, oldest first, as JSON Lines (random ids only, as stored).

    Read in batches by id, each an ordinary query: no cursor stays open if the download stops half-way.
    """
    stmt = select(AuditEvent).where(AuditEvent.agency_public_id == agency.public_id)
    if action_prefix:
        stmt = stmt.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    last_id = 0
    while True:
        events = db.session.scalars(stmt.where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)).all()
        if not events:
            return
        for event in events:
            yield (
                json.dumps(
                    {
                        "id": event.public_id,
                        "occurred_at": event.occurred_at.isoformat(),
                        "action": event.action,
                        "outcome": event.outcome,
                        "actor_id": event.actor_public_id,
                        "object_type": event.object_type,
                        "object_id": event.object_public_id,
                        "details": event.details,
                    },
                    sort_keys=True,
                )
                + "\n"
            )
        last_id = events[-1].id
