"""When the database drops its connections, a request fails fast with 503 and a retry hint, and the next
request works again without restarting the app (no pool pre-ping: a dead connection is found by use)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from tests.conftest import POSTGRES_ADMIN_URL, sign_in


def _drop_connections(database: str) -> int:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return len(rows)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no connections to drop
def test_a_dropped_connection_answers_503_then_recovers(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    assert client.get("/positions").status_code == 200
    database = app.config["SQLALCHEMY_DATABASE_URI"].rsplit("/", 1)[1]
    assert _drop_connections(database) >= 1

    failed = client.get("/positions")
    assert failed.status_code == 503
    assert int(failed.headers["Retry-After"]) > 0
    assert "try again" in failed.get_data(as_text=True)

    assert client.get("/positions").status_code == 200


def test_a_json_caller_gets_a_json_503(app):
    from http_security import _database_unavailable

    with app.test_request_context("/test/answers", method="POST", json={"item": 1}):
        response = _database_unavailable(OperationalError("SELECT 1", {}, Exception("gone")))
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    assert "kept" in response.get_json()["error"]
    assert response.headers["Retry-After"] == "2"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("database or disk is full", "The disk holding the database is full"),
        ("attempt to write a readonly database", "The database is read-only"),
        ("unable to open database file", "The database file cannot be opened"),
        ("database is locked", None),
        ("server closed the connection unexpectedly", None),
    ],
)
def test_a_database_that_cannot_store_data_is_told_apart_from_a_passing_outage(app, message, expected):
    """A full disk or a read-only file needs an operator: logged at ERROR with what to do, and the 503 says saving
    is not possible; a lock or a restart passes by itself and keeps the "busy for a moment" wording."""
    from database import describe_database_error, storage_problem
    from http_security import STORAGE_JSON_MESSAGE, _database_unavailable

    error = OperationalError("INSERT ...", {}, Exception(message))
    problem = storage_problem(error)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(expected)
    assert describe_database_error(error).startswith(expected or "The database ")
    with app.test_request_context("/test/answers", method="POST", json={"item": 1}):
        response = _database_unavailable(error)
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert (response.get_json()["error"] == STORAGE_JSON_MESSAGE) is (expected is not None)
