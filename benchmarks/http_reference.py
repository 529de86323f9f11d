"""The minimal reference app for benchmarks/http.py: Flask hello, a minimal item page and a minimal autosave.

Served by gunicorn exactly like the real app (`benchmarks.http_reference:create_reference_app()`, same
workers, same environment). It is honest on purpose, the floor a real endpoint is compared with:

- GET /hello: Flask's hello world (the run is void unless the references reach half of its req/s).
- GET /ref/item/<n>: one row by primary key from the same database through SQLAlchemy's ORM, rendered
  with a cached Jinja template (render_template, compiled once per worker): a ~1 KB stem and 5 options.
- POST /ref/answers: JSON in, one upsert (INSERT ... ON CONFLICT DO UPDATE ... RETURNING) and a commit
  before the reply, JSON out. On SQLite with the app's settings: WAL, synchronous=FULL, a busy timeout,
  the app's write queue and BEGIN IMMEDIATE for the write transaction.

No session, no CSRF, no tenant checks, no security headers: those are what the real app adds. The
reply echoes the X-CSRFToken header so that the same wrk script can track each candidate's revision.
"""

from __future__ import annotations

import contextvars
import os
from datetime import UTC, datetime
from typing import Any

from flask import Flask, abort, jsonify, render_template, request
from jinja2 import DictLoader
from sqlalchemy import JSON, DateTime, Integer, Text, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from database import begin_sqlite_transactions


class Base(DeclarativeBase):
    pass


class BenchItem(Base):
    """One item as the reference page shows it: the stem and the option texts, in one row."""

    __tablename__ = "bench_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    stem: Mapped[str] = mapped_column(Text, nullable=False)
    options: Mapped[list[str]] = mapped_column(JSON, nullable=False)


class BenchAnswer(Base):
    """One saved answer per (candidate, item), with a revision counter."""

    __tablename__ = "bench_answer"

    candidate: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    item: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    answer: Mapped[Any] = mapped_column(JSON, nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


ITEM_TEMPLATE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Situation {{ number }}</title></head>
<body>
<main>
<article class="item">
  <h2>Situation {{ number }}</h2>
  <div class="stem"><p>{{ item.stem }}</p></div>
  <form method="post">
  {% for option in item.options %}
    <label><input type="radio" name="choice" value="{{ loop.index }}"> {{ option }}</label>
  {% endfor %}
  </form>
</article>
</main>
</body>
</html>
"""


def database_url() -> str:
    raw = os.environ["DATABASE_URL"]
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


_writing: contextvars.ContextVar[bool] = contextvars.ContextVar("reference_writing", default=False)


def make_engine(url: str) -> Any:
    """An engine with the app's SQLite settings (WAL, synchronous=FULL, busy timeout, write queue, BEGIN IMMEDIATE)."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

        begin_sqlite_transactions(engine, _writing.get)  # the app's: the write queue, then BEGIN IMMEDIATE

    return engine


def create_tables(url: str) -> None:
    """Create the reference tables in the benchmark's database (called by benchmarks/http.py)."""
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()


def create_reference_app() -> Flask:
    app = Flask(__name__)
    app.jinja_loader = DictLoader({"item.html": ITEM_TEMPLATE})  # type: ignore[assignment]
    engine = make_engine(database_url())
    sessions = sessionmaker(engine, expire_on_commit=False)
    insert = sqlite_insert if engine.dialect.name == "sqlite" else pg_insert

    @app.get("/hello")
    def hello() -> str:
        return "Hello, World!"

    @app.get("/ref/item/<int:number>")
    def item(number: int) -> str:
        with sessions() as session:
            row = session.get(BenchItem, number)
            if row is None:
                abort(404)
            return render_template("item.html", item=row, number=number)

    @app.post("/ref/answers")
    def answers() -> Any:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return jsonify(error="Send item, answer and revision."), 400
        candidate = int(request.headers.get("X-Bench-Session", "0"))
        now = datetime.now(UTC)
        statement = insert(BenchAnswer).values(
            candidate=candidate, item=payload["item"], answer=payload["answer"], revision=1, saved_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=[BenchAnswer.candidate, BenchAnswer.item],
            set_={
                "answer": statement.excluded.answer,
                "revision": BenchAnswer.revision + 1,
                "saved_at": statement.excluded.saved_at,
            },
        ).returning(BenchAnswer.revision)
        token = _writing.set(True)
        try:
            with Session(engine) as session, session.begin():
                revision = session.execute(statement).scalar_one()
        finally:
            _writing.reset(token)
        return jsonify(revision=revision, saved_at=now.isoformat(), csrf_token=request.headers.get("X-CSRFToken", ""))

    return app
