"""Lists: newest changes last, in pages of `limit`, with an opaque signed cursor and an `updated_since` filter.

The cursor signs the last row's (updated_at, public id) and the list it belongs to; a tampered cursor, or one from
another list or another key's agency, is refused with 400.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from flask import current_app, request
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from api.problems import ApiError
from database import db

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
KNOWN_PARAMETERS = {"limit", "cursor", "updated_since"}


def _serializer() -> URLSafeSerializer:
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or []), current_app.config["SECRET_KEY"]]
    return URLSafeSerializer(keys, salt="api-cursor-v1")


def parse_time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"{name} must be a date-time such as 2026-11-23T09:00:00Z.") from None
    if parsed.tzinfo is None:
        raise ApiError(400, f"{name} needs a time zone, such as Z for UTC.")
    return parsed.astimezone(UTC)


def page(
    query: Select[Any],
    *,
    updated: InstrumentedAttribute[datetime],
    ident: InstrumentedAttribute[str],
    kind: str,
    agency: str,
    extra_parameters: Sequence[str] = (),
) -> tuple[list[Any], str | None]:
    """One page of `query` ordered by (updated, ident) after the cursor; the rows and the next cursor."""
    unknown = set(request.args) - KNOWN_PARAMETERS - set(extra_parameters)
    if unknown:
        raise ApiError(400, f"Unknown query parameter: {sorted(unknown)[0]}.")
    raw_limit = request.args.get("limit", str(DEFAULT_LIMIT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    limit = int(raw_limit)
    since = request.args.get("updated_since")
    if since is not None:
        query = query.where(updated >= parse_time(since, "updated_since"))
    cursor = request.args.get("cursor")
    if cursor is not None:
        refused = ApiError(400, "The cursor is not valid: use next_cursor from the previous page as it was given.")
        try:
            data = _serializer().loads(cursor)
            if not isinstance(data, dict) or data.get("k") != kind or data.get("a") != agency:
                raise refused
            after, after_id = datetime.fromisoformat(data["t"]), str(data["i"])
        except (BadData, KeyError, TypeError, ValueError):
            raise refused from None
        query = query.where(or_(updated > after, and_(updated == after, ident > after_id)))
    rows = list(db.session.scalars(query.order_by(updated, ident).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        stamp: datetime = getattr(last, updated.key)
        next_cursor = _serializer().dumps(
            {"k": kind, "a": agency, "t": stamp.isoformat(), "i": getattr(last, ident.key)}
        )
    return rows, next_cursor


def listing(rows: list[Any], next_cursor: str | None, render: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    return {"data": [render(row) for row in rows], "next_cursor": next_cursor}
