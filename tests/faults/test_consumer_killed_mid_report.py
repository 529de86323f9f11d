"""Drill: the task consumer (`flask worker`) and its render child are killed with SIGKILL while a report PDF
renders. Huey's dequeue is destructive, so the task is gone with them (TOOLING.md); the job's row, left running
under a lease, is what brings it back: once the lease has run out, the next consumer's sweep queues it again and
it is rendered, once: one completed job, one stored PDF."""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import update

import tasks
from app import create_app
from database import db, unit_of_work, utcnow
from reports import jobs
from reports.models import JobStatus, Report, ReportFile, ReportJob, ReportKind
from tests.conftest import _base_config, build_tenant
from tests.faults.scene import sqlite_rows
from tests.processes import (
    alive,
    children_of,
    process_env,
    spawn_worker,
    stop,
    wait_for,
    wait_until_consuming,
)
from tests.reports.report_scene import NOW, build_world, flat_text


def wait_for_line(log: Path, pattern: str, seconds: float) -> re.Match[str]:
    found: list[re.Match[str]] = []

    def seen() -> bool:
        match = re.search(pattern, log.read_text(errors="replace"))
        if match:
            found.append(match)
        return match is not None

    wait_for(seen, seconds, f"a log line like {pattern!r}", log)
    return found[0]


def cpu_ticks(pid: int) -> int:
    """User and system processor time a process has used so far, in clock ticks."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def job_state(database, job_id: int) -> tuple[str, int, int | None]:
    [row] = sqlite_rows(database, "SELECT status, attempts, file_id FROM report_job WHERE id = ?", job_id)
    return row


def test_a_report_whose_consumer_was_killed_mid_render_is_rendered_once_afterwards(
    tmp_path, sqlite_template, smtp_server, monkeypatch
):
    database = tmp_path / "rapport.db"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite:///{database}"
    env = process_env(tmp_path, url, smtp_port=smtp_server[1])
    app: Flask = create_app(_base_config(url, smtp_server[1]))
    world = build_world(app, build_tenant(app, "Alpha"), names=("Ada Able",))

    # The web side's request: the task goes to the SQLite queue the consumer reads.
    monkeypatch.setitem(tasks.huey.storage_kwargs, "filename", env["HUEY_SQLITE_PATH"])
    tasks.huey.immediate = False
    try:
        with app.app_context(), unit_of_work():
            report = db.session.get_one(Report, world.reports["Ada Able"])
            job_id = jobs.request_render(ReportKind.DOSSIER, report=report, by=None, now=NOW).id
    finally:
        tasks.huey.immediate = True  # back to the in-memory queue for the rest of the session

    log = tmp_path / "worker.log"
    consumer = spawn_worker(env, log)
    second = None
    try:
        # Kill the consumer and its render child while the child renders this job: the consumer has taken the
        # job, handed it to a ready child, and the child is using the processor.
        ready = wait_for_line(log, r"Render child (\d+) ready", 60)
        child = int(ready.group(1))
        busy_from = cpu_ticks(child)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and cpu_ticks(child) <= busy_from:
            time.sleep(0.005)
        assert job_state(database, job_id)[0] == "running", "the render finished before the drill could kill it"
        family = {consumer.pid, *children_of(consumer.pid)}
        for pid in family:
            os.kill(pid, signal.SIGKILL)
        consumer.wait(timeout=10)
        wait_for(lambda: not any(alive(pid) for pid in family), 10, "the killed processes to go", log)
        assert job_state(database, job_id) == ("running", 1, None), log.read_text()[-3000:]
        assert child in family
        assert sqlite_rows(database, "SELECT count(*) FROM report_file") == [(0,)]
        assert f"report job {job_id} rendered" not in log.read_text()

        # The task died with the consumer; the row's lease is what the sweep waits for (3 minutes). The drill
        # lets that time pass at once rather than waiting for it.
        with app.app_context(), unit_of_work():
            db.session.execute(
                update(ReportJob).where(ReportJob.id == job_id).values(lease_expires_at=utcnow() - timedelta(seconds=1))
            )
        second = spawn_worker(env, log)
        wait_until_consuming(log)
        wait_for(lambda: job_state(database, job_id)[0] in ("done", "failed"), 60, "the report to render", log)
    finally:
        for process in (consumer, second):
            if process is not None:
                stop(process, signal.SIGINT)
    status, attempts, file_id = job_state(database, job_id)
    assert (status, attempts) == ("done", 2), log.read_text()[-3000:]
    assert sqlite_rows(database, "SELECT count(*), min(id) FROM report_file") == [(1, file_id)]
    assert sqlite_rows(database, "SELECT count(*) FROM report_job") == [(1,)]
    assert log.read_text().count(f"report job {job_id} rendered") == 1
    with app.app_context():
        pdf = db.session.get_one(ReportFile, file_id).pdf
        assert "Ada Able" in flat_text(pdf)
        assert db.session.get_one(ReportJob, job_id).status is JobStatus.DONE
        db.session.remove()
        db.engine.dispose()
