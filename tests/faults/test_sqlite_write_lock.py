"""Drill: a long write transaction (an export, a backup, an operator's sqlite3 shell) holds SQLite's write lock
while candidates autosave. A save waits for the lock up to the busy timeout and then succeeds; past the timeout
it fails fast with a 503, a Retry-After hint and a JSON body for the page's script, and changes nothing; reads
go on meanwhile (WAL). Once the lock is released every acknowledged answer is there and a retry succeeds."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from database import db
from tests.conftest import csrf_token, post
from tests.faults.scene import ANSWERS, FORMATS, integrity_ok, invite_candidates, sqlite_rows

# The production busy timeout is 15 s (database.py). The drill shortens it so that it runs in seconds; what it
# proves (wait, then 503 with a retry hint, nothing half-written) does not depend on the length.
BUSY_MS = 1500
CANDIDATES = 3


def shorten_busy_timeout(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        production = engine.connect()
        assert production.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
        production.close()

        @event.listens_for(engine, "connect")
        def _shorter(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_MS}")

        engine.dispose()


@contextmanager
def write_lock(database: Path) -> Iterator[None]:
    """Hold the database's write lock, as a long export's write transaction would."""
    holder = sqlite3.connect(database, isolation_level=None, timeout=30)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
        holder.execute("COMMIT")
    finally:
        holder.close()


def autosave(client: FlaskClient, app: Flask, item: int, revision: int) -> tuple[int, dict[str, str], Any, float]:
    started = time.monotonic()
    response = client.post(
        "/test/answers",
        data=json.dumps({"item": item, "answer": ANSWERS[FORMATS[item - 1]], "revision": revision}),
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client, app), "Accept": "application/json"},
    )
    return response.status_code, dict(response.headers), response.get_json(silent=True), time.monotonic() - started


def in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [future.result(timeout=60) for future in [pool.submit(call) for call in calls]]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the lock is SQLite's; PostgreSQL locks rows
def test_autosaves_wait_for_a_long_write_lock_or_get_a_retry_hint_and_lose_nothing(app):
    database = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    links = invite_candidates(app, CANDIDATES)
    clients = []
    for link in links:
        client = app.test_client()
        assert post(client, app, link, {"consent": "yes", "extra_time": "0"}).status_code == 302
        assert post(client, app, "/test/start").status_code == 302
        clients.append(client)
    shorten_busy_timeout(app)

    # A lock shorter than the busy timeout: every save waits for it, then is acknowledged.
    hold = BUSY_MS / 1000 / 2
    with ThreadPoolExecutor(max_workers=CANDIDATES) as pool:
        with write_lock(database):
            futures = [pool.submit(autosave, client, app, 1, 0) for client in clients]
            time.sleep(hold)
        results = [future.result(timeout=60) for future in futures]
    assert [status for status, *_ in results] == [200] * CANDIDATES, results
    assert all(seconds >= hold * 0.8 for *_, seconds in results), results  # they waited

    # A lock longer than the busy timeout: every save gives up after it with a 503 and a retry hint.
    lock_seconds = BUSY_MS / 1000 * 2.5
    with write_lock(database):
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=CANDIDATES + 2) as pool:
            saves = [pool.submit(autosave, client, app, 2, 0) for client in clients]
            # Reading goes on while the lock is held: the candidate's item page, from a saved answer.
            page = pool.submit(clients[0].get, "/test/item/1")
            form = pool.submit(
                post, clients[1], app, "/test/item/3", {"answer-most": "A", "answer-least": "B", "revision": "0"}
            )
            refused = [future.result(timeout=60) for future in saves]
            assert page.result(timeout=60).status_code == 200
            form_response = form.result(timeout=60)
        assert time.monotonic() - started < lock_seconds, "the refusals came only after the lock was released"
        # Nothing of the refused saves was written.
        assert sqlite_rows(database, "SELECT count(*) FROM answer") == [(CANDIDATES,)]
    for status, headers, body, seconds in refused:
        assert status == 503, (status, body)
        assert int(headers["Retry-After"]) > 0
        assert headers["Content-Type"].startswith("application/json")
        assert "kept" in body["error"]
        assert seconds < BUSY_MS / 1000 + 5  # fails fast: the busy timeout, not the request timeout
    # The plain form (JavaScript off) gets the same hint on a page.
    assert form_response.status_code == 503
    assert form_response.headers["Retry-After"]
    assert "try again" in form_response.get_data(as_text=True)

    # The lock is gone: the page's script sends the same answers again, and they are saved.
    retried = in_parallel([lambda c=client: autosave(c, app, 2, 0) for client in clients])
    assert [status for status, *_ in retried] == [200] * CANDIDATES, retried
    assert integrity_ok(database)
    saved = sqlite_rows(database, "SELECT revision, count(*) FROM answer GROUP BY revision")
    assert saved == [(1, 2 * CANDIDATES)]  # items 1 and 2 of each candidate, each written once
    events = sqlite_rows(database, "SELECT count(*) FROM answer_event")
    assert events == [(2 * CANDIDATES,)]
