"""Drill: PostgreSQL restarts (and stays down for a moment) under a running gunicorn. Requests fail fast with a
503 and a Retry-After hint (JSON for the page's autosave script), never a 500 and never a hang; the same web
processes serve again once the database is back, without a restart; and a submission caught by the restart is
all or nothing: an attempt is either submitted and scored once, or not submitted at all.

The drill runs its own throwaway cluster on a free port: the shared server on 5432 is never restarted."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CI, _migrate, free_port
from tests.faults.scene import Candidate, Reply, close_app, invite_candidates, make_app
from tests.processes import children_of, fetch_health, process_env, spawn_web, stop, wait_until_serving

FAIL_FAST_SECONDS = 5.0  # a request during the outage answers within this, never waiting for the database


@dataclass
class Cluster:
    bindir: Path
    data: Path
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/rapport"

    def ctl(self, *args: str) -> None:
        """pg_ctl as the postgres user (the server refuses to run as root)."""
        command = [
            "runuser", "-u", "postgres", "--", str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-w", "-t", "30", *args,
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=60)


def _unavailable(reason: str) -> None:
    if CI:
        pytest.fail(f"{reason}; CI=true requires the PostgreSQL fault drill")
    pytest.skip(reason)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A private PostgreSQL cluster on a free port, in a temporary folder owned by the postgres user."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        _unavailable("no PostgreSQL server binaries under /usr/lib/postgresql")
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        _unavailable("starting a private PostgreSQL cluster needs root (to run it as the postgres user)")
    bindir = Path(found[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="rapport-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    data, log = folder / "data", folder / "server.log"
    cluster = Cluster(bindir, data, free_port(), log)
    options = f"-p {cluster.port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off"
    try:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
             "postgres", "--no-sync"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        cluster.ctl("-o", options, "start")
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE rapport")
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(folder, ignore_errors=True)
        _unavailable(f"could not start a private PostgreSQL cluster ({type(exc).__name__}: {detail[-200:]!r})")
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            cluster.ctl("-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


class Saver(threading.Thread):
    """A candidate whose page autosaves over and over until told to stop; every reply is kept."""

    def __init__(self, candidate: Candidate) -> None:
        super().__init__(daemon=True)
        self.candidate = candidate
        self.replies: list[Reply] = []
        self.halt = threading.Event()

    def run(self) -> None:
        item = 0
        while not self.halt.is_set():
            item = item % 4 + 1
            self.replies.append(self.candidate.autosave(item))
            time.sleep(0.02)


def check_outage_reply(reply: Reply, *, json_caller: bool) -> None:
    """A reply while the database is away: 2xx/3xx, or a fast 503 with a retry hint; never a 500."""
    if reply.status < 400:
        return
    assert reply.status == 503, (reply.status, reply.text[-500:])
    assert int(reply.headers["Retry-After"]) > 0
    assert reply.seconds < FAIL_FAST_SECONDS, reply.seconds
    if json_caller:
        assert reply.headers["Content-Type"].startswith("application/json")
        assert "kept" in reply.json()["error"]
    else:
        assert "try again" in reply.text


def submit_until_done(candidate: Candidate, replies: list[Reply]) -> None:
    for _ in range(200):
        reply = candidate.submit()
        replies.append(reply)
        if reply.status == 302:
            return
        time.sleep(0.05)


def attempts_state(url: str) -> list[tuple[bool, int]]:
    """For each attempt: whether it is submitted, and how many results it has."""
    import psycopg

    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        return [
            (submitted, results)
            for submitted, results in conn.execute(
                "SELECT a.submitted_at IS NOT NULL, (SELECT count(*) FROM attempt_result r WHERE r.attempt_id = a.id)"
                " FROM attempt a ORDER BY a.id"
            )
        ]


def test_a_postgresql_restart_answers_503_with_a_retry_hint_and_the_app_recovers_by_itself(cluster, tmp_path):
    _migrate(cluster.url)
    app = make_app(cluster.url)
    links = invite_candidates(app, 6)
    close_app(app)
    env = process_env(tmp_path, cluster.url, smtp_port=free_port())
    log = tmp_path / "web.log"
    port = free_port()
    server = spawn_web(env, port, log, workers=2)
    try:
        wait_until_serving(port, log)
        workers = children_of(server.pid)
        candidates = [Candidate(f"http://127.0.0.1:{port}", link, timeout=30) for link in links]
        for candidate in candidates:
            candidate.begin()
        savers, submitters = candidates[:3], candidates[3:]
        for candidate in submitters:  # complete, ready to submit
            for item in (1, 2, 3, 4):
                assert candidate.autosave(item).status == 200

        # 1. A restart while candidates autosave and others submit.
        threads = [Saver(candidate) for candidate in savers]
        submitted: list[list[Reply]] = [[] for _ in submitters]
        submits = [
            threading.Thread(target=submit_until_done, args=(candidate, replies), daemon=True)
            for candidate, replies in zip(submitters, submitted, strict=True)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        for thread in submits:
            thread.start()
        cluster.ctl("-m", "fast", "restart")
        time.sleep(1.0)
        for thread in threads:
            thread.halt.set()
        for thread in [*threads, *submits]:
            thread.join(timeout=60)
            assert not thread.is_alive(), log.read_text()[-3000:]
        for thread in threads:
            for reply in thread.replies:
                check_outage_reply(reply, json_caller=True)
        for replies in submitted:
            assert replies[-1].status == 302 and replies[-1].headers["Location"].endswith("/test/done")
            for reply in replies:
                check_outage_reply(reply, json_caller=False)

        # 2. The database stays down for a moment: every kind of request answers 503 at once.
        cluster.ctl("-m", "fast", "stop")
        saver = savers[0]
        down = [saver.autosave(1) for _ in range(3)]
        for reply in down:
            assert reply.status == 503, reply.text[-500:]
            check_outage_reply(reply, json_caller=True)
        page = saver.item_page(1)
        assert page.status == 503
        check_outage_reply(page, json_caller=False)
        status, body = fetch_health(port)
        assert status == 503 and body["database"]["status"] == "unavailable"

        # 3. Back: the same processes serve again, no restart needed.
        cluster.ctl("-o", f"-p {cluster.port}", "start")
        recovered = [saver.autosave(2) for _ in range(4)]
        # A worker may meet its dead pooled connection once more (503), then reconnects.
        assert recovered[-1].status == 200, [r.status for r in recovered]
        for reply in recovered:
            check_outage_reply(reply, json_caller=True)
        assert saver.item_page(2).status == 200
        assert children_of(server.pid) == workers  # the same workers: nothing was restarted
        _, health = fetch_health(port)
        assert health["database"]["status"] == "ok", health
    finally:
        stop(server)
        output = log.read_text(errors="replace")
    assert "unhandled error" not in output, output[-3000:]
    # No half-applied submission: each attempt is submitted and scored once, or not submitted at all.
    state = attempts_state(cluster.url)
    assert all((submitted and results == 1) or (not submitted and results == 0) for submitted, results in state)
    assert state.count((True, 1)) == len(submitters)
