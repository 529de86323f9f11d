"""The database: declarative Base, the Flask-SQLAlchemy handle, and unit_of_work(), the one place that commits."""

from __future__ import annotations

import contextvars
import fcntl
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, String, TypeDecorator, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC. Call it at the edges (views, CLI, tasks) only."""
    return datetime.now(UTC)


def new_public_id() -> str:
    """A random 128-bit URL-safe identifier for URLs; never a sequential id."""
    return secrets.token_urlsafe(16)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset, so it is restored on load)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION), type_annotation_map={datetime: UTCDateTime()}
    )


db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})

if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


class PublicIdMixin:
    """A random public id for URLs, beside the integer primary key that never leaves the server."""

    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)


class UpdatedAtMixin:
    """`updated_at` is stamped whenever a flush writes the row, or a child row named by `__touches__`.

    The API filters lists by it. A child class (a profile row, an attempt) lists the relationships of the
    parents it changes in `__touches__`; bulk UPDATE statements do not stamp it.
    """

    updated_at: Mapped[datetime] = mapped_column(nullable=False, default=lambda: utcnow(), index=True)


def _stamp_updated(session: Session, _context: Any, _instances: Any) -> None:
    now = utcnow()
    with session.no_autoflush:
        for obj in [*session.new, *session.dirty, *session.deleted]:
            if obj in session.dirty and not session.is_modified(obj, include_collections=False):
                continue
            if isinstance(obj, UpdatedAtMixin) and obj not in session.deleted:
                obj.updated_at = now
            for name in getattr(type(obj), "__touches__", ()):
                parent = getattr(obj, name, None)
                if isinstance(parent, UpdatedAtMixin):
                    parent.updated_at = now


event.listen(Session, "before_flush", _stamp_updated)


# True while a unit_of_work() is open: SQLite then begins with BEGIN IMMEDIATE.
_writing: contextvars.ContextVar[bool] = contextvars.ContextVar("rapport_writing", default=False)
_AFTER_COMMIT = "rapport_after_commit"


def after_commit(callback: Callable[[], Any]) -> None:
    """Run callback once the current unit of work has committed; dropped if it rolls back."""
    if not _writing.get():
        raise RuntimeError("after_commit() needs an open unit_of_work()")
    db.session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Open a write transaction, commit it on success, roll back on error, then run after-commit callbacks.

    Raises whatever the block raised, after rolling back.
    """
    if _writing.get():
        raise RuntimeError("unit_of_work() is not re-entrant")
    session = db.session()
    if session.in_transaction() and session.get_bind().dialect.name == "sqlite":
        # End the read snapshot so the write transaction starts with BEGIN IMMEDIATE
        # (upgrading a read transaction to a write one fails at once with SQLITE_BUSY).
        session.commit()
    token = _writing.set(True)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop(_AFTER_COMMIT, None)
        raise
    finally:
        _writing.reset(token)
    for callback in session.info.pop(_AFTER_COMMIT, []):
        callback()


@contextmanager
def independent_unit_of_work() -> Iterator[Session]:
    """A unit of work on a session of its own, committed whatever the request does afterwards.

    Used for audit events and rate-limit counters. Never call it inside unit_of_work(): on SQLite
    the two would wait on each other's write lock.
    """
    if _writing.get():
        raise RuntimeError("independent_unit_of_work() inside unit_of_work() would deadlock on SQLite")
    token = _writing.set(True)
    try:
        with Session(db.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        _writing.reset(token)


# What a database error means for an operator, by a fragment of the driver's message (SQLite) or SQLSTATE
# (PostgreSQL). These need someone to act; any other OperationalError is a restart, a dropped connection or a
# lock held too long, which passes by itself.
_STORAGE_MESSAGES = (
    ("database or disk is full", "The disk holding the database is full: free some space (nothing needs restarting)."),
    (
        "attempt to write a readonly database",
        "The database is read-only: check the permissions of the database file and its folder, and that the disk "
        "is mounted read-write.",
    ),
    (
        "unable to open database file",
        "The database file cannot be opened: check that it and its folder exist and are writable (SQLite creates "
        "its -wal and -shm files beside it).",
    ),
    ("disk i/o error", "The disk holding the database reported an I/O error: check the disk and the system log."),
)
_STORAGE_SQLSTATES = {
    "25006": "The database is read-only: check that the PostgreSQL server is not a standby or in read-only mode "
    "(default_transaction_read_only), and that its disk is mounted read-write.",
    "42501": "The database role Rapport connects as may not change its tables: check that DATABASE_URL names the "
    "role that owns them, or grant that role INSERT, UPDATE and DELETE on them.",
    "53100": "The disk holding the database is full: free some space on the PostgreSQL server.",
    "53200": "The database server is out of memory.",
}


def storage_problem(error: BaseException) -> str | None:
    """The operator's one-line reason when a database error means it cannot store data (a full disk, a
    read-only or unopenable file); None for a passing trouble (a restart, a lock held too long)."""
    original = getattr(error, "orig", None) or error
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate in _STORAGE_SQLSTATES:
        return _STORAGE_SQLSTATES[sqlstate]
    text = str(original).lower()
    return next((reason for fragment, reason in _STORAGE_MESSAGES if fragment in text), None)


def describe_database_error(error: BaseException) -> str:
    """One line, in plain English, saying what is wrong with the database; never SQL or its parameters."""
    problem = storage_problem(error)
    if problem:
        return problem
    if "database is locked" in str(getattr(error, "orig", None) or error).lower():
        return "The database is busy: another process has held its write lock too long. Try again."
    return "The database does not answer: check that it is running and that DATABASE_URL is right."


def configure_sqlite(engine: Engine) -> None:
    """WAL, synchronous=FULL, foreign keys, a busy timeout, and BEGIN IMMEDIATE for writes (DECISIONS.md), with
    the writers of every process queued on a file lock first (WriteQueue)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" listener emit BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    begin_sqlite_transactions(engine, _writing.get)


BUSY_TIMEOUT_MS = 15_000
_QUEUE_KEY = "rapport_write_queue"
_BUSY_KEY = "rapport_busy_timeout_ms"


def begin_sqlite_transactions(engine: Engine, writing: Callable[[], bool]) -> None:
    """BEGIN for a read; for a write (writing() true), a place in the engine's WriteQueue, then BEGIN IMMEDIATE.

    The whole wait for the write lock, queue and SQLite's busy handler together, stays within the connection's
    busy timeout. The place in the queue is given up when the connection goes back to the pool, just after its
    COMMIT or ROLLBACK, or when a failure ends the transaction.
    """
    path = engine.url.database
    queue = (
        WriteQueue(Path(f"{path}-write-queue")) if path and path != ":memory:" and "mode=memory" not in path else None
    )

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if not writing():
            connection.exec_driver_sql("BEGIN")
            return
        if queue is None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        info = connection.connection.info
        busy_ms = info.get(_BUSY_KEY)
        if busy_ms is None:
            busy_ms = info[_BUSY_KEY] = int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0)
        place, waited = queue.enter(busy_ms / 1000)
        info[_QUEUE_KEY] = place
        try:
            if waited * 1000 < 1:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            # The queue took part of the budget: SQLite's busy handler gets what is left of it.
            connection.exec_driver_sql(f"PRAGMA busy_timeout={max(1, busy_ms - int(waited * 1000))}")
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            finally:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={busy_ms}")
        except BaseException:
            WriteQueue.leave(info.pop(_QUEUE_KEY, None))
            raise

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        # The place travels with the connection: a connection given back by another thread (a garbage-collected
        # one) still ends its transaction's turn.
        WriteQueue.leave(record.info.pop(_QUEUE_KEY, None))


class WriteQueue:
    """Writers to one SQLite file wait their turn on an exclusive lock of a file beside it (flock), from every
    process and thread, before BEGIN IMMEDIATE.

    SQLite's own busy handler makes a second writer sleep 1, 2, 5, 10, 25, then 50 and 100 ms between tries
    whatever the holder does, so under load a save waits tens of milliseconds for a lock held about one. Here a
    waiter tries again within a millisecond of the lock's release. Nested write transactions of one thread share
    their thread's place. Writers that do not queue (an operator's sqlite3 shell, a backup) still meet SQLite's
    lock and its busy timeout, as before.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _place(self) -> _Place | None:
        place: _Place | None = getattr(self._local, "place", None)
        if place is None or place.pid != os.getpid():
            # A forked child (a render process) must not share its parent's open file: flock's lock belongs to
            # the open file, so the two would hold it at once and one's release would end the other's turn.
            try:
                handle = open(self.path, "a+b")  # noqa: SIM115 (kept open for the thread's life)
            except OSError:
                return None  # a read-only folder: writes then meet SQLite's own error, which says what is wrong
            place = self._local.place = _Place(handle)
        return place

    def enter(self, timeout: float) -> tuple[_Place | None, float]:
        """Wait for this thread's turn, at most timeout seconds; return the place (for leave) and the seconds
        waited. Raises OperationalError ("database is locked") when the time is up, as SQLite's busy timeout
        would."""
        place = self._place()
        if place is None:
            return None, 0.0
        if place.depth:
            place.depth += 1
            return place, 0.0
        try:
            fcntl.flock(place.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            started = time.monotonic()
            delay = 0.0001
            while True:
                time.sleep(delay)
                try:
                    fcntl.flock(place.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() - started >= timeout:
                        raise OperationalError(
                            "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
                        ) from None
                    delay = min(delay * 2, 0.001)
            place.depth = 1
            return place, time.monotonic() - started
        place.depth = 1
        return place, 0.0

    @staticmethod
    def leave(place: _Place | None) -> None:
        """Give up a place (the outermost of nested ones), from whichever thread ends its transaction."""
        if place is None or not place.depth or place.pid != os.getpid():
            return  # no place held, or the parent's (a forked child leaves the parent's turn alone)
        place.depth -= 1
        if not place.depth:
            fcntl.flock(place.handle, fcntl.LOCK_UN)


class _Place:
    """One thread's open queue file, and how many of its write transactions hold the turn."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.depth = 0
        self.pid = os.getpid()
