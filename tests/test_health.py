"""GET /healthz: 200 when the database and the queue answer and the outboxes keep up, 503 (never 500) otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from database import db
from tests.conftest import TEST_SECRET, free_port


def assert_security_headers(response) -> None:
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store, private"


def test_healthz_reports_ok(app, client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.is_json
    body = response.get_json()
    assert body["status"] == "ok"
    backend = "sqlite" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else "postgresql"
    assert body["database"] == {"status": "ok", "backend": backend}
    assert body["queue"]["status"] == "ok"
    assert body["queue"]["consumer"] == "never seen"
    assert body["outbox"]["status"] == "ok"
    assert body["outbox"]["email"] == {"status": "ok", "due": 0, "oldest_due_seconds": None, "failed_24h": 0}
    assert_security_headers(response)


@pytest.fixture(params=["sqlite", "postgresql"])
def unreachable_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """An application whose database cannot be opened: a missing directory, or a port nothing listens on."""
    from app import create_app

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'missing' / 'dir' / 'rapport.db'}"
    else:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/rapport?connect_timeout=2"
    application = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": TEST_SECRET,
            "TESTING": True,
            "BASE_URL": "http://rapport.test",
            "TASKS_IMMEDIATE": True,
            "REDIS_URL": None,
        }
    )
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_healthz_answers_503_when_the_database_is_unreachable(unreachable_app):
    response = unreachable_app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.is_json
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["database"] == {"status": "unavailable"}
    assert body["queue"]["consumer"] == "unknown"  # its heartbeat lives in the database
    assert "password" not in response.get_data(as_text=True)
    assert_security_headers(response)


def test_healthz_answers_503_when_the_database_is_not_migrated(tmp_path):
    from app import create_app

    application = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unmigrated.db'}",
            "SECRET_KEY": TEST_SECRET,
            "TESTING": True,
            "TASKS_IMMEDIATE": True,
            "REDIS_URL": None,
        }
    )
    try:
        response = application.test_client().get("/healthz")
    finally:
        with application.app_context():
            db.engine.dispose()

    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_healthz_answers_503_while_an_outbox_has_waited_too_long(app, client, tenant_a):
    """A row due 20 minutes ago means the consumer is not keeping up: 503 until it is sent or not due."""
    from datetime import timedelta

    from sqlalchemy import select

    from accounts.models import Agency
    from database import unit_of_work, utcnow
    from mailer import EmailMessage, EmailStatus
    from webhooks import DeliveryStatus, WebhookDelivery, WebhookEndpoint

    now = utcnow()
    with app.app_context(), unit_of_work():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant_a.agency_id))
        endpoint = WebhookEndpoint(
            agency_id=agency.id,
            url="https://ats.example/hook",
            events=["attempt.submitted"],
            secret="s",
            created_at=now,
        )
        db.session.add(endpoint)
        db.session.flush()
        delivery = WebhookDelivery(
            agency_id=agency.id,
            endpoint_id=endpoint.id,
            event_type="attempt.submitted",
            event_id="evt_1",
            body="{}",
            status=DeliveryStatus.DELIVERED,
            attempts=1,
            next_attempt_at=now,
            created_at=now,
        )
        db.session.add(delivery)
        db.session.flush()
        delivery_id = delivery.public_id
    assert client.get("/healthz").get_json()["outbox"]["status"] == "ok"

    def set_row(model, public_id, **values):
        with app.app_context(), unit_of_work():
            row = db.session.scalar(select(model).where(model.public_id == public_id))
            for name, value in values.items():
                setattr(row, name, value)

    def health():
        response = client.get("/healthz")
        return response.status_code, response.get_json()

    twenty_minutes_ago = now - timedelta(minutes=20)
    for model, public_id, statuses, key in (
        (EmailMessage, tenant_a.email_id, EmailStatus, "email"),
        (WebhookDelivery, delivery_id, DeliveryStatus, "webhooks"),
    ):
        set_row(model, public_id, status=statuses.QUEUED, next_attempt_at=twenty_minutes_ago, lease_expires_at=None)
        status, body = health()
        assert status == 503 and body["status"] == "unavailable" and body["outbox"]["status"] == "behind"
        assert body["outbox"][key]["status"] == "behind"
        assert body["outbox"][key]["due"] == 1 and body["outbox"][key]["oldest_due_seconds"] >= 20 * 60

        set_row(model, public_id, status=statuses.SENDING, lease_expires_at=twenty_minutes_ago)  # its worker died
        assert health()[0] == 503

        set_row(model, public_id, status=statuses.QUEUED, next_attempt_at=now + timedelta(minutes=5))  # a retry later
        status, body = health()
        assert status == 200 and body["outbox"][key] == {
            "status": "ok",
            "due": 0,
            "oldest_due_seconds": None,
            "failed_24h": 0,
        }

        set_row(model, public_id, status=statuses.FAILED, next_attempt_at=now - timedelta(minutes=1))
        status, body = health()
        assert status == 200 and body["outbox"][key]["failed_24h"] == 1  # failures show, they do not page anyone
        set_row(model, public_id, next_attempt_at=now - timedelta(hours=25))
        assert health()[1]["outbox"][key]["failed_24h"] == 0


@pytest.mark.app_config(OUTBOX_BACKLOG_ALERT_SECONDS=60)
def test_a_recent_due_row_is_backlog_but_not_an_alarm(app, client, tenant_a):
    from datetime import timedelta

    from sqlalchemy import update

    from database import unit_of_work, utcnow
    from mailer import EmailMessage, EmailStatus

    with app.app_context(), unit_of_work():
        db.session.execute(
            update(EmailMessage).values(status=EmailStatus.QUEUED, next_attempt_at=utcnow() - timedelta(seconds=30))
        )
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["outbox"]["email"]["due"] == 1
