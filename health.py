"""GET /healthz: whether the database and the task queue answer."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy import text
from werkzeug.wrappers import Response

from accounts.access import access
from database import db, utcnow
from tasks import queue_status

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
@access(roles=None)
def healthz() -> tuple[Response, int]:
    try:
        db.session.execute(text("SELECT 1"))
        database = {"status": "ok", "backend": db.engine.dialect.name}
    except Exception as exc:
        log.warning("database unreachable: %s", type(exc).__name__)
        db.session.rollback()
        database = {"status": "unavailable"}
    queue = queue_status(utcnow())
    healthy = database["status"] == "ok" and queue["status"] == "ok"
    body = {"status": "ok" if healthy else "unavailable", "database": database, "queue": queue}
    return jsonify(body), 200 if healthy else 503
