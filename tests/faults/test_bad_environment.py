"""Drills for the issue's "bad input and faults" on the machine itself: a full disk, a read-only database, a
database file that cannot be opened, and Redis unreachable at start. Each ends in a plain message (a 503 with a
retry hint on the web, one line and a non-zero exit from `flask`), never a traceback for the user and never
corrupted data; reads go on where SQLite can still read.

The disk drills mount a tiny tmpfs (or a read-only bind mount) as root; without that right they skip, and under
CI=true they fail."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from http_security import STORAGE_JSON_MESSAGE, STORAGE_PAGE_MESSAGE
from tests.conftest import CI, csrf_token, free_port, post
from tests.faults.scene import ANSWERS, FORMATS, close_app, integrity_ok, invite_candidates, make_app, sqlite_rows
from tests.processes import ROOT, fetch_health, process_env, spawn_web, stop, wait_until_serving


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        reason = f"cannot mount ({result.stderr.strip() or result.returncode}): the disk drills need root"
        if CI:
            pytest.fail(f"{reason}; CI=true requires them")
        pytest.skip(reason)


def _unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 6 MB file system of its own (tmpfs), for a database that can fill it."""
    folder = Path(tempfile.mkdtemp(prefix="rapport-disk-"))
    _mount("-t", "tmpfs", "-o", "size=6m,mode=0755", "tmpfs", str(folder))
    try:
        yield folder
    finally:
        _unmount(folder)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def read_only_view(folder: Path) -> Iterator[Path]:
    """The folder again, read-only (a bind mount), as after a disk is remounted read-only."""
    view = Path(tempfile.mkdtemp(prefix="rapport-ro-"))
    _mount("--bind", str(folder), str(view))
    try:
        _mount("-o", "remount,ro,bind", str(view))
        yield view
    finally:
        _unmount(view)
        shutil.rmtree(view, ignore_errors=True)


def fill(disk: Path) -> Path:
    """Write a file until the disk has no room left; returns it (delete it to free the space)."""
    filler = disk / "filler"
    with filler.open("wb") as out, pytest.raises(OSError) as full:
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    assert full.value.errno == errno.ENOSPC
    return filler


def candidate_client(app: Flask, link: str) -> FlaskClient:
    client = app.test_client()
    assert post(client, app, link, {"consent": "yes", "extra_time": "0"}).status_code == 302
    assert post(client, app, "/test/start").status_code == 302
    return client


def autosave(client: FlaskClient, app: Flask, item: int, revision: int = 0) -> object:
    return client.post(
        "/test/answers",
        data=json.dumps({"item": item, "answer": ANSWERS[FORMATS[item - 1]], "revision": revision}),
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client, app)},
    )


def assert_storage_503(response: object, *, json_caller: bool) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[-500:]
    assert int(response.headers["Retry-After"]) > 0
    if json_caller:
        assert response.get_json() == {"error": STORAGE_JSON_MESSAGE}
    else:
        assert STORAGE_PAGE_MESSAGE in response.get_data(as_text=True)


def test_a_full_disk_answers_503_with_a_plain_message_corrupts_nothing_and_passes(small_disk, sqlite_template, caplog):
    database = small_disk / "rapport.db"
    shutil.copyfile(sqlite_template, database)
    app = make_app(f"sqlite:///{database}")
    try:
        [link] = invite_candidates(app, 1)
        client = candidate_client(app, link)
        assert autosave(client, app, 1).status_code == 200
        with sqlite3.connect(database) as connection:  # the next write must grow the WAL file: no room for it
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        filler = fill(small_disk)

        with caplog.at_level(logging.ERROR, logger="http_security"):
            assert_storage_503(autosave(client, app, 2), json_caller=True)
            form = post(client, app, "/test/item/3", {"answer-most": "A", "answer-least": "B", "revision": "0"})
            assert_storage_503(form, json_caller=False)
        assert "The disk holding the database is full" in caplog.text  # the operator's log says what to do
        page = client.get("/test/item/1")  # reading needs no room
        assert page.status_code == 200 and 'name="revision" value="1"' in page.get_data(as_text=True)

        filler.unlink()  # space again: the same process saves, nothing to restart
        assert autosave(client, app, 2).status_code == 200
    finally:
        close_app(app)
    assert integrity_ok(database)
    assert sqlite_rows(database, "SELECT count(*), sum(revision) FROM answer") == [(2, 2)]


def test_a_read_only_database_refuses_writes_with_503_and_still_serves_reads(tmp_path, sqlite_template, caplog):
    database = tmp_path / "rapport.db"
    shutil.copyfile(sqlite_template, database)
    app = make_app(f"sqlite:///{database}")
    [link] = invite_candidates(app, 1)
    client = candidate_client(app, link)
    assert autosave(client, app, 1).status_code == 200
    cookie = client.get_cookie("rapport")
    assert cookie is not None
    close_app(app)

    # The file turns read-only: chmod for an unprivileged process, and opened read-only since tests run as root.
    database.chmod(0o444)
    read_only = make_app(f"sqlite:///file:{database}?mode=ro&uri=true")
    try:
        reader = read_only.test_client()
        reader.set_cookie("rapport", cookie.value)
        page = reader.get("/test/item/1")
        assert page.status_code == 200 and 'name="revision" value="1"' in page.get_data(as_text=True)
        assert reader.get("/healthz").get_json()["database"]["status"] == "ok"
        with caplog.at_level(logging.ERROR, logger="http_security"):
            assert_storage_503(autosave(reader, read_only, 2), json_caller=True)
            form = post(reader, read_only, "/test/item/3", {"answer-most": "A", "answer-least": "B", "revision": "0"})
            assert_storage_503(form, json_caller=False)
        assert "The database is read-only" in caplog.text
    finally:
        close_app(read_only)
        database.chmod(0o644)
    assert integrity_ok(database)
    assert sqlite_rows(database, "SELECT count(*) FROM answer") == [(1,)]


def run_flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    output = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode != 0, output
    assert len(output) == 1 and output[0].startswith(f"Error: {expected}"), output


def test_flask_commands_on_an_unwritable_database_exit_with_one_plain_line(tmp_path, sqlite_template):
    database = tmp_path / "rapport.db"
    shutil.copyfile(sqlite_template, database)
    create = ("create-agency", "Drill Agency", "--admin-email", "admin@drill.example", "--admin-name", "Ada Admin")

    env = process_env(tmp_path, f"sqlite:///file:{database}?mode=ro&uri=true", smtp_port=free_port())
    database.chmod(0o444)
    try:
        assert_one_line_error(run_flask(env, *create), "The database is read-only")
        assert_one_line_error(run_flask(env, "sweep-outbox"), "The database is read-only")
    finally:
        database.chmod(0o644)

    # A folder that turned read-only: SQLite cannot even create the files it reads through (WAL's -shm).
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copyfile(sqlite_template, folder / "rapport.db")
    with read_only_view(folder) as view:
        env = process_env(tmp_path, f"sqlite:///{view / 'rapport.db'}", smtp_port=free_port())
        assert_one_line_error(run_flask(env, "sweep-outbox"), "The database file cannot be opened")
    assert integrity_ok(database)
    assert sqlite_rows(database, "SELECT count(*) FROM agency WHERE name = 'Drill Agency'") == [(0,)]


def test_redis_unreachable_at_start_shows_in_healthz_and_stops_the_worker_with_one_line(tmp_path, sqlite_template):
    database = tmp_path / "rapport.db"
    shutil.copyfile(sqlite_template, database)
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    env = process_env(tmp_path, f"sqlite:///{database}", smtp_port=free_port(), redis_url=closed)

    worker = run_flask(env, "worker", "--workers", "1")
    assert_one_line_error(worker, "The task queue (Redis at 127.0.0.1:")
    assert "start Redis, or check REDIS_URL" in worker.stderr

    log = tmp_path / "web.log"
    port = free_port()
    server = spawn_web(env, port, log, workers=1)
    try:
        wait_until_serving(port, log)
        status, body = fetch_health(port)
        assert status == 503, body
        assert body["queue"]["status"] == "unavailable"
        assert "does not answer" in body["queue"]["detail"] and "Redis at 127.0.0.1" in body["queue"]["detail"]
        assert body["database"]["status"] == "ok"
    finally:
        stop(server)
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text()[-3000:]
    assert os.environ.get("REDIS_URL") is None  # the test process itself never pointed at the closed port


def test_flask_db_upgrade_on_a_read_only_database_exits_with_one_plain_line(tmp_path, sqlite_template):
    """A deploy's `flask db upgrade` on a disk gone read-only: Alembic's progress lines, then one plain line."""
    database = tmp_path / "rapport.db"
    shutil.copyfile(sqlite_template, database)
    env = process_env(tmp_path, f"sqlite:///{database}", smtp_port=free_port())
    assert run_flask(env, "db", "downgrade").returncode == 0  # one migration behind, as before a deploy

    env = process_env(tmp_path, f"sqlite:///file:{database}?mode=ro&uri=true", smtp_port=free_port())
    database.chmod(0o444)
    try:
        result = run_flask(env, "db", "upgrade")
    finally:
        database.chmod(0o644)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-3000:]
    progress = [line for line in output.splitlines() if line.startswith("INFO  [alembic.")]
    rest = [line for line in output.splitlines() if line.strip() and line not in progress]
    assert result.returncode == 1
    assert len(rest) == 1 and rest[0].startswith("Error: The database is read-only"), rest
    assert integrity_ok(database)
