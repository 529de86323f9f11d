"""Real processes for tests that need them: gunicorn with the repository's config, `flask worker`, and
the environment both read (docs/deploy.md). Used by the serving, worker, multi-process and fault tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONFIG = ROOT / "gunicorn.conf.py"
STARTUP_SECONDS = 60  # generous: the CI machine is busy


def process_env(
    instance: Path, database_url: str, *, smtp_port: int, redis_url: str | None = None, **extra: str
) -> dict[str, str]:
    """The environment of a web or worker process on `database_url`, with nothing of the developer's
    settings or the test process's in-process task mode. Without `redis_url` the queue is Huey's SQLite
    file in `instance`."""
    env = {k: v for k, v in os.environ.items() if k not in {"TASKS_IMMEDIATE", "REDIS_URL", "DATABASE_URL"}}
    env.update(
        {
            "RAPPORT_INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url,
            "HUEY_SQLITE_PATH": str(instance / "huey.db"),
            "SECRET_KEY": TEST_SECRET,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "ARGON2_MEMORY_COST": "8192",
            "FLASK_APP": "app",
            "REPORT_RENDER_PROCESSES": "1",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def spawn_web(env: dict[str, str], port: int, log: Path, workers: int = 2, **extra: str) -> subprocess.Popen[bytes]:
    """gunicorn with gunicorn.conf.py on 127.0.0.1:`port`, its output appended to `log`."""
    env = {**env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers), "GUNICORN_LOG_LEVEL": "info", **extra}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG)], cwd=ROOT, env=env, stdout=out, stderr=out
        )


def spawn_worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`flask worker` (one consumer thread unless `args` say otherwise), its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", *(args or ("--workers", "1"))],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )


def wait_for(condition: Callable[[], bool], seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen within {seconds} s:\n{log.read_text(errors='replace')[-3000:]}")


def fetch_health(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_until_serving(port: int, log: Path) -> None:
    def answers() -> bool:
        try:
            fetch_health(port)
        except (OSError, ValueError):
            return False
        return True

    wait_for(answers, STARTUP_SECONDS, f"a web process answering on port {port}", log)


def wait_until_consuming(log: Path) -> None:
    # Huey logs its task list just before installing its signal handlers.
    wait_for(lambda: "commands are available" in log.read_text(errors="replace"), STARTUP_SECONDS, "consumer", log)
    time.sleep(0.5)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 45) -> int:
    """Send `sig` and wait; a process still running after `timeout` is killed. Returns the exit code."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def stop_all(processes: list[subprocess.Popen[bytes]], sig: int = signal.SIGTERM, timeout: float = 45) -> list[int]:
    """Send `sig` to every process at once, then wait for them all (so graceful stops overlap); any still
    running after `timeout` is killed. Returns the exit codes, in order."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(sig)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return [process.returncode for process in processes]


def children_of(pid: int) -> set[int]:
    """Live processes whose parent is `pid`, read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name, in parentheses, may hold spaces: the fields after its closing one are fixed.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"
