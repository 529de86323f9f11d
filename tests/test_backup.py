"""`flask backup` and `flask restore`: the restore drill (backup while another thread writes, then restore),
pruning, and the refusals that must leave the current database untouched."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from accounts import audit
from accounts.models import Agency, AuditEvent
from backup import head_revision, libpq_url
from database import db, unit_of_work, utcnow
from mailer import EmailMessage
from tests.conftest import CI, POSTGRES_ADMIN_URL, _base_config, _pg_url, build_tenant, sign_in

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


class Writer(threading.Thread):
    """Keeps committing audit events, each in a unit of work of its own, until told to stop."""

    def __init__(self, app: Flask) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.written = 0
        self.warmed_up = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.app.app_context():
                while not self.stop.is_set():
                    audit.record_now("backup.drill", now=utcnow(), outcome="ok")
                    self.written += 1
                    if self.written >= 5:
                        self.warmed_up.set()
                db.session.remove()
        except BaseException as exc:
            self.error = exc
            self.warmed_up.set()

    def wrote_more_than(self, count: int, seconds: float = 30) -> bool:
        deadline = time.monotonic() + seconds
        while self.written <= count and self.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.written > count

    def __enter__(self) -> Writer:
        self.start()
        assert self.warmed_up.wait(30), "the writer did not start"
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.join(30)
        assert self.error is None, f"the writer failed: {self.error!r}"


def counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            "audit": db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            "email": db.session.scalar(select(func.count()).select_from(EmailMessage)) or 0,
        }


def agency_names(app: Flask) -> list[str]:
    with app.app_context():
        names = list(db.session.scalars(select(Agency.name)))
        db.session.remove()
        return names


def change_data(app: Flask, agency_public_id: str) -> None:
    """After the backup: rename the agency and empty the outbox."""
    with app.app_context(), unit_of_work():
        agency = db.session.scalars(select(Agency).where(Agency.public_id == agency_public_id)).one()
        agency.name = "Renamed after the backup"
        for message in db.session.scalars(select(EmailMessage)):
            db.session.delete(message)


def backup_path(result: Any) -> Path:
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[0]
    assert line.startswith("Backed up to "), result.output
    return Path(line.removeprefix("Backed up to ").split(" (", 1)[0])


def other_app(url: str) -> Flask:
    from app import create_app

    return create_app(_base_config(url))


@sqlite_only
def test_the_sqlite_restore_drill(app, tmp_path):
    tenant = build_tenant(app, "Alpha")
    directory = tmp_path / "backups"
    with Writer(app) as writer:
        during = writer.written
        result = run(app, "backup", "--to", str(directory))
        after = writer.written
        assert writer.wrote_more_than(after)  # the backup did not block or break the writer
    assert after >= during
    made = backup_path(result)
    assert f"schema revision {head_revision()})" in result.output
    assert made.parent == directory and made.name.startswith("rapport-") and made.suffix == ".db"
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert list(directory.iterdir()) == [made]  # no temporary file, no -wal or -shm beside it
    with sqlite3.connect(f"{made.as_uri()}?mode=ro", uri=True) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        in_backup = copy.execute("SELECT count(*) FROM audit_event WHERE action = 'backup.drill'").fetchone()[0]
    assert 5 <= in_backup <= writer.written  # a consistent snapshot, taken while the writer ran
    before = counts(app)
    change_data(app, tenant.agency_id)
    assert counts(app)["email"] == 0

    fresh = other_app(f"sqlite:///{tmp_path / 'fresh' / 'rapport.db'}")
    result = run(fresh, "restore", str(made), "--yes")
    assert result.exit_code == 0, result.output
    assert f"schema revision {head_revision()}" in result.output
    assert agency_names(fresh) == [tenant.agency_name]
    restored = counts(fresh)
    assert restored["email"] == before["email"] == 1
    assert restored["audit"] == before["audit"] - (writer.written - in_backup)
    with sqlite3.connect(tmp_path / "fresh" / "rapport.db") as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert check.execute("SELECT version_num FROM alembic_version").fetchone() == (head_revision(),)
    sign_in(fresh.test_client(), fresh, tenant.admin["email"])

    # Over the changed database itself, as an operator would after a mistake.
    assert run(app, "restore", str(made), "--yes").exit_code == 0
    assert agency_names(app) == [tenant.agency_name]
    assert counts(app)["email"] == 1
    sign_in(app.test_client(), app, tenant.recruiter["email"])
    with fresh.app_context():
        db.engine.dispose()


@sqlite_only
def test_keep_deletes_only_the_oldest_named_backups(app, tmp_path):
    directory = tmp_path / "backups"
    directory.mkdir()
    old = [directory / f"rapport-2020010{day}-030000Z.db" for day in (1, 2, 3)]
    others = [directory / "rapport-manual.db", directory / "notes.txt"]
    for path in old + others:
        path.write_bytes(b"x")

    result = run(app, "backup", "--to", str(directory), "--keep", "2")

    made = backup_path(result)
    assert sorted(directory.iterdir()) == sorted([made, old[2], *others])
    assert "rapport-20200101-030000Z.db" in result.output
    assert run(app, "backup", "--to", str(directory), "--keep", "0").exit_code != 0


@sqlite_only
def test_an_unwritable_target_fails_cleanly_and_leaves_nothing(app, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")

    result = run(app, "backup", "--to", str(blocker / "backups"))

    assert result.exit_code != 0
    assert result.output.startswith("Error: cannot create the backup directory")
    assert len(result.output.strip().splitlines()) == 1
    assert [p for p in tmp_path.iterdir() if not p.name.startswith("rapport.db")] == [blocker]


def test_a_missing_database_is_refused_without_a_backup_file(tmp_path):
    missing = other_app(f"sqlite:///{tmp_path / 'nothing-here.db'}")

    result = run(missing, "backup", "--to", str(tmp_path / "backups"))

    assert result.exit_code != 0
    assert "there is no database at" in result.output
    assert not (tmp_path / "backups").exists() or not list((tmp_path / "backups").iterdir())
    assert not (tmp_path / "nothing-here.db").exists()


@sqlite_only
def test_restore_refuses_without_yes_a_foreign_file_a_corrupt_file_and_a_newer_schema(app, tmp_path):
    tenant = build_tenant(app, "Alpha")
    made = backup_path(run(app, "backup", "--to", str(tmp_path / "backups")))
    change_data(app, tenant.agency_id)

    unconfirmed = run(app, "restore", str(made))
    assert unconfirmed.exit_code != 0
    assert "--yes" in unconfirmed.output and "stop the app" in unconfirmed.output

    text = tmp_path / "notes.db"
    text.write_text("these are not the rows you are looking for\n" * 100)
    foreign = run(app, "restore", str(text), "--yes")
    assert foreign.exit_code != 0
    assert "is not a SQLite database" in foreign.output

    corrupt = tmp_path / "corrupt.db"
    data = bytearray(made.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page : len(data)] = b"\xff" * (len(data) - page)  # every page after the first is garbage
    corrupt.write_bytes(bytes(data))
    broken = run(app, "restore", str(corrupt), "--yes")
    assert broken.exit_code != 0
    assert "integrity check" in broken.output or "not a readable SQLite database" in broken.output

    newer = tmp_path / "newer.db"
    shutil.copyfile(made, newer)
    with sqlite3.connect(newer, isolation_level=None) as edit:
        edit.execute("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
    edit.close()
    refused = run(app, "restore", str(newer), "--yes")
    assert refused.exit_code != 0
    assert "schema revision f00dfeedbeef, which this version of Rapport does not know" in refused.output

    for result in (unconfirmed, foreign, broken, refused):
        assert len(result.output.strip().splitlines()) == 1, result.output
    assert agency_names(app) == ["Renamed after the backup"]  # the current database is untouched
    assert counts(app)["email"] == 0


def pg_tools_missing() -> str | None:
    missing = [name for name in ("pg_dump", "pg_restore") if shutil.which(name) is None]
    return f"{' and '.join(missing)} not installed (postgresql-client)" if missing else None


@postgresql_only
def test_the_postgresql_restore_drill(app, tmp_path):
    reason = pg_tools_missing()
    if reason:
        if CI:
            pytest.fail(f"{reason}; CI=true requires them")
        pytest.skip(reason)
    import psycopg

    tenant = build_tenant(app, "Alpha")
    with Writer(app):
        result = run(app, "backup", "--to", str(tmp_path))
    made = backup_path(result)
    assert made.suffix == ".dump"
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert f"schema revision {head_revision()})" in result.output
    before = counts(app)
    change_data(app, tenant.agency_id)

    name = f"rapport_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    fresh = other_app(_pg_url(name))
    try:
        assert run(fresh, "restore", str(made)).exit_code != 0  # not without --yes
        result = run(fresh, "restore", str(made), "--yes")
        assert result.exit_code == 0, result.output
        assert agency_names(fresh) == [tenant.agency_name]
        restored = counts(fresh)
        assert restored["email"] == before["email"] == 1
        assert 5 <= restored["audit"] <= before["audit"]
        sign_in(fresh.test_client(), fresh, tenant.admin["email"])
    finally:
        with fresh.app_context():
            db.session.remove()
            db.engine.dispose()
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    text = tmp_path / "not-a-dump"
    text.write_text("plain text")
    refused = run(app, "restore", str(text), "--yes")
    assert refused.exit_code != 0
    assert "is not a pg_dump custom-format file" in refused.output
    assert agency_names(app) == ["Renamed after the backup"]


def test_the_postgresql_password_goes_to_the_environment_not_the_command_line():
    url, env = libpq_url("postgresql+psycopg://rapport:s3cret%2Fpw@db.internal:5433/rapport?sslmode=require")

    assert url == "postgresql://rapport@db.internal:5433/rapport?sslmode=require"
    assert env["PGPASSWORD"] == "s3cret/pw"
