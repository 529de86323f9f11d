"""GET /healthz: whether the database answers at the migrated schema, whether the task queue answers, and
whether the email and webhook outboxes are keeping up."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import String, func, or_, select, text
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.wrappers import Response

from accounts.access import access
from database import Model, db, independent_unit_of_work, utcnow

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class TaskHeartbeat(Model):
    """When a periodic task last ran: tells /healthz whether a consumer is alive. (Here rather than in tasks.py, so
    that a web worker need not import the task queue, Huey and its storage drivers, to serve /healthz or to start.)"""

    __tablename__ = "task_heartbeat"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(nullable=False)


def record_heartbeat(name: str, now: datetime) -> None:
    """Upsert the time a periodic task ran, in a unit of work of its own."""
    with independent_unit_of_work() as session:
        row = session.get(TaskHeartbeat, name)
        if row is None:
            session.add(TaskHeartbeat(name=name, beat_at=now))
        else:
            row.beat_at = now


@cache
def schema_head() -> str | None:
    """The newest Alembic revision shipped with this code."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def database_status() -> dict[str, str]:
    try:
        revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:
        log.warning("database unreachable or not migrated: %s", type(exc).__name__)
        db.session.rollback()
        return {"status": "unavailable"}
    if revision != schema_head():
        return {"status": "schema not up to date", "backend": db.engine.dialect.name}
    return {"status": "ok", "backend": db.engine.dialect.name}


FAILED_WINDOW = timedelta(hours=24)


def backlog_of(model: Any, now: datetime, *, queued: Any, sending: Any, failed: Any) -> dict[str, Any]:
    """One outbox's backlog: rows due now (queued and due, or sending past their lease: their worker is gone),
    the age of the oldest, and the rows failed in the last 24 hours. Aggregates over the status index."""
    due_since = func.min(func.coalesce(model.lease_expires_at, model.next_attempt_at))
    count, oldest = db.session.execute(
        select(func.count(), due_since).where(
            or_(
                (model.status == queued) & (model.next_attempt_at <= now),
                (model.status == sending) & (model.lease_expires_at < now),
            )
        )
    ).one()
    # A failed row keeps the time of its last attempt in next_attempt_at (there is no failed_at).
    failed_recently = db.session.scalar(
        select(func.count()).where(model.status == failed, model.next_attempt_at >= now - FAILED_WINDOW)
    )
    oldest_seconds = int((now - oldest).total_seconds()) if oldest is not None else None
    behind = oldest_seconds is not None and oldest_seconds > current_app.config["OUTBOX_BACKLOG_ALERT_SECONDS"]
    return {
        "status": "behind" if behind else "ok",
        "due": count,
        "oldest_due_seconds": oldest_seconds,
        "failed_24h": failed_recently,
    }


def outbox_status(now: datetime) -> dict[str, Any]:
    """The email and webhook outboxes' backlogs; "behind" when either has waited past OUTBOX_BACKLOG_ALERT_SECONDS."""
    from mailer import EmailMessage, EmailStatus
    from webhooks import DeliveryStatus, WebhookDelivery

    try:
        email = backlog_of(
            EmailMessage, now, queued=EmailStatus.QUEUED, sending=EmailStatus.SENDING, failed=EmailStatus.FAILED
        )
        webhooks = backlog_of(
            WebhookDelivery,
            now,
            queued=DeliveryStatus.QUEUED,
            sending=DeliveryStatus.SENDING,
            failed=DeliveryStatus.FAILED,
        )
    except Exception as exc:  # reported by /healthz, never raised
        log.warning("outbox unreadable: %s", type(exc).__name__)
        db.session.rollback()
        return {"status": "unknown"}
    status = "ok" if email["status"] == webhooks["status"] == "ok" else "behind"
    return {"status": status, "email": email, "webhooks": webhooks}


@bp.get("/healthz")
@access(roles=None)
def healthz() -> tuple[Response, int]:
    from tasks import queue_status  # the queue's modules load on the first check, not at a worker's start

    now = utcnow()
    database = database_status()
    queue = queue_status(now)
    outbox = outbox_status(now) if database["status"] == "ok" else {"status": "unknown"}
    healthy = database["status"] == "ok" and queue["status"] == "ok" and outbox["status"] == "ok"
    body = {"status": "ok" if healthy else "unavailable", "database": database, "queue": queue, "outbox": outbox}
    return jsonify(body), 200 if healthy else 503
