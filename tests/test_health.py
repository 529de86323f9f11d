"""GET /healthz: 200 when the database and the queue answer, 503 (never 500) when the database does not."""

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
