"""Production serving: gunicorn with the repository's gunicorn.conf.py, and `flask worker` beside it,
both stopped by SIGTERM as systemd and container runtimes do (docs/deploy.md)."""

from __future__ import annotations

import json
import os
import re
import runpy
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.conftest import free_port
from tests.processes import (
    GUNICORN_CONFIG,
    ROOT,
    STARTUP_SECONDS,
    alive,
    children_of,
    fetch_health,
    process_env,
    wait_for,
)

CONFIG = GUNICORN_CONFIG


def load_gunicorn_config(monkeypatch: pytest.MonkeyPatch, **env: str | None) -> dict[str, Any]:
    for name in ("WEB_CONCURRENCY", "BIND", "PORT", "FORWARDED_ALLOW_IPS", "GUNICORN_LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        if value is not None:
            monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_the_config_file_serves_with_sync_workers_and_no_access_log(monkeypatch):
    settings = load_gunicorn_config(monkeypatch)
    assert settings["worker_class"] == "sync"
    assert settings["workers"] >= 2
    assert settings["workers"] == max(2, 2 * (os.cpu_count() or 1))
    assert settings["accesslog"] is None  # the app logs access lines without paths that hold tokens
    assert settings["preload_app"] is False  # each worker opens its own connections after the fork
    assert settings["bind"] == ["127.0.0.1:5000"]
    assert settings["forwarded_allow_ips"] == "127.0.0.1"
    assert settings["timeout"] == settings["graceful_timeout"] == 30
    # Recycled, but rarely: while a new worker imports the app the other serves alone (benchmarks/load.py saw
    # restarts every 20,000 requests take the p99 at 10,000 candidates from 44 ms to 210 ms).
    assert settings["max_requests"] >= 500_000 and settings["max_requests_jitter"] > 0
    assert settings["wsgi_app"] == "wsgi:application"


def test_the_config_file_takes_workers_and_address_from_the_environment(monkeypatch):
    settings = load_gunicorn_config(monkeypatch, WEB_CONCURRENCY="5", PORT="8123")
    assert settings["workers"] == 5
    assert settings["bind"] == ["127.0.0.1:8123"]
    settings = load_gunicorn_config(monkeypatch, BIND="0.0.0.0:9000", GUNICORN_LOG_LEVEL="info")
    assert settings["bind"] == ["0.0.0.0:9000"] and settings["loglevel"] == "info"


@pytest.fixture
def serving_env(tmp_path, sqlite_template):
    database = tmp_path / "rapport.db"
    database.write_bytes(sqlite_template.read_bytes())
    # nothing is sent: no email is queued
    return process_env(tmp_path, f"sqlite:///{database}", smtp_port=free_port())


def test_gunicorn_with_the_config_file_serves_and_stops_on_sigterm(serving_env, tmp_path):
    port = free_port()
    env = {**serving_env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2", "GUNICORN_LOG_LEVEL": "info"}
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONFIG)], cwd=ROOT, env=env, stdout=out, stderr=out
        )
        try:

            def answers() -> bool:
                try:
                    fetch_health(port)
                except (OSError, ValueError):
                    return False
                return True

            wait_for(answers, STARTUP_SECONDS, "gunicorn answering /healthz", log)
            status, body = fetch_health(port)
            # The database is migrated; no consumer runs, so the queue may be reported as not yet seen.
            assert status in (200, 503)
            assert body["database"]["status"] == "ok"
            assert body["queue"]["status"] == "ok"
            assert len(children_of(server.pid)) == 2  # requests are served by the two workers
            workers = children_of(server.pid)

            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=30 + 15)  # graceful_timeout, and a margin for a busy machine
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    assert code == 0, log.read_text(errors="replace")[-3000:]
    assert not any(alive(pid) for pid in workers)


WSGI_CHILD = """
import gc, json, sys
during_build = []  # collections from the app's first import to wsgi's freeze (compiling wsgi.py may come before)


def seen(phase, info):
    if phase == "start" and "app" in sys.modules and not gc.get_freeze_count():
        during_build.append(info["generation"])


gc.callbacks.append(seen)
import wsgi
built = {"collections": len(during_build), "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
built["login"] = wsgi.application.test_client().get("/login").status_code
print(json.dumps(built))
"""


def test_the_served_app_is_built_with_the_collector_paused_then_frozen_and_switched_back_on(serving_env):
    done = subprocess.run(
        [sys.executable, "-c", WSGI_CHILD], cwd=ROOT, env=serving_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    built = json.loads(done.stdout.strip().splitlines()[-1])
    assert built["collections"] == 0  # without the pause, about 275 while the app is built
    assert built["enabled"] is True  # garbage made while serving is collected
    assert built["frozen"] > 50_000  # the app's own objects: out of every later collection's way
    assert built["login"] == 200


@pytest.mark.parametrize(
    ("stop_signal", "periodic"),
    [(signal.SIGTERM, "--periodic"), (signal.SIGINT, "--no-periodic")],
    ids=["SIGTERM", "SIGINT"],
)
def test_the_worker_stops_gracefully_and_takes_its_render_children_with_it(
    serving_env, tmp_path, stop_signal, periodic
):
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", "--workers", "1", periodic],
            cwd=ROOT,
            env=serving_env,
            stdout=out,
            stderr=out,
        )
        try:
            # Huey logs its task list just before installing its signal handlers.
            wait_for(lambda: "commands are available" in log.read_text(errors="replace"), STARTUP_SECONDS, "start", log)
            time.sleep(0.5)
            render_children = children_of(worker.pid)
            assert render_children, "the consumer starts its render pool"

            started = time.monotonic()
            worker.send_signal(stop_signal)
            code = worker.wait(timeout=30)
            took = time.monotonic() - started
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    output = log.read_text(errors="replace")
    assert code == 0, output[-3000:]
    assert took < 15, output[-3000:]
    assert re.search(r"Received SIG(TERM|INT)", output) and "Shutting down gracefully" in output, output[-3000:]
    assert "All workers have stopped" in output, output[-3000:]
    # With many consumers, one schedules the sweeps and reminders (docs/deploy.md).
    assert f"Periodic tasks are {'enabled' if periodic == '--periodic' else 'disabled'}" in output
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in render_children):
        time.sleep(0.1)
    assert not any(alive(pid) for pid in render_children), "no orphaned render children"
