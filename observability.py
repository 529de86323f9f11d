"""Logs an operator can search: a request id on every request and log line, one access line per request,
and JSON or text formatting. No log line carries a path, a query string, a token or personal data."""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
import traceback
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request
from werkzeug.wrappers import Response

from http_security import TOKEN_PATH

REQUEST_ID_HEADER = "X-Request-Id"
# What a load balancer's id looks like; anything else (spaces, newlines, long text) is replaced, never logged.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
ACCESS_LOG = logging.getLogger("rapport.request")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def request_id() -> str:
    """The current request's id: the incoming X-Request-Id when it looks like one, else a new random id."""
    rid: str | None = g.get("request_id")
    if rid is None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        rid = incoming if VALID_REQUEST_ID.fullmatch(incoming) else secrets.token_hex(16)
        g.request_id = rid
    return rid


def current_request_id() -> str | None:
    """The request id when called inside a request, else None (tasks, CLI)."""
    return request_id() if has_request_context() else None


def scrub(text: str) -> str:
    """Mask link tokens, as the ScrubTokens filter does; applied again here so no handler order can skip it."""
    return TOKEN_PATH.sub(r"\1[redacted]", text)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, message, request_id, the access fields, and for an exception
    its type and the frames it passed through. The exception's message and the traceback's source lines are
    left out: they can carry values (SQL parameters, an email address)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        rid = getattr(record, "request_id", None) or current_request_id()
        if rid:
            entry["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _, tb = record.exc_info
            entry["exc_type"] = f"{exc_type.__module__}.{exc_type.__qualname__}"
            entry["exc_frames"] = [
                f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(tb)
            ]
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """Today's readable format with the request id ("-" outside a request); tracebacks in full, for development."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", None) or current_request_id() or "-"
        return scrub(super().format(record))


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter LOG_FORMAT names: "json" or "text"."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(log_format: str) -> None:
    """Send INFO and above to stderr in the chosen format, unless a host (a test runner) already set up logging."""
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, "rapport", False)]
    if ours:
        for handler in ours:
            handler.setFormatter(formatter_for(log_format))
        return
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.rapport = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter_for(log_format))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def install(app: Flask) -> None:
    """Register the request id and the access line; install before other hooks so it runs first and last."""
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_teardown)


def _start() -> None:
    g.request_started = time.perf_counter()
    request_id()


def _finish(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    log_access(response.status_code, response.content_length)
    return response


def _teardown(error: BaseException | None) -> None:
    # Only for requests this app dispatched: test_request_context() and url_for helpers never started one.
    if g.get("request_started") is not None and not g.get("request_logged"):
        log_access(500, None)  # an exception escaped every handler: no response went through _finish


def log_access(status: int, size: int | None) -> None:
    """The access line: method, route pattern (never the path or query), status, duration, size, request id."""
    g.request_logged = True
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    rule = request.url_rule.rule if request.url_rule is not None else "<no route>"
    # A load balancer polls /healthz every few seconds: only its failures are worth a line at INFO.
    level = logging.DEBUG if rule == "/healthz" and status == 200 else logging.INFO
    fields = {
        "method": request.method,
        "route": rule,
        "status": status,
        "duration_ms": duration_ms,
        "size": size,
    }
    ACCESS_LOG.log(level, "%s %s %s %sms", request.method, rule, status, duration_ms, extra={"fields": fields})
