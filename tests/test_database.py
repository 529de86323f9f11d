"""The database layer: SQLite settings, BEGIN IMMEDIATE for writes, the unit of work, UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select, text

from accounts import services
from accounts.models import Agency
from database import after_commit, db, independent_unit_of_work, unit_of_work, utcnow


def test_sqlite_runs_with_the_decided_settings(ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite settings only")
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_writes_begin_immediate_and_reads_do_not(ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("BEGIN IMMEDIATE is SQLite's")
    statements: list[str] = []

    def capture(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        db.session.scalars(select(Agency)).all()
        with unit_of_work():
            services.create_agency("Immediate Agency", utcnow())
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert begins == ["BEGIN", "BEGIN IMMEDIATE"]


def test_unit_of_work_commits_on_success_and_rolls_back_on_error(ctx):
    with unit_of_work():
        services.create_agency("Kept Agency", utcnow())
    with pytest.raises(RuntimeError), unit_of_work():
        services.create_agency("Lost Agency", utcnow())
        raise RuntimeError("boom")
    names = set(db.session.scalars(select(Agency.name)))
    assert names == {"Kept Agency"}


def test_after_commit_runs_only_after_a_commit(ctx):
    ran: list[str] = []
    with unit_of_work():
        after_commit(lambda: ran.append("committed"))
        assert ran == []
    assert ran == ["committed"]
    with pytest.raises(ValueError), unit_of_work():
        after_commit(lambda: ran.append("rolled back"))
        raise ValueError
    assert ran == ["committed"]
    with pytest.raises(RuntimeError):
        after_commit(lambda: None)


def test_units_of_work_do_not_nest(ctx):
    with pytest.raises(RuntimeError), unit_of_work(), unit_of_work():
        pass
    with pytest.raises(RuntimeError), unit_of_work(), independent_unit_of_work():
        pass


def test_datetimes_are_stored_and_read_as_utc(ctx):
    local = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    with unit_of_work():
        agency = services.create_agency("Clock Agency", local)
    db.session.expire_all()
    stored = db.session.scalar(select(Agency.created_at).where(Agency.id == agency.id))
    assert stored == local
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_naive_datetimes_are_refused(ctx):
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError), unit_of_work():
        services.create_agency("Naive Agency", datetime(2026, 1, 1))


def test_public_ids_are_random_and_long(ctx):
    with unit_of_work():
        ids = [services.create_agency(f"Agency {i}", utcnow()).public_id for i in range(20)]
    assert len(set(ids)) == 20
    assert all(len(i) >= 22 for i in ids)  # 128 bits, URL-safe base64
