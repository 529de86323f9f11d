"""Online backups and restores of the database: SQLite's backup API, or pg_dump and pg_restore for PostgreSQL.

Plain functions that raise BackupError with a one-line message; commands.py turns it into a non-zero exit.
See docs/backup.md.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from config import ROOT

MIGRATIONS = ROOT / "migrations"
BACKUP_NAME = re.compile(r"^rapport-\d{8}-\d{6}Z\.(db|dump)$")
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
INSTALL_HINT = "install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client)"


class BackupError(RuntimeError):
    """A backup or restore that could not be made; the message says why, in one line."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    revision: str | None


def backend(database_uri: str) -> str:
    """'sqlite' or 'postgresql' for a SQLAlchemy URL; BackupError for anything else."""
    name = make_url(database_uri).get_backend_name()
    if name not in {"sqlite", "postgresql"}:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {name}")
    return name


def sqlite_path(database_uri: str) -> Path:
    """The file behind a sqlite:/// URL; BackupError for an in-memory database."""
    database = make_url(database_uri).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        raise BackupError("the database is in memory: there is no file to back up or restore")
    return Path(database)


def backup_name(now: datetime, suffix: str) -> str:
    """rapport-YYYYMMDD-HHMMSSZ.<suffix>, from an aware UTC time."""
    return f"rapport-{now.strftime('%Y%m%d-%H%M%S')}Z.{suffix}"


def known_revisions() -> set[str]:
    """Every schema revision in migrations/versions: the ones this code can run on."""
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def head_revision() -> str | None:
    """The newest schema revision this code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def _prepare(directory: Path, name: str) -> tuple[Path, Path]:
    """Create the directory (0700) and an empty 0600 temporary file beside the final name."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create the backup directory {directory}: {exc.strerror or exc}") from None
    final = directory / name
    if final.exists():
        raise BackupError(f"{final} already exists: backups are at most one a second")
    temporary = directory / f".{name}.partial"
    try:
        os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise BackupError(f"cannot write to the backup directory {directory}: {exc.strerror or exc}") from None
    return temporary, final


def _discard(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _check_sqlite_file(path: Path) -> str | None:
    """Integrity-check a SQLite file (opened read-only) and return its alembic_version; BackupError if bad."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from None
    if magic != SQLITE_MAGIC:
        raise BackupError(f"{path} is not a SQLite database")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            if rows != ["ok"]:
                raise BackupError(f"{path} fails SQLite's integrity check: {rows[0]}")
            has_version = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
            if not has_version:
                return None
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            return str(row[0]) if row else None
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database ({exc})") from None


def backup_sqlite(database_uri: str, directory: Path, now: datetime) -> Backup:
    """Copy the live SQLite database with the backup API (a consistent snapshot while others write).

    The copy is written to a temporary name, checked, made self-contained (no WAL), then renamed.
    Raises BackupError, leaving no partial file.
    """
    source_path = sqlite_path(database_uri)
    if not source_path.is_file():
        raise BackupError(f"there is no database at {source_path}")
    temporary, final = _prepare(directory, backup_name(now, "db"))
    try:
        source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=rw", uri=True)
        try:
            source.execute("PRAGMA busy_timeout = 15000")
            target = sqlite3.connect(temporary)
            try:
                # One step (pages=-1): the whole copy is read from one snapshot of the source.
                source.backup(target)
                target.execute("PRAGMA journal_mode = DELETE")
            finally:
                target.close()
        finally:
            source.close()
        revision = _check_sqlite_file(temporary)
        os.replace(temporary, final)
    except sqlite3.Error as exc:
        _discard(temporary)
        raise BackupError(f"the backup failed: {exc}") from None
    except OSError as exc:
        _discard(temporary)
        raise BackupError(f"the backup failed: {exc.strerror or exc}") from None
    except BaseException:
        _discard(temporary)
        raise
    return Backup(final, final.stat().st_size, revision)


def libpq_url(database_uri: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URL (no password) and the environment carrying PGPASSWORD, if there is one."""
    url: URL = make_url(database_uri)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    # URL.set() treats None as "unchanged", so the password is dropped with the named tuple's _replace.
    plain = url.set(drivername="postgresql")._replace(password=None)
    return plain.render_as_string(hide_password=False), env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed: {INSTALL_HINT}")
    return path


def _one_line(text: str) -> str:
    """A tool's error output on one line (libpq spreads one error over several)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines)[-400:] if lines else "no message"


def backup_postgresql(database_uri: str, directory: Path, now: datetime) -> Backup:
    """pg_dump --format=custom to a temporary name, then rename; raises BackupError, leaving no partial file."""
    pg_dump = _pg_tool("pg_dump")
    url, env = libpq_url(database_uri)
    temporary, final = _prepare(directory, backup_name(now, "dump"))
    try:
        done = subprocess.run(  # noqa: S603 (fixed program, no shell)
            [pg_dump, "--format=custom", "--no-owner", "--file", str(temporary), url],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {_one_line(done.stderr)}")
        revision = _dump_revision(temporary, env)
        os.replace(temporary, final)
    except OSError as exc:
        _discard(temporary)
        raise BackupError(f"the backup failed: {exc.strerror or exc}") from None
    except BaseException:
        _discard(temporary)
        raise
    return Backup(final, final.stat().st_size, revision)


def _dump_revision(path: Path, env: dict[str, str]) -> str | None:
    """The alembic_version row inside a custom-format dump (pg_restore prints it as COPY data)."""
    done = subprocess.run(  # noqa: S603 (fixed program, no shell)
        [_pg_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"{path} is not a pg_dump custom-format file pg_restore can read: {_one_line(done.stderr)}")
    lines = done.stdout.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and index + 1 < len(lines):
            value = lines[index + 1].strip()
            return None if value in {"", "\\."} else value
    return None


def make_backup(database_uri: str, directory: Path, now: datetime) -> Backup:
    """Back up the configured database into directory; raises BackupError."""
    if backend(database_uri) == "sqlite":
        return backup_sqlite(database_uri, directory, now)
    return backup_postgresql(database_uri, directory, now)


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete the oldest backups (only files named rapport-YYYYMMDD-HHMMSSZ.db/.dump) beyond `keep`."""
    if keep < 1:
        raise BackupError("keep at least one backup")
    backups = sorted(p for p in directory.iterdir() if p.is_file() and BACKUP_NAME.match(p.name))
    doomed = backups[:-keep]
    for path in doomed:
        path.unlink()
    return doomed


def check_revision(revision: str | None, path: Path) -> str:
    """Refuse a backup without a schema revision, or with one newer than (unknown to) this code."""
    if revision is None:
        raise BackupError(f"{path} has no alembic_version: it is not a Rapport database")
    if revision not in known_revisions():
        raise BackupError(
            f"{path} is at schema revision {revision}, which this version of Rapport does not know "
            "(a newer release made it): restore it with that release"
        )
    return revision


def restore_sqlite(database_uri: str, backup_path: Path) -> str:
    """Check a SQLite backup, then copy it over the configured database with the backup API.

    Returns the backup's schema revision. Raises BackupError before touching the database if the file
    is not a sound Rapport backup this code knows.
    """
    target_path = sqlite_path(database_uri)
    if not backup_path.is_file():
        raise BackupError(f"there is no file at {backup_path}")
    revision = check_revision(_check_sqlite_file(backup_path), backup_path)
    try:
        target_path.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"{backup_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(target_path)
            try:
                target.execute("PRAGMA busy_timeout = 15000")
                source.backup(target)
                target.execute("PRAGMA journal_mode = WAL")
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(f"the restore failed: {exc}") from None
    except OSError as exc:
        raise BackupError(f"the restore failed: {exc.strerror or exc}") from None
    return revision


def inspect_backup(database_uri: str, backup_path: Path) -> str:
    """Check that a backup suits the configured backend and this code; return its schema revision."""
    if not backup_path.is_file():
        raise BackupError(f"there is no file at {backup_path}")
    if backend(database_uri) == "sqlite":
        return check_revision(_check_sqlite_file(backup_path), backup_path)
    with backup_path.open("rb") as handle:
        if handle.read(len(PG_DUMP_MAGIC)) != PG_DUMP_MAGIC:
            raise BackupError(f"{backup_path} is not a pg_dump custom-format file")
    _url, env = libpq_url(database_uri)
    return check_revision(_dump_revision(backup_path, env), backup_path)


def restore_postgresql(database_uri: str, backup_path: Path) -> str:
    """pg_restore --clean --if-exists --no-owner --single-transaction: all of the dump or nothing."""
    revision = inspect_backup(database_uri, backup_path)
    pg_restore = _pg_tool("pg_restore")
    url, env = libpq_url(database_uri)
    done = subprocess.run(  # noqa: S603 (fixed program, no shell)
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={url}",
            str(backup_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed, nothing was changed: {_one_line(done.stderr)}")
    return revision


def restore(database_uri: str, backup_path: Path) -> str:
    """Replace the configured database with a backup; returns its schema revision; raises BackupError."""
    if backend(database_uri) == "sqlite":
        return restore_sqlite(database_uri, backup_path)
    return restore_postgresql(database_uri, backup_path)
