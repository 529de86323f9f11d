"""Transactional email: queue_email() writes an outbox row inside the caller's unit of work;
deliver_email() sends it over SMTP after commit; sweep_outbox() retries what is due and
rescues rows a lost task left behind. Delivery is at least once, with a stable Message-ID."""

from __future__ import annotations

import enum
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import Enum, ForeignKey, Integer, String, Text, update
from sqlalchemy.orm import Mapped, mapped_column

import outbox
from database import Model, PublicIdMixin, after_commit, db, independent_unit_of_work

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates" / "emails"
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# Back-off after the n-th failed attempt, in seconds; the last value repeats.
BACKOFF_SECONDS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600)


class EmailStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class EmailMessage(PublicIdMixin, Model):
    """An outbox row: the message and its delivery state."""

    __tablename__ = "email_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    template: Mapped[str] = mapped_column(String(64), nullable=False)
    to_address: Mapped[str] = mapped_column(String(254), nullable=False)
    subject: Mapped[str] = mapped_column(String(255), nullable=False)
    body_text: Mapped[str] = mapped_column(Text, nullable=False)
    message_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    status: Mapped[EmailStatus] = mapped_column(
        Enum(EmailStatus, native_enum=False, length=16, values_callable=lambda s: [m.value for m in s]),
        nullable=False,
        default=EmailStatus.QUEUED,
        index=True,
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(nullable=False, index=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @classmethod
    def scope_criteria(cls, scope: Any) -> list[Any]:
        return [cls.agency_id == scope.agency_id]


class TemplateError(ValueError):
    """An email template names a placeholder it was not given, or does not exist."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str


def render_email(template: str, values: dict[str, str]) -> RenderedEmail:
    """Fill a plain-text template's {placeholders} with plain text; raises TemplateError."""
    path = TEMPLATES / f"{template}.txt"
    if not re.fullmatch(r"[a-z_]+", template) or not path.is_file():
        raise TemplateError(f"unknown email template {template!r}")
    first, _, body = path.read_text(encoding="utf-8").partition("\n")
    if not first.startswith("Subject: "):
        raise TemplateError(f"template {template!r} must start with a Subject: line")
    return render_text(first.removeprefix("Subject: "), body.lstrip("\n"), values)


def render_text(subject: str, body: str, values: dict[str, str]) -> RenderedEmail:
    """Fill a subject and body's {placeholders} once, as plain text (user text never becomes a template).

    Raises TemplateError naming a placeholder that has no value.
    """

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise TemplateError(f"{{{key}}} is not a placeholder this email can fill")
        return str(values[key])

    filled = PLACEHOLDER.sub(fill, subject)
    return RenderedEmail(subject=" ".join(filled.split())[:255], body=PLACEHOLDER.sub(fill, body))


def queue_email(
    *,
    to: str,
    template: str,
    values: dict[str, str],
    now: datetime,
    agency_id: int | None,
    custom: tuple[str, str] | None = None,
) -> EmailMessage:
    """Add an outbox row to the open unit of work; delivery is enqueued only after it commits.

    `custom` is an agency's own (subject, body) for this template, filled with the same values.
    """
    rendered = render_text(*custom, values) if custom else render_email(template, values)
    domain = current_app.config["BASE_URL"].split("//", 1)[-1].split("/", 1)[0].split(":")[0] or "rapport"
    message = EmailMessage(
        agency_id=agency_id,
        template=template,
        to_address=to,
        subject=rendered.subject,
        body_text=rendered.body,
        message_id=make_msgid(domain=domain),
        status=EmailStatus.QUEUED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    message_id = message.id
    after_commit(lambda: _enqueue_delivery(message_id))
    return message


def _enqueue_delivery(message_id: int) -> None:
    from tasks import deliver_email_task

    try:
        deliver_email_task(message_id)
    except Exception:  # the queue is down: the periodic sweep will send it
        log.warning("could not enqueue email %s; the sweep will retry", message_id, exc_info=True)


class TemporaryFailure(Exception):
    """The server may accept the message later."""


class PermanentFailure(Exception):
    """The server refused the message for good."""


def build_mime(message: EmailMessage, sender: str) -> MimeMessage:
    """The MIME message for an outbox row; the Message-ID is the row's, so a resend is recognisable."""
    mime = MimeMessage()
    mime["From"] = sender
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime["Message-ID"] = message.message_id
    mime["Auto-Submitted"] = "auto-generated"
    mime.set_content(message.body_text)
    return mime


def send_over_smtp(mime: MimeMessage, config: Any) -> None:
    """Hand one message to the configured SMTP server; raises TemporaryFailure or PermanentFailure."""
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=config["SMTP_TIMEOUT"]) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["SMTP_USERNAME"]:
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
            smtp.send_message(mime)
    except smtplib.SMTPAuthenticationError as exc:
        # Our credentials, not the message: keep it queued until the operator fixes the settings.
        raise TemporaryFailure(f"SMTP authentication failed ({exc.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(500 <= code < 600 for code in codes):
            raise PermanentFailure(f"recipient refused ({codes[0]})") from None
        raise TemporaryFailure(f"recipient deferred ({codes[0]})") from None
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            raise PermanentFailure(f"refused by server ({exc.smtp_code})") from None
        raise TemporaryFailure(f"deferred by server ({exc.smtp_code})") from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise TemporaryFailure(f"server unreachable ({type(exc).__name__})") from None


def backoff(attempts: int) -> timedelta:
    """How long to wait after the given number of failed attempts."""
    return timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


def claim_email(message_id: int, now: datetime) -> bool:
    """Mark a due row as sending under a lease; False when another worker has it or it is not due."""
    lease = timedelta(seconds=current_app.config["EMAIL_LEASE_SECONDS"])
    return outbox.claim(EmailMessage, message_id, now, lease, queued=EmailStatus.QUEUED, sending=EmailStatus.SENDING)


def deliver_email(message_id: int, now: datetime) -> EmailStatus | None:
    """Send one outbox row if it is due, and record the outcome; None when nothing was done."""
    if not claim_email(message_id, now):
        return None
    config = current_app.config
    with independent_unit_of_work() as session:
        message = session.get_one(EmailMessage, message_id)
        mime = build_mime(message, config["MAIL_FROM"])
    outcome: EmailStatus
    error: str | None = None
    try:
        send_over_smtp(mime, config)
        outcome = EmailStatus.SENT
    except PermanentFailure as exc:
        outcome, error = EmailStatus.FAILED, str(exc)
    except TemporaryFailure as exc:
        error = str(exc)
        outcome = EmailStatus.FAILED if message.attempts >= config["EMAIL_MAX_ATTEMPTS"] else EmailStatus.QUEUED
    with independent_unit_of_work() as session:
        values: dict[str, Any] = {"status": outcome, "lease_expires_at": None, "last_error": error}
        if outcome is EmailStatus.SENT:
            values["sent_at"] = now
        elif outcome is EmailStatus.QUEUED:
            values["next_attempt_at"] = now + backoff(message.attempts)
        # Only this claim's outcome: a worker that outlived its lease must not overwrite a newer attempt.
        session.execute(
            update(EmailMessage)
            .where(
                EmailMessage.id == message_id,
                EmailMessage.status == EmailStatus.SENDING,
                EmailMessage.attempts == message.attempts,
            )
            .values(**values)
        )
    log.info("email %s: %s after %d attempt(s)", message.public_id, outcome.value, message.attempts)
    return outcome


def sweep_outbox(now: datetime, limit: int = 500) -> list[int]:
    """Release rows whose lease ran out (their task was lost) and return the ids of rows due now."""
    return outbox.sweep(EmailMessage, now, limit, queued=EmailStatus.QUEUED, sending=EmailStatus.SENDING)


def retry_email(message: EmailMessage, now: datetime) -> None:
    """Put a failed message back in the queue (an admin's decision), inside the caller's unit of work."""
    if message.status is not EmailStatus.FAILED:
        raise ValueError("only a failed message can be retried")
    message.status = EmailStatus.QUEUED
    message.next_attempt_at = now
    message.attempts = 0
    message.last_error = None
    message_id = message.id
    after_commit(lambda: _enqueue_delivery(message_id))
