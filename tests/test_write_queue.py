"""SQLite's writers queue on a file lock before BEGIN IMMEDIATE (database.WriteQueue): a waiter goes as soon as
the holder commits or rolls back, the place is given up on every way out of a transaction, and the whole wait
(queue and SQLite's busy handler) stays within the busy timeout."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from accounts import services
from database import WriteQueue, db, storage_problem, unit_of_work, utcnow

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the queue is SQLite's


def queue_path(app: Flask) -> Path:
    return Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///") + "-write-queue")


@contextmanager
def held_elsewhere(path: Path) -> Iterator[WriteQueue]:
    """Hold the queue as another process's writer would: its own open file, so its own lock."""
    other = WriteQueue(path)
    place, waited = other.enter(1)
    assert waited == 0.0
    try:
        yield other
    finally:
        WriteQueue.leave(place)


def free(path: Path) -> bool:
    probe = WriteQueue(path)
    try:
        place, _ = probe.enter(0.01)
    except OperationalError:
        return False
    WriteQueue.leave(place)
    return True


@SQLITE
def test_a_write_takes_its_place_in_the_queue_and_gives_it_up_after_commit(ctx):
    path = queue_path(ctx)
    seen: list[bool] = []

    def during(_conn, _cursor, statement, *_args):
        if not statement.startswith("PRAGMA"):  # the busy timeout is read once, before the place is taken
            seen.append(free(path))

    event.listen(db.engine, "after_cursor_execute", during)
    try:
        with unit_of_work():
            services.create_agency("Queued Agency", utcnow())
    finally:
        event.remove(db.engine, "after_cursor_execute", during)
    assert seen and not any(seen)  # held for every statement of the write transaction
    assert free(path)  # and given up once it committed
    db.session.execute(text("SELECT 1")).all()
    assert free(path)  # a read never queues


@SQLITE
def test_a_failed_write_gives_up_its_place(ctx):
    path = queue_path(ctx)
    with pytest.raises(ValueError), unit_of_work():
        services.create_agency("Rolled Back Agency", utcnow())
        assert not free(path)
        raise ValueError("the block failed")
    assert free(path)


@SQLITE
def test_a_waiting_writer_goes_as_soon_as_the_holder_leaves(ctx):
    path = queue_path(ctx)
    done: list[float] = []

    def write() -> None:
        with ctx.app_context():
            started = time.monotonic()
            with unit_of_work():
                services.create_agency("Waiting Agency", utcnow())
            done.append(time.monotonic() - started)
            db.session.remove()

    with held_elsewhere(path):
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.3)
        assert not done  # it waits while the place is held
    writer.join(10)
    assert done and 0.25 <= done[0] < 1.5, done  # and goes within moments of the release


@SQLITE
def test_the_queue_and_sqlite_share_one_busy_timeout(app):
    """A writer that waited in the queue gets only the rest of the busy timeout from SQLite's own lock, and the
    connection's busy timeout is put back afterwards."""
    path = queue_path(app)
    database = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with app.app_context():

        @event.listens_for(db.engine, "connect")
        def _short(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA busy_timeout=1200")

        db.engine.dispose()
        outcome: list[object] = []

        def write() -> None:
            with app.app_context():
                started = time.monotonic()
                try:
                    with unit_of_work():
                        services.create_agency("Late Agency", utcnow())
                except OperationalError as error:
                    outcome.append(error)
                outcome.append(time.monotonic() - started)
                db.session.remove()

        foreign = sqlite3.connect(database, isolation_level=None)  # a writer that does not queue: a sqlite3 shell
        try:
            with held_elsewhere(path):
                writer = threading.Thread(target=write)
                writer.start()
                time.sleep(0.8)  # two thirds of the budget spent in the queue
                foreign.execute("BEGIN IMMEDIATE")
            writer.join(10)
            foreign.execute("ROLLBACK")
        finally:
            foreign.close()
        error, seconds = outcome
        assert isinstance(error, OperationalError) and "locked" in str(error.orig)
        assert storage_problem(error) is None  # a passing trouble: 503 with a retry hint, not an operator's alarm
        assert 1.1 <= seconds < 1.9, seconds  # 1.2 s in all, not 0.8 s and then 1.2 s more
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1200
        assert free(path)


def test_the_wait_in_the_queue_ends_with_database_is_locked(tmp_path):
    path_holder = WriteQueue(tmp_path / "rapport.db-write-queue")
    outer, waited = path_holder.enter(1)
    inner, waited_again = path_holder.enter(1)  # nested: the thread already holds it
    assert waited == waited_again == 0.0 and inner is outer
    waiter = WriteQueue(path_holder.path)
    started = time.monotonic()
    with pytest.raises(OperationalError) as raised:
        waiter.enter(0.2)
    assert 0.2 <= time.monotonic() - started < 1
    assert "database is locked" in str(raised.value.orig)
    WriteQueue.leave(inner)
    with pytest.raises(OperationalError):
        waiter.enter(0.05)  # still held: the outer place remains
    WriteQueue.leave(outer)
    place, waited = waiter.enter(0.05)
    assert waited == 0.0
    WriteQueue.leave(place)


def test_a_place_can_be_given_up_from_another_thread(tmp_path):
    """A connection garbage-collected on another thread still ends its transaction's turn."""
    queue = WriteQueue(tmp_path / "rapport.db-write-queue")
    place, _ = queue.enter(1)
    ender = threading.Thread(target=WriteQueue.leave, args=(place,))
    ender.start()
    ender.join(5)
    other, waited = WriteQueue(queue.path).enter(0.05)
    assert waited == 0.0
    WriteQueue.leave(other)


def _child_tries(queue: WriteQueue, results: Any) -> None:
    try:
        place, _ = queue.enter(0.2)
    except OperationalError:
        results.put("waited, then gave up")
        return
    WriteQueue.leave(place)
    results.put("got in")


def test_a_forked_child_queues_on_its_own_and_leaves_its_parents_turn_alone(tmp_path):
    """A render process forked from the consumer inherits its open files: it must not take the parent's turn as
    its own (flock's lock belongs to the open file), nor end it."""
    queue = WriteQueue(tmp_path / "rapport.db-write-queue")
    held, _ = queue.enter(1)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_child_tries, args=(queue, results))
    child.start()
    child.join(10)
    assert results.get(timeout=5) == "waited, then gave up"
    other = WriteQueue(queue.path)
    with pytest.raises(OperationalError):
        other.enter(0.05)  # the parent still holds its turn
    WriteQueue.leave(held)
    place, waited = other.enter(0.05)
    assert waited == 0.0
    WriteQueue.leave(place)


def test_a_folder_that_cannot_hold_the_queue_file_leaves_writes_to_sqlite(tmp_path):
    folder = tmp_path / "missing"
    queue = WriteQueue(folder / "rapport.db-write-queue")
    assert queue.enter(1) == (None, 0.0)  # no file, no queue: SQLite's own error will say what is wrong
    WriteQueue.leave(None)
