"""Drill: the SMTP server is down (stopped, or deferring every message with 451) for an hour while emails are
queued. The outbox's periodic sweep, driven here with `now` advancing a minute at a time as the consumer's
sweep task would, backs off on the row (DECISIONS.md: at least once, back-off stored on the outbox row),
gives nothing up during the outage, and delivers every message exactly once when the server is back."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

import mailer
from database import db, unit_of_work, utcnow
from mailer import BACKOFF_SECONDS, EmailMessage, EmailStatus, deliver_email, sweep_outbox
from tests.conftest import Mailbox, free_port

MESSAGES = 5
STEP = timedelta(minutes=1)  # the consumer sweeps once a minute
OUTAGE = timedelta(hours=1)
VALUES = {"name": "Robin Reader", "link": "https://rapport.test/password/reset/abc", "minutes": "30"}


class SmtpServer:
    """An aiosmtpd server on a port of its own that the test can stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


def sweep_at(now: datetime) -> None:
    """What the consumer's sweep task does each minute, with the simulated time passed in."""
    for message_id in sweep_outbox(now):
        deliver_email(message_id, now)


def rows() -> list[EmailMessage]:
    db.session.rollback()  # a fresh snapshot
    db.session.expire_all()
    return list(db.session.scalars(select(EmailMessage).order_by(EmailMessage.id)))


@pytest.mark.parametrize("outage", ["stopped", "deferring"])
def test_mail_queued_during_an_hour_long_smtp_outage_is_delivered_once_afterwards(ctx, smtp, monkeypatch, outage):
    ctx.config.update(SMTP_PORT=smtp.port, SMTP_TIMEOUT=5)
    # No delivery task after commit: every attempt is the sweep's, at the simulated time.
    monkeypatch.setattr(mailer, "_enqueue_delivery", lambda message_id: None)
    if outage == "deferring":
        smtp.start()
        smtp.mailbox.fail_next("451 4.3.0 try again later", times=10_000)
    t0 = utcnow().replace(microsecond=0)
    with unit_of_work():
        for n in range(MESSAGES):
            mailer.queue_email(
                to=f"r{n}@example.test", template="password_reset", values=VALUES, now=t0, agency_id=None
            )

    attempts_at: dict[int, list[datetime]] = {row.id: [] for row in rows()}
    seen = {row.id: 0 for row in rows()}

    def step(now: datetime) -> None:
        sweep_at(now)
        for row in rows():
            if row.attempts > seen[row.id]:
                attempts_at[row.id].append(now)
                seen[row.id] = row.attempts

    now = t0
    while now < t0 + OUTAGE:
        step(now)
        now += STEP
    during = rows()
    assert smtp.mailbox.messages == []
    for row in during:
        # Nothing given up, nothing lost: queued again for a later attempt, with the reason kept.
        assert row.status is EmailStatus.QUEUED, (row.status, row.attempts)
        assert row.last_error and ("unreachable" if outage == "stopped" else "deferred") in row.last_error
        # Backed off, not hammered: 0, 1, 6 and 21 minutes in (60, 300 and 900 s apart), the next after 3600 s.
        times = attempts_at[row.id]
        assert [int((t - t0).total_seconds()) for t in times] == [0, 60, 360, 1260]
        assert row.next_attempt_at - times[-1] == timedelta(seconds=BACKOFF_SECONDS[len(times) - 1])
        assert row.attempts < ctx.config["EMAIL_MAX_ATTEMPTS"]

    # The server is back (started, or no longer deferring).
    smtp.mailbox.failures.clear()
    if outage == "stopped":
        smtp.start()
    back_at = now
    while now < back_at + timedelta(hours=2) and not all(row.status is EmailStatus.SENT for row in rows()):
        step(now)
        now += STEP
    step(now + timedelta(days=1))  # later sweeps send nothing twice
    after = rows()
    assert all(row.status is EmailStatus.SENT for row in after), [(r.status, r.last_error) for r in after]
    # Delivered at the next attempt the back-off allowed: within the longest wait the outage had reached.
    for row in after:
        assert row.sent_at is not None
        assert row.sent_at - back_at <= timedelta(seconds=BACKOFF_SECONDS[3])
        assert row.attempts == 5
    received = sorted(m["Message-ID"] for m in smtp.mailbox.messages)
    assert received == sorted(row.message_id for row in after)  # each exactly once, with its own Message-ID
    assert sorted(m["To"] for m in smtp.mailbox.messages) == [f"r{n}@example.test" for n in range(MESSAGES)]


def test_a_message_is_given_up_only_after_its_attempts_are_spent(ctx, smtp, monkeypatch):
    """The back-off stays bounded (at most BACKOFF_SECONDS[-1] between attempts, never an attempt before it is
    due) and a message is marked failed only after EMAIL_MAX_ATTEMPTS attempts: over sixteen hours of outage."""
    ctx.config.update(SMTP_PORT=smtp.port, SMTP_TIMEOUT=5)
    monkeypatch.setattr(mailer, "_enqueue_delivery", lambda message_id: None)
    t0 = utcnow().replace(microsecond=0)
    with unit_of_work():
        message_id = mailer.queue_email(
            to="r@example.test", template="password_reset", values=VALUES, now=t0, agency_id=None
        ).id
    attempts: list[datetime] = []
    now = t0
    for _ in range(20):
        sweep_at(now - timedelta(seconds=1))  # a moment before it is due: nothing happens
        [row] = rows()
        assert row.attempts == len(attempts) and row.status is EmailStatus.QUEUED
        sweep_at(now)
        attempts.append(now)
        [row] = rows()
        assert row.attempts == len(attempts)
        if row.status is EmailStatus.FAILED:
            break
        now = row.next_attempt_at  # the clock jumps to the next time the sweep would find it due
    [row] = rows()
    assert row.id == message_id
    assert row.status is EmailStatus.FAILED
    assert row.attempts == ctx.config["EMAIL_MAX_ATTEMPTS"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert gaps == [timedelta(seconds=s) for s in (60, 300, 900, 3600, 3 * 3600, 6 * 3600, 6 * 3600)]
    assert max(gaps) == timedelta(seconds=BACKOFF_SECONDS[-1])  # bounded: never longer than six hours
    assert attempts[-1] - t0 > timedelta(hours=16)
    # Once failed, the sweep leaves it alone: an admin retries it from the outbox page.
    sweep_at(now + timedelta(days=1))
    assert rows()[0].attempts == ctx.config["EMAIL_MAX_ATTEMPTS"]
