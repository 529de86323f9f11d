"""The set-up the benchmarks that serve or seed the real app share (http.py, growth.py, load.py).

A fresh database per run, the environment the app reads, gunicorn started and stopped, the git revision measured,
the signals that must still run the clean-up, and a row appended to benchmarks/RESULTS.md. Each script puts the
repository on sys.path itself (it must, before it can import this module) and then imports it as
benchmarks.common.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


# --- Seeding ----------------------------------------------------------------------------------------------


def expect(condition: bool, message: str) -> None:
    """Raise RuntimeError("seeding failed: ...") unless the condition holds."""
    if not condition:
        raise RuntimeError(f"seeding failed: {message}")


@contextlib.contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database for the backend; removed afterwards (PostgreSQL: dropped with FORCE)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'rapport-bench.db'}"
        return
    import psycopg

    name = f"rapport_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare_environment(folder: Path) -> None:
    """The settings the app (here and under gunicorn) reads: a throwaway instance folder and secret key."""
    for name in ("DATABASE_URL", "REDIS_URL", "RAPPORT_ENV", "BASE_URL", "TASKS_IMMEDIATE", "HUEY_SQLITE_PATH"):
        os.environ.pop(name, None)
    for name in ("SECRET_KEY_FALLBACKS", "PROXY_FIX_X_FOR", "SESSION_ABSOLUTE_HOURS", "MAX_CONTENT_LENGTH"):
        os.environ.pop(name, None)
    os.environ["RAPPORT_INSTANCE_PATH"] = str(folder)
    os.environ["SECRET_KEY"] = secrets.token_hex(32)


# --- The server -------------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gunicorn_binary() -> str:
    """The venv's gunicorn, else the one on PATH."""
    local = Path(sys.executable).parent / "gunicorn"
    return str(local) if local.exists() else "gunicorn"


@contextlib.contextmanager
def serve(
    command: list[str], cwd: Path, env: dict[str, str], log: Path, port: int, stop_timeout: float
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a gunicorn command (its output appended to `log`) until the block ends; yield its process once it
    answers on 127.0.0.1:`port`. Stopped with SIGTERM on the way out, errors included; killed after
    `stop_timeout` seconds. Raises RuntimeError when it exits or stays silent for 60 s."""
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_listening(process, port, log)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Return once an HTTP answer comes from 127.0.0.1:`port`; raise RuntimeError if gunicorn exits or 60 s pass."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}): {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer (404 included) means a worker is serving
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on 127.0.0.1:{port} within 60 s")


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # run the finally blocks: stop gunicorn, drop the databases, remove the folder


def stop_cleanly_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit, so that the clean-up in the finally blocks still runs."""
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)


# --- Recording --------------------------------------------------------------------------------------------


def git_revision(revision: str | None) -> str:
    """The short commit, with +dirty when the working tree was measured and tracked files (other than docs/
    and RESULTS.md) have uncommitted changes."""
    head = subprocess.run(["git", "rev-parse", "--short", revision or "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if revision:
        return head.stdout.strip()
    dirty = subprocess.run(
        ["git", "diff", "--quiet", "HEAD", "--", ".", ":(exclude)benchmarks/RESULTS.md", ":(exclude)docs"],
        cwd=ROOT,
        capture_output=True,
    )
    return head.stdout.strip() + ("+dirty" if dirty.returncode else "")


def command_line(script: str, argv: list[str] | None) -> str:
    """The command as RESULTS.md shows it: the script's path in the repository and its arguments."""
    return shlex.join([script, *(argv if argv is not None else sys.argv[1:])])


def utc_minute() -> str:
    """Now, in UTC to the minute: the date column of RESULTS.md."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")


def append_result(date: str, revision: str, command: str, figure: str, target: str, verdict: str) -> None:
    """Append one row to benchmarks/RESULTS.md (its header is written by benchmarks/scoring.py's format)."""
    if not RESULTS.exists():
        from benchmarks.scoring import HEADER

        RESULTS.write_text(HEADER, encoding="utf-8")
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write(f"| {date} | {revision} | `{command}` | {figure} | {target} | {verdict} |\n")
