"""The audit trail: append-only in the database itself, written even when a request fails, free of emails."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DatabaseError

from accounts import audit
from accounts.access import access
from accounts.models import AuditEvent
from database import db, independent_unit_of_work, unit_of_work, utcnow
from tests.conftest import PASSWORD, post, sign_in

COLUMNS = [c.key for c in AuditEvent.__table__.columns]


def snapshot() -> list[tuple[Any, ...]]:
    db.session.rollback()
    rows = db.session.execute(select(AuditEvent.__table__).order_by(AuditEvent.id)).all()
    return [tuple(row) for row in rows]


@pytest.fixture
def events(ctx) -> list[tuple[Any, ...]]:
    now = utcnow()
    audit.record_now("test.first", now=now, agency_public_id="agency-1", outcome="ok")
    audit.record_now("test.second", now=now, actor_public_id="actor-2")
    rows = snapshot()
    assert [row[COLUMNS.index("action")] for row in rows] == ["test.first", "test.second"]
    return rows


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(update(AuditEvent).values(action="tampered"), id="update-all"),
        pytest.param(
            update(AuditEvent).where(AuditEvent.action == "test.second").values(outcome="ok"), id="update-one"
        ),
        pytest.param(delete(AuditEvent), id="delete-all"),
        pytest.param(delete(AuditEvent).where(AuditEvent.action == "test.first"), id="delete-one"),
    ],
)
def test_the_database_refuses_to_change_audit_events(events, statement):
    with pytest.raises(DatabaseError, match="append-only"), independent_unit_of_work() as session:
        session.execute(statement)

    assert snapshot() == events


def test_the_orm_cannot_edit_or_delete_an_audit_event_either(events):
    with pytest.raises(DatabaseError, match="append-only"), unit_of_work() as session:
        session.scalars(select(AuditEvent)).first().object_type = "tampered"  # type: ignore[union-attr]
    assert snapshot() == events

    with pytest.raises(DatabaseError, match="append-only"), unit_of_work() as session:
        session.delete(session.scalars(select(AuditEvent)).first())
    assert snapshot() == events


def test_record_now_survives_the_failure_of_the_request_around_it(app, client):
    @app.get("/_test/refused-then-fails")
    @access(roles=None)
    def refused_then_fails() -> str:
        audit.record_now("test.refused", now=utcnow())
        with unit_of_work():
            audit.record("test.rolled_back", now=utcnow())
            raise RuntimeError("the request fails after the refusal was recorded")

    response = client.get("/_test/refused-then-fails")

    assert response.status_code == 500
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions == ["test.refused"]


def test_audit_events_hold_no_email_addresses(app, client, tenant_a):
    assert (
        post(client, app, "/login", {"email": tenant_a.admin["email"], "password": "wrong password!"}).status_code
        == 401
    )
    unknown = post(client, app, "/login", {"email": "nobody@alpha.example", "password": "wrong password!"})
    assert unknown.status_code == 401
    sign_in(client, app, tenant_a.admin["email"], PASSWORD)

    with app.app_context():
        rows = db.session.execute(select(AuditEvent.__table__)).all()
    actions = [row.action for row in rows]
    assert actions.count("login.failed") == 2
    assert "login.succeeded" in actions
    for row in rows:
        for column, value in zip(COLUMNS, row, strict=True):
            assert "@" not in str(value), f"{row.action}.{column} holds an email address"
            for secret in (tenant_a.admin["email"], tenant_a.admin["name"], tenant_a.agency_name):
                assert secret not in str(value), f"{row.action}.{column} holds a name or an address"


def test_what_changed_is_kept_and_shown_to_admins(app, client, tenant_a):
    with app.app_context(), unit_of_work():
        audit.record(
            "skill_transfer.updated",
            now=utcnow(),
            agency_public_id=tenant_a.agency_id,
            actor_public_id=tenant_a.admin["public_id"],
            object_type="skill_transfer",
            object_public_id="t1",
            details={"credit": {"before": 0.6, "after": 0.7}},
        )
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.object_public_id == "t1")).one()
        assert event.details == {"credit": {"before": 0.6, "after": 0.7}}
    sign_in(client, app, tenant_a.admin["email"])
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "<code>credit</code>: 0.6 → 0.7" in page
