"""Drill: the web workers, then the whole gunicorn server, are killed with SIGKILL the moment an autosave is
acknowledged. An acknowledged answer is committed with synchronous=FULL before the 2xx leaves, so it survives;
the candidate carries on where they were, on the respawned workers and on a server started again."""

from __future__ import annotations

import os
import signal
import time

from tests.conftest import free_port
from tests.faults.scene import (
    Candidate,
    close_app,
    integrity_ok,
    invite_candidates,
    make_app,
    shown_revision,
    sqlite_rows,
)
from tests.processes import alive, children_of, process_env, spawn_web, stop, wait_for, wait_until_serving


def kill_workers(master: int) -> set[int]:
    workers = children_of(master)
    assert workers, "gunicorn has no workers to kill"
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    return workers


def test_an_acknowledged_autosave_survives_sigkill_of_the_workers_and_of_the_server(tmp_path, sqlite_template):
    database = tmp_path / "rapport.db"
    database.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{database}"
    app = make_app(url)
    [link] = invite_candidates(app, 1)
    close_app(app)
    env = process_env(tmp_path, url, smtp_port=free_port())
    log = tmp_path / "web.log"
    port = free_port()
    server = spawn_web(env, port, log, workers=1)
    restarted = None
    try:
        wait_until_serving(port, log)
        candidate = Candidate(f"http://127.0.0.1:{port}", link)
        candidate.begin()

        # 1. The workers die the moment the answer is acknowledged; the master starts new ones.
        saved = candidate.autosave(1)
        assert saved.status == 200, saved.text
        killed = kill_workers(server.pid)
        wait_for(lambda: not any(alive(pid) for pid in killed), 10, "the killed workers to go", log)
        wait_for(lambda: len(children_of(server.pid) - killed) >= 1, 30, "new workers", log)
        wait_until_serving(port, log)
        assert shown_revision(candidate.item_page(1)) == 1, log.read_text()[-3000:]
        again = candidate.autosave(1, {"ratings": {"A": 5, "B": 1, "C": 3, "D": 2}})
        assert again.status == 200 and again.json()["revision"] == 2, again.text
        assert candidate.autosave(2).status == 200

        # 2. The whole server dies (master and workers at once) right after the next acknowledgement.
        third = candidate.autosave(3)
        assert third.status == 200, third.text
        for pid in {server.pid, *children_of(server.pid)}:
            os.kill(pid, signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in killed):
            time.sleep(0.1)
        # On disk before anything restarts: every acknowledged answer at its acknowledged revision.
        assert integrity_ok(database)
        assert sorted(sqlite_rows(database, "SELECT revision FROM answer")) == [(1,), (1,), (2,)]

        port = free_port()
        restarted = spawn_web(env, port, log, workers=1)
        wait_until_serving(port, log)
        candidate.base = f"http://127.0.0.1:{port}"  # the same browser, the same cookie
        assert [shown_revision(candidate.item_page(n)) for n in (1, 2, 3, 4)] == [2, 1, 1, 0]
        assert candidate.autosave(4).status == 200
        done = candidate.submit()
        assert done.status == 302 and done.headers["Location"].endswith("/test/done"), done.text[-500:]
    finally:
        for process in (server, restarted):
            if process is not None:
                stop(process)
    assert integrity_ok(database)
    assert sqlite_rows(database, "SELECT count(*) FROM attempt WHERE submitted_at IS NOT NULL") == [(1,)]
    assert sqlite_rows(database, "SELECT count(*) FROM attempt_result") == [(1,)]
