"""GET /healthz: whether the database answers at the migrated schema, and whether the task queue answers."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from flask import Blueprint, jsonify
from sqlalchemy import text
from werkzeug.wrappers import Response

from accounts.access import access
from database import db, utcnow
from tasks import queue_status

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


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


@bp.get("/healthz")
@access(roles=None)
def healthz() -> tuple[Response, int]:
    database = database_status()
    queue = queue_status(utcnow())
    healthy = database["status"] == "ok" and queue["status"] == "ok"
    body = {"status": "ok" if healthy else "unavailable", "database": database, "queue": queue}
    return jsonify(body), 200 if healthy else 503
