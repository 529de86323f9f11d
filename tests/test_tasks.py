"""The periodic outbox sweep and the queue status that /healthz reports."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import mailer
import tasks
from database import db, independent_unit_of_work, unit_of_work, utcnow
from mailer import EmailMessage, EmailStatus

VALUES = {"name": "Robin Reader", "link": "https://rapport.test/password/reset/abc", "minutes": "30"}


def _end_snapshot() -> None:
    """Each request has a session of its own; SQLite keeps a read snapshot until the transaction ends."""
    db.session.rollback()
    db.session.expire_all()


def test_the_sweep_delivers_due_rows_and_records_a_heartbeat(ctx, mailbox, monkeypatch):
    now = utcnow()
    # The queue was down when these were committed: only the sweep can send them.
    monkeypatch.setattr(mailer, "_enqueue_delivery", lambda message_id: None)
    with unit_of_work():
        due = mailer.queue_email(
            to="due@example.test", template="password_reset", values=VALUES, now=now, agency_id=None
        )
        later = mailer.queue_email(
            to="later@example.test",
            template="password_reset",
            values=VALUES,
            now=now + timedelta(hours=1),
            agency_id=None,
        )
    monkeypatch.undo()
    assert mailbox.messages == []

    tasks.sweep_outbox_task()  # immediate mode: runs now, in this thread (a periodic task stores no result)

    assert [m["To"] for m in mailbox.messages] == ["due@example.test"]
    _end_snapshot()
    statuses = {row.id: row.status for row in db.session.execute(select(EmailMessage.id, EmailMessage.status))}
    assert statuses == {due.id: EmailStatus.SENT, later.id: EmailStatus.QUEUED}
    beat = db.session.get_one(tasks.TaskHeartbeat, "sweep").beat_at
    assert now <= beat <= utcnow()


def test_the_sweep_beats_again_on_each_run(ctx):
    tasks.sweep_outbox_task()
    _end_snapshot()
    first = db.session.get_one(tasks.TaskHeartbeat, "sweep").beat_at
    earlier = first - timedelta(minutes=10)
    with independent_unit_of_work() as session:
        session.get_one(tasks.TaskHeartbeat, "sweep").beat_at = earlier

    assert tasks.sweep_outbox_task.call_local() == 0
    _end_snapshot()
    assert db.session.get_one(tasks.TaskHeartbeat, "sweep").beat_at >= first


def test_queue_status_tells_whether_a_consumer_is_sweeping(ctx):
    before = tasks.queue_status(utcnow())
    assert before["status"] == "ok"
    assert before["consumer"] == "never seen"
    assert before["last_sweep_at"] is None
    assert isinstance(before["pending"], int)

    tasks.sweep_outbox_task()
    _end_snapshot()

    now = utcnow()
    assert tasks.queue_status(now)["consumer"] == "ok"
    assert tasks.queue_status(now + timedelta(minutes=4))["consumer"] == "stale"
    assert tasks.queue_status(now)["last_sweep_at"] is not None


def test_queue_status_reports_an_unreachable_queue(ctx, monkeypatch):
    def broken() -> int:
        raise ConnectionError("queue storage down")

    monkeypatch.setattr(tasks.huey, "pending_count", broken)
    assert tasks.queue_status(utcnow()) == {
        "status": "unavailable",
        "detail": f"The task queue ({tasks.queue_name()}) does not answer.",
    }
    # `flask worker` refuses to start with one line saying what to check.
    assert tasks.queue_problem() == (
        f"The task queue ({tasks.queue_name()}) does not answer (ConnectionError): check that its folder is writable."
    )


@pytest.fixture(autouse=True)
def _tasks_run_in_process():
    assert tasks.huey.immediate, "tests expect TASKS_IMMEDIATE"
