"""The Huey instance and background tasks. Tasks take ids, never ORM objects, and are idempotent:
the state of each piece of work lives in the application database, not in the queue."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, has_app_context
from huey import Huey, RedisHuey, SqliteHuey, crontab
from sqlalchemy import select

from config import INSTANCE
from database import db, utcnow
from health import TaskHeartbeat, record_heartbeat

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def create_huey() -> Huey:
    """Redis storage when REDIS_URL is set, otherwise a SQLite file under instance/."""
    immediate = os.environ.get("TASKS_IMMEDIATE", "").lower() in {"1", "true", "yes"}
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        return RedisHuey("rapport", url=redis_url, immediate=immediate)
    path = os.environ.get("HUEY_SQLITE_PATH", str(INSTANCE / "huey.db"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return SqliteHuey("rapport", filename=path, immediate=immediate)


huey = create_huey()
CONSUMER_STALE_AFTER = timedelta(minutes=3)


_bound_app: Flask | None = None


def bind_app(app: Flask) -> None:
    """Remember the application whose context tasks run in (the consumer's, or the test's)."""
    global _bound_app
    _bound_app = app


def _with_app_context(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            return func(*args, **kwargs)
        app = _bound_app
        if app is None:  # a consumer started as `huey_consumer tasks.huey`: make the app once
            from app import create_app

            app = create_app()
            bind_app(app)
        with app.app_context():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@huey.task()
@_with_app_context
def deliver_email_task(message_id: int) -> str | None:
    """Deliver one outbox row (a no-op when it is not due or already taken)."""
    from mailer import deliver_email

    outcome = deliver_email(message_id, now=utcnow())
    return outcome.value if outcome else None


@huey.periodic_task(crontab(minute="*"))
@_with_app_context
def sweep_outbox_task() -> int:
    """Every minute: rescue rows whose task was lost and send what is due."""
    from mailer import sweep_outbox

    now = utcnow()
    due = sweep_outbox(now)
    for message_id in due:
        deliver_email_task(message_id)
    record_heartbeat("sweep", now)
    return len(due)


@huey.task()
@_with_app_context
def deliver_webhook_task(delivery_id: int) -> str | None:
    """Post one webhook delivery (a no-op when it is not due or already taken)."""
    from webhooks import deliver

    outcome = deliver(delivery_id, now=utcnow())
    return outcome.value if outcome else None


@huey.periodic_task(crontab(minute="*"))
@_with_app_context
def sweep_webhooks_task() -> int:
    """Every minute: rescue webhook deliveries whose task was lost and post what is due."""
    from webhooks import sweep

    due = sweep(utcnow())
    for delivery_id in due:
        deliver_webhook_task(delivery_id)
    return len(due)


@huey.periodic_task(crontab(minute="*"))
@_with_app_context
def finalise_attempts_task() -> int:
    """Every minute: submit and score attempts whose deadline has passed (a request may do it first)."""
    from assessments.delivery import overdue_attempts, submit
    from assessments.models import Attempt
    from database import unit_of_work

    now = utcnow()
    done = 0
    for attempt_id in overdue_attempts(now):
        with unit_of_work():
            attempt = db.session.get_one(Attempt, attempt_id)
            done += submit(attempt, now, by="deadline")
    return done


@huey.periodic_task(crontab(minute="*/10"))
@_with_app_context
def send_reminders_task() -> int:
    """Every ten minutes: email the reminders that are due (each one in its own unit of work)."""
    from assessments.invitations import due_reminders, send_reminder
    from assessments.models import Invitation
    from database import unit_of_work

    now = utcnow()
    sent = 0
    for invitation_id in due_reminders(now):
        with unit_of_work():
            sent += send_reminder(db.session.get_one(Invitation, invitation_id), now)
    return sent


@huey.task()
@_with_app_context
def process_batch_task(batch_id: int) -> int:
    """Send a bulk invitation a chunk at a time until it is done (a no-op when another worker holds it)."""
    from assessments.batches import process_batch

    chunks = 0
    while process_batch(batch_id, utcnow()):
        chunks += 1
    return chunks


@huey.periodic_task(crontab(minute="*"))
@_with_app_context
def resume_batches_task() -> int:
    """Every minute: resume bulk invitations whose task was lost (queued or running past their lease)."""
    from assessments.batches import stalled_batches

    stalled = stalled_batches(utcnow())
    for batch_id in stalled:
        process_batch_task(batch_id)
    return len(stalled)


@huey.task()
@_with_app_context
def render_report_task(job_id: int) -> str | None:
    """Render one report job in the consumer's pool of render processes (a no-op when taken or finished)."""
    from reports.jobs import run_job

    status = run_job(job_id, utcnow())
    return status.value if status else None


@huey.periodic_task(crontab(minute="*"))
@_with_app_context
def sweep_report_jobs_task() -> int:
    """Every minute: re-enqueue report jobs whose task was lost, and fail those out of attempts."""
    from reports.jobs import sweep

    due = sweep(utcnow())
    for job_id in due:
        render_report_task(job_id)
    return len(due)


@huey.periodic_task(crontab(minute="0", hour="3"))
@_with_app_context
def retention_task() -> int:
    """Daily at 03:00 UTC: erase the candidates past their agency's retention period (one unit of work each)."""
    from candidates.privacy import enforce_retention

    report = enforce_retention(utcnow(), dry_run=False)
    log.info("retention: %d due, %d erased, %d failed", report.due, report.erased, report.failed)
    return report.erased


def queue_name() -> str:
    """Where the queue lives, for messages: Redis's host and port (never its password), or the SQLite file."""
    if isinstance(huey, RedisHuey):
        url = urlsplit(os.environ.get("REDIS_URL", ""))
        return f"Redis at {url.hostname or 'localhost'}:{url.port or 6379}"
    return f"the queue file {huey.storage_kwargs.get('filename', '')}"


def queue_problem() -> str | None:
    """None when the queue's storage answers; else one line saying it does not and what to check."""
    try:
        huey.pending_count()
    except Exception as exc:
        hint = "start Redis, or check REDIS_URL" if isinstance(huey, RedisHuey) else "check that its folder is writable"
        return f"The task queue ({queue_name()}) does not answer ({type(exc).__name__}): {hint}."
    return None


def queue_status(now: datetime) -> dict[str, Any]:
    """Whether the queue's storage answers, how many tasks wait, and when a consumer last swept."""
    try:
        pending = huey.pending_count()
    except Exception as exc:  # reported by /healthz, never raised
        log.warning("task queue unreachable: %s", type(exc).__name__)
        return {"status": "unavailable", "detail": f"The task queue ({queue_name()}) does not answer."}
    try:
        beat = db.session.scalar(select(TaskHeartbeat.beat_at).where(TaskHeartbeat.name == "sweep"))
    except Exception as exc:  # the database is down or not migrated: the queue itself still answered
        log.warning("consumer heartbeat unreadable: %s", type(exc).__name__)
        db.session.rollback()
        return {"status": "ok", "pending": pending, "consumer": "unknown", "last_sweep_at": None}
    consumer = "never seen" if beat is None else ("ok" if now - beat <= CONSUMER_STALE_AFTER else "stale")
    return {
        "status": "ok",
        "backend": "redis" if isinstance(huey, RedisHuey) else "sqlite",
        "pending": pending,
        "consumer": consumer,
        "last_sweep_at": beat.isoformat() if beat else None,
    }
