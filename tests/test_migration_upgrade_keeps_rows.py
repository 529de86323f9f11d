"""Upgrading a SQLite database that holds data keeps its rows.

Alembic's batch mode copies a SQLite table and drops the old one; with PRAGMA foreign_keys=ON (database.py) that
DROP deletes every row whose foreign key cascades from it. Revision 58d141feabad copies the candidate table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from database import db
from tests.conftest import _base_config

BEFORE_LEGAL_HOLD = "3289004bbcbc"  # the revision before 58d141feabad
NOW = "2026-11-01 09:00:00.000000"

# Raw SQL against the schema of 3289004bbcbc, so that later changes to the models cannot change what is tested.
ROWS = [
    "INSERT INTO agency (id, name, retention_months, created_at, public_id, feedback_reports)"
    " VALUES (1, 'Agency', 24, :now, 'agency1', 0)",
    "INSERT INTO client (id, agency_id, name, notes, created_at, public_id)"
    " VALUES (1, 1, 'Client', '', :now, 'client1')",
    "INSERT INTO position (id, agency_id, client_id, title, responsibilities, created_at, public_id,"
    " education_knockout, experience_min_years, experience_knockout, industry_mode, industry_codes, fit_weights,"
    " profile_version, updated_at)"
    " VALUES (1, 1, 1, 'Clerk', '', :now, 'position1', 0, 0, 0, 'any', '', '{}', 1, :now)",
    "INSERT INTO assessment (id, agency_id, client_id, position_id, title, instructions, randomize_order,"
    " rule_overrides, status, created_at, public_id, invitation_days, reminder_days, pilot, updated_at)"
    " VALUES (1, 1, 1, 1, 'Assessment', '', 0, '{}', 'published', :now, 'assessment1', 14, '[]', 0, :now)",
    "INSERT INTO candidate (id, agency_id, name, email, created_at, public_id, headline, updated_at)"
    " VALUES (1, 1, 'Ada Lovelace', 'ada@example.com', :now, 'candidate1', '', :now)",
    "INSERT INTO invitation (id, agency_id, client_id, assessment_id, candidate_id, token_version, expires_at,"
    " extra_time_percent, created_at, public_id, reminders_sent, updated_at)"
    " VALUES (1, 1, 1, 1, 1, 1, :now, 0, :now, 'invitation1', 0, :now)",
]


def test_upgrading_a_sqlite_database_past_the_candidate_copy_keeps_its_invitations(tmp_path: Path) -> None:
    from app import create_app

    app = create_app(_base_config(f"sqlite:///{tmp_path / 'rapport.db'}"))
    with app.app_context():
        upgrade(revision=BEFORE_LEGAL_HOLD)
        with db.engine.begin() as connection:
            for statement in ROWS:
                connection.execute(text(statement), {"now": NOW})

        upgrade()

        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT public_id FROM candidate")).scalars().all() == ["candidate1"]
            invitations = connection.execute(text("SELECT public_id, candidate_id FROM invitation")).all()
            assert [tuple(row) for row in invitations] == [("invitation1", 1)]
            assert connection.execute(text("SELECT legal_hold FROM candidate")).scalar_one() == 0
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            # The pooled connection the migrations used is handed back with its foreign keys enforced again.
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        db.engine.dispose()


def test_an_upgrade_ending_with_a_dangling_foreign_key_fails_and_names_the_tables(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """With foreign keys off nothing stops a migration orphaning a row: PRAGMA foreign_key_check at the end does."""
    from app import create_app

    app = create_app(_base_config(f"sqlite:///{tmp_path / 'rapport.db'}"))
    with app.app_context():
        upgrade(revision=BEFORE_LEGAL_HOLD)
        with sqlite3.connect(tmp_path / "rapport.db") as orphan:  # foreign keys off: sqlite3's default
            for statement in ROWS:
                orphan.execute(statement.replace("VALUES (1, 1, 1, 1, 1,", "VALUES (1, 1, 1, 1, 99,"), {"now": NOW})
        orphan.close()

        with pytest.raises(SystemExit):  # Flask-Migrate logs a RuntimeError and exits 1
            upgrade()
        assert "foreign keys point nowhere: invitation -> candidate." in capfd.readouterr().err

        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        db.engine.dispose()
