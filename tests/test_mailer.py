"""The outbox against a real SMTP server: delivery after commit, retries with back-off, leases, failures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import mailer
from database import db, unit_of_work, utcnow
from mailer import EmailMessage, EmailStatus, TemplateError
from tests.conftest import free_port

TO = "reader@example.test"
VALUES = {"name": "Robin Reader", "link": "https://rapport.test/password/reset/abc", "minutes": "30"}


def fresh(message_id: int) -> EmailMessage:
    """The row as the database has it now (ends the session's snapshot, which SQLite keeps per transaction)."""
    db.session.rollback()
    db.session.expire_all()
    return db.session.get_one(EmailMessage, message_id)


def row_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(EmailMessage)) or 0


@pytest.fixture
def t0():
    return utcnow().replace(microsecond=0)


@pytest.fixture
def queue_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """No delivery task after commit (as when the queue is down): the test drives delivery with its own clock."""
    monkeypatch.setattr(mailer, "_enqueue_delivery", lambda message_id: None)


@pytest.fixture
def queued(ctx, queue_down, t0) -> Callable[..., int]:
    """Queue one password-reset email at t0 without delivering it; returns the row id."""

    def make(to: str = TO) -> int:
        with unit_of_work():
            message = mailer.queue_email(to=to, template="password_reset", values=VALUES, now=t0, agency_id=None)
        return message.id

    return make


def test_queued_email_is_delivered_after_commit(ctx, mailbox):
    now = utcnow()
    with unit_of_work():
        message = mailer.queue_email(to=TO, template="password_reset", values=VALUES, now=now, agency_id=None)
        assert mailbox.messages == []  # nothing leaves before the commit

    assert len(mailbox.messages) == 1
    received = mailbox.messages[0]
    row = fresh(message.id)
    assert received["To"] == TO
    assert received["Subject"] == "Choose a new Rapport password"
    assert received["Message-ID"] == row.message_id
    assert "Robin Reader" in received.get_content()
    assert VALUES["link"] in received.get_content()
    assert row.status is EmailStatus.SENT
    assert row.sent_at is not None
    assert row.attempts == 1
    assert row.lease_expires_at is None
    assert row.last_error is None


def test_nothing_is_sent_or_stored_when_the_unit_of_work_fails(ctx, mailbox):
    def queue_then_fail() -> None:
        with unit_of_work():
            mailer.queue_email(to=TO, template="password_reset", values=VALUES, now=utcnow(), agency_id=None)
            raise RuntimeError("abandon")

    with pytest.raises(RuntimeError, match="abandon"):
        queue_then_fail()

    assert mailbox.messages == []
    assert row_count() == 0


def test_temporary_failure_is_retried_after_the_back_off(queued, mailbox, t0):
    message_id = queued()
    mailbox.fail_next("451 try later")

    assert mailer.deliver_email(message_id, t0) is EmailStatus.QUEUED
    row = fresh(message_id)
    assert mailbox.messages == []
    assert row.status is EmailStatus.QUEUED
    assert row.attempts == 1
    assert row.next_attempt_at == t0 + timedelta(seconds=60)
    assert row.lease_expires_at is None
    assert row.last_error
    assert "451" in row.last_error
    assert "@" not in row.last_error

    assert message_id not in mailer.sweep_outbox(t0 + timedelta(seconds=30))
    assert mailer.deliver_email(message_id, t0 + timedelta(seconds=30)) is None  # not due yet
    later = t0 + timedelta(seconds=61)
    assert mailer.sweep_outbox(later) == [message_id]

    assert mailer.deliver_email(message_id, later) is EmailStatus.SENT
    row = fresh(message_id)
    assert len(mailbox.messages) == 1
    assert mailbox.messages[0]["Message-ID"] == row.message_id
    assert row.status is EmailStatus.SENT
    assert row.attempts == 2
    assert row.sent_at == later
    assert row.last_error is None


def test_permanent_failure_is_not_retried(queued, mailbox, t0):
    message_id = queued()
    mailbox.fail_next("550 no such user")

    assert mailer.deliver_email(message_id, t0) is EmailStatus.FAILED
    row = fresh(message_id)
    assert row.status is EmailStatus.FAILED
    assert row.attempts == 1
    assert row.last_error
    assert "550" in row.last_error
    assert "@" not in row.last_error

    much_later = t0 + timedelta(days=2)
    assert mailer.sweep_outbox(much_later) == []
    assert mailer.deliver_email(message_id, much_later) is None
    assert mailbox.messages == []
    assert fresh(message_id).status is EmailStatus.FAILED


@pytest.mark.app_config(EMAIL_MAX_ATTEMPTS=2)
def test_temporary_failures_give_up_after_the_maximum_attempts(queued, mailbox, t0):
    message_id = queued()
    mailbox.fail_next("451 try later", times=2)

    assert mailer.deliver_email(message_id, t0) is EmailStatus.QUEUED
    second = t0 + timedelta(seconds=61)
    assert mailer.sweep_outbox(second) == [message_id]
    assert mailer.deliver_email(message_id, second) is EmailStatus.FAILED

    row = fresh(message_id)
    assert row.status is EmailStatus.FAILED
    assert row.attempts == 2
    assert mailer.sweep_outbox(t0 + timedelta(days=1)) == []
    assert mailbox.messages == []


def test_a_lost_delivery_is_rescued_when_its_lease_runs_out(queued, mailbox, t0, ctx):
    lease = timedelta(seconds=ctx.config["EMAIL_LEASE_SECONDS"])
    lost = queued()
    busy = queued("other@example.test")
    # Two consumers claim a row each and are killed before they finish.
    assert mailer.claim_email(lost, t0)
    assert mailer.claim_email(busy, t0 + timedelta(seconds=200))

    assert mailer.sweep_outbox(t0 + lease - timedelta(seconds=1)) == []
    assert fresh(lost).status is EmailStatus.SENDING

    after_lease = t0 + lease + timedelta(seconds=1)
    assert mailer.sweep_outbox(after_lease) == [lost]
    assert fresh(busy).status is EmailStatus.SENDING  # still within its lease: untouched
    assert fresh(busy).lease_expires_at == t0 + timedelta(seconds=200) + lease
    assert fresh(lost).status is EmailStatus.QUEUED

    assert mailer.deliver_email(lost, after_lease) is EmailStatus.SENT
    row = fresh(lost)
    assert row.status is EmailStatus.SENT
    assert row.attempts == 2
    assert [m["Message-ID"] for m in mailbox.messages] == [row.message_id]


@pytest.mark.app_config(SMTP_PORT=free_port())
def test_unreachable_server_is_a_temporary_failure(queued, t0):
    message_id = queued()

    assert mailer.deliver_email(message_id, t0) is EmailStatus.QUEUED
    row = fresh(message_id)
    assert row.status is EmailStatus.QUEUED
    assert row.attempts == 1
    assert row.next_attempt_at == t0 + timedelta(seconds=60)
    assert row.last_error
    assert "unreachable" in row.last_error


def test_a_claimed_row_cannot_be_claimed_again(queued, mailbox, t0):
    message_id = queued()

    assert mailer.claim_email(message_id, t0) is True
    assert mailer.claim_email(message_id, t0) is False
    assert mailer.deliver_email(message_id, t0) is None  # a second worker sends nothing
    assert mailbox.messages == []
    row = fresh(message_id)
    assert row.status is EmailStatus.SENDING
    assert row.attempts == 1


def test_a_row_that_is_not_due_cannot_be_claimed(queued, t0):
    message_id = queued()

    assert mailer.claim_email(message_id, t0 - timedelta(seconds=1)) is False
    assert fresh(message_id).status is EmailStatus.QUEUED


def test_retry_puts_a_failed_email_back_in_the_queue(queued, mailbox, t0):
    message_id = queued()
    mailbox.fail_next("550 no such user")
    assert mailer.deliver_email(message_id, t0) is EmailStatus.FAILED

    retry_at = t0 + timedelta(hours=1)
    with unit_of_work():
        mailer.retry_email(db.session.get_one(EmailMessage, message_id), retry_at)
    row = fresh(message_id)
    assert row.status is EmailStatus.QUEUED
    assert row.attempts == 0
    assert row.last_error is None
    assert row.next_attempt_at == retry_at

    assert mailer.sweep_outbox(retry_at) == [message_id]
    assert mailer.deliver_email(message_id, retry_at) is EmailStatus.SENT
    assert len(mailbox.messages) == 1

    sent = fresh(message_id)
    with pytest.raises(ValueError, match="only a failed message"), unit_of_work():
        mailer.retry_email(sent, retry_at)
    assert fresh(message_id).status is EmailStatus.SENT


# --- Templates --------------------------------------------------------------------------------


def test_a_missing_placeholder_value_is_refused():
    values = {k: v for k, v in VALUES.items() if k != "link"}
    with pytest.raises(TemplateError, match="link"):
        mailer.render_email("password_reset", values)


@pytest.mark.parametrize("name", ["no_such_template", "../templates/emails/password_reset", "Password_Reset", ""])
def test_an_unknown_template_is_refused(name):
    with pytest.raises(TemplateError, match="unknown email template"):
        mailer.render_email(name, VALUES)


def test_values_are_filled_once_not_recursively():
    rendered = mailer.render_email("password_reset", {**VALUES, "name": "{link}"})
    assert "Hello {link}," in rendered.body


def test_a_line_break_in_a_subject_value_does_not_inject_a_header(ctx, mailbox):
    values = {"name": "Robin", "agency": "Acme\r\nBcc: x@y.example", "link": "https://rapport.test/x", "hours": "72"}
    rendered = mailer.render_email("account_setup", values)
    assert "\r" not in rendered.subject
    assert "\n" not in rendered.subject
    assert rendered.subject == "Your Rapport account at Acme Bcc: x@y.example"

    with unit_of_work():
        mailer.queue_email(to=TO, template="account_setup", values=values, now=utcnow(), agency_id=None)
    assert len(mailbox.messages) == 1
    received = mailbox.messages[0]
    assert received["Bcc"] is None
    assert received["Subject"] == rendered.subject
    assert received["To"] == TO
