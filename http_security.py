"""The web security baseline: security headers on every response, generic error pages,
CSRF failures explained and audited, and log records scrubbed of tokens."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from flask import Flask, g, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)

ERROR_MESSAGES = {
    400: ("The request could not be understood", "Something in the request was not right. Go back and try again."),
    401: ("Please sign in", "You need to sign in to see this page."),
    403: ("Not allowed", "Your account does not give you access to this page."),
    404: ("Page not found", "The page does not exist, or you do not have access to it."),
    405: ("Not allowed", "This page cannot be used that way."),
    413: ("Too much data", "What you sent is too large. Send less and try again."),
    422: ("Please check the form", "Some of what you entered needs correcting."),
    429: ("Too many requests", "Please wait a little and try again."),
    500: ("Something went wrong", "We could not finish your request. Nothing was changed. Please try again."),
    503: ("Temporarily unavailable", "Rapport is busy or down for a moment. Please try again shortly."),
}


def set_security_headers(response: Response) -> Response:
    """CSP and the other headers on every response, errors and static files included."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store, private"
        headers.add_header("Vary", "Cookie")
    return response


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that a body nested too deeply to parse is bad input (ValueError, so a
    `get_json(silent=True)` gives None and the view answers 400) rather than a RecursionError and a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def install(app: Flask) -> None:
    """Register the headers, the error pages and the log scrubber on the app."""
    app.json = BoundedJSONProvider(app)
    app.after_request(set_security_headers)
    if app.config.get("HSTS"):

        @app.after_request
        def _hsts(response: Response) -> Response:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
            return response

    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(DBAPIError, _database_cannot_store)
    app.register_error_handler(Exception, _unexpected_error)
    for handler in logging.getLogger().handlers + logging.getLogger("werkzeug").handlers:
        handler.addFilter(ScrubTokens())
    logging.getLogger("werkzeug").addFilter(ScrubTokens())


def render_error(status: int, detail: str | None = None) -> tuple[str, int]:
    title, message = ERROR_MESSAGES.get(status, ERROR_MESSAGES[500] if status >= 500 else ERROR_MESSAGES[400])
    return render_template("errors/error.html", status=status, title=title, message=detail or message), status


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    if is_api_request():
        from api.base import api_problem_for

        allowed = getattr(error, "valid_methods", None)
        headers = {"Allow": ", ".join(allowed)} if status == 405 and allowed else None
        return api_problem_for(status, headers=headers)
    detail = (
        error.description
        if status == 400 and error.description and not error.description.startswith("The browser")
        else None
    )
    body, status = render_error(status, detail)
    response = Response(body, status=status, mimetype="text/html")
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    from accounts.access import deny

    deny(reason="csrf")
    return render_error(400, "Your form had expired or did not come from this site. Reload the page and try again.")


def _database_unavailable(error: OperationalError) -> Any:
    """The database went away (a restart, a failover), stayed locked, or cannot store data (a full disk, a read-only
    file): answer 503 with a retry hint, at once, and say which in the log.

    SQLAlchemy drops the pool's connections when it sees a disconnect, so the next request reconnects;
    no request waits on a dead connection and the process needs no restart.
    """
    from database import db, storage_problem
    from extensions import login_manager

    problem = storage_problem(error)
    if problem:  # a full disk, a read-only file: someone has to act, and the log says what
        log.error("database cannot store data on %s %s: %s", request.method, request.url_rule, problem)
    else:
        log.warning("database unavailable on %s %s: %s", request.method, request.url_rule, type(error.orig).__name__)

    db.session.rollback()  # let the pool drop the dead connection; the next request reconnects
    g._login_user = login_manager.anonymous_user()  # the error page must not query the database again
    if is_api_request():
        from api.base import api_problem_for

        response = api_problem_for(503)
    elif request.is_json or request.accept_mimetypes.best == "application/json":
        message = STORAGE_JSON_MESSAGE if problem else BUSY_JSON_MESSAGE
        response = Response(json.dumps({"error": message}), status=503, mimetype="application/json")
    else:
        body, _ = render_error(503, STORAGE_PAGE_MESSAGE if problem else None)
        response = Response(body, status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _database_cannot_store(error: DBAPIError) -> Any:
    """PostgreSQL refusing to store data arrives as another class than OperationalError (a read-only database is an
    InternalError, SQLSTATE 25006): the same 503 as a read-only SQLite file; any other database error is a 500."""
    from database import storage_problem

    if storage_problem(error):
        return _database_unavailable(error)  # type: ignore[arg-type]
    return _unexpected_error(error)


RETRY_AFTER_SECONDS = 2
BUSY_JSON_MESSAGE = "The service is busy for a moment. Your answer is kept; it will be sent again."
# When the database cannot store anything (a full disk, a read-only file): saving fails until an operator acts.
STORAGE_PAGE_MESSAGE = "Rapport cannot save changes at the moment. Nothing was changed. Please try again later."
STORAGE_JSON_MESSAGE = "The server cannot save answers at the moment. Your answer is kept; it will be sent again."


def _unexpected_error(error: Exception) -> Any:
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.exception("unhandled error on %s %s", request.method, request.url_rule)
    return _http_error(InternalServerError())


# A route pattern's placeholder ("/t/<token>" in the access line) is not a token and stays readable.
TOKEN_PATH = re.compile(r"(/password/(?:reset|setup)/|/t/|/r/)(?!<\w+>(?:[\s/?\"]|$))[^\s/?\"]+")


class ScrubTokens(logging.Filter):
    """Mask link tokens in log lines (the request log includes paths)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(TOKEN_PATH.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = TOKEN_PATH.sub(r"\1[redacted]", record.msg)
        return True
