"""The production path of background work: a real `flask worker` consumer process delivers what
a separate process queued, through Huey's SQLite storage; and Redis storage is chosen by REDIS_URL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import CI
from tests.processes import ROOT, process_env

QUEUE_ONE_EMAIL = """
from app import create_app
from database import unit_of_work, utcnow
from mailer import queue_email
app = create_app()
with app.app_context(), unit_of_work():
    queue_email(to="someone@worker.example", template="password_reset",
                values={"name": "Worker Test", "link": "https://x.example/y", "minutes": "30"},
                now=utcnow(), agency_id=None)
"""


@pytest.fixture
def sqlite_env(tmp_path, sqlite_template, smtp_server):
    database = tmp_path / "rapport.db"
    database.write_bytes(sqlite_template.read_bytes())
    return process_env(tmp_path, f"sqlite:///{database}", smtp_port=smtp_server[1]), database


def status_of_email(database: Path) -> str | None:
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT status FROM email_message")).scalar()
    finally:
        engine.dispose()


def test_a_worker_process_delivers_what_another_process_queued(sqlite_env, mailbox):
    env, database = sqlite_env
    subprocess.run([sys.executable, "-c", QUEUE_ONE_EMAIL], cwd=ROOT, env=env, check=True, timeout=60)
    assert status_of_email(database) == "queued"  # nothing delivered it yet: it waits in the queue
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "worker", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and status_of_email(database) != "sent":
            time.sleep(0.2)
    finally:
        worker.send_signal(2)  # SIGINT: Huey's graceful shutdown
        worker.wait(timeout=30)
    assert status_of_email(database) == "sent"
    assert [m["To"] for m in mailbox.messages] == ["someone@worker.example"]


def test_redis_storage_is_chosen_by_redis_url(monkeypatch):
    from huey import RedisHuey, SqliteHuey

    import tasks

    monkeypatch.delenv("TASKS_IMMEDIATE", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert isinstance(tasks.create_huey(), SqliteHuey)
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("REDIS_URL", url)
    huey = tasks.create_huey()
    assert isinstance(huey, RedisHuey)
    try:
        assert huey.pending_count() >= 0
    except Exception as exc:
        if CI:
            pytest.fail(f"Redis not reachable at {url}: {exc}")
        pytest.skip(f"Redis not reachable at {url}")
