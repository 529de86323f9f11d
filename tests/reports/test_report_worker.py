"""The production path of a report: the web side requests a render and commits; a real `flask worker` consumer
takes the task from Huey's SQLite storage and renders the PDF in its pool of render children."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import create_engine, text

import tasks
from app import create_app
from database import db, unit_of_work
from reports import jobs
from reports.models import JobStatus, Report, ReportJob, ReportKind
from tests.conftest import TEST_SECRET, _base_config, build_tenant
from tests.reports.report_scene import NOW, build_world, flat_text

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60


def job_row(database: Path, job_id: int) -> tuple[str, int, int | None] | None:
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT status, attempts, file_id FROM report_job WHERE id = :id"), {"id": job_id}
            ).first()
            return None if row is None else (row[0], row[1], row[2])
    finally:
        engine.dispose()


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_worker_process_renders_a_requested_dossier_in_its_render_pool(
    tmp_path, sqlite_template, smtp_server, monkeypatch
):
    # Other tests of the session may have imported WeasyPrint already (tests/reports/test_pdf.py does at
    # collection); the claim "this process never imported it" can only be checked when it was not loaded before.
    weasyprint_loaded_before = "weasyprint" in sys.modules
    database, queue = tmp_path / "rapport.db", tmp_path / "huey.db"
    shutil.copyfile(sqlite_template, database)
    app: Flask = create_app(_base_config(f"sqlite:///{database}", smtp_server[1]))
    world = build_world(app, build_tenant(app, "Alpha"), names=("Ada Able",))

    # The web side: the task goes to the SQLite queue the worker reads, not to the immediate in-memory one.
    monkeypatch.setitem(tasks.huey.storage_kwargs, "filename", str(queue))
    tasks.huey.immediate = False
    try:
        with app.app_context():
            with unit_of_work():
                report = db.session.get_one(Report, world.reports["Ada Able"])
                job = jobs.request_render(ReportKind.DOSSIER, report=report, by=None, now=NOW)
                job_id = job.id
            assert tasks.huey.pending_count() == 1
    finally:
        tasks.huey.immediate = True  # back to the in-memory queue for the rest of the session
    assert job_row(database, job_id) == ("queued", 0, None)

    env = {k: v for k, v in os.environ.items() if k not in {"TASKS_IMMEDIATE", "REDIS_URL", "DATABASE_URL"}}
    env.update(
        {
            "RAPPORT_INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{database}",
            "HUEY_SQLITE_PATH": str(queue),
            "SECRET_KEY": TEST_SECRET,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_server[1]),
            "ARGON2_MEMORY_COST": "8192",
            "FLASK_APP": "app",
            "REPORT_RENDER_PROCESSES": "1",
        }
    )
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline and (job_row(database, job_id) or ("",))[0] not in ("done", "failed"):
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGINT)  # Huey's graceful shutdown; the pool's children are stopped at exit
            worker.wait(timeout=30)
    output = log_path.read_text(encoding="utf-8", errors="replace")

    status, attempts, file_id = job_row(database, job_id) or ("missing", 0, None)
    assert (status, attempts) == ("done", 1), output[-3000:]
    assert file_id is not None
    # Rendered by the consumer, in a render child of its pool.
    assert f"report job {job_id} rendered" in output, output[-3000:]
    children = [int(pid) for pid in re.findall(r"Render child (\d+) ready", output)]
    assert children, output[-3000:]
    with app.app_context():
        found = db.session.get_one(ReportJob, job_id)
        assert found.status is JobStatus.DONE and found.file is not None
        assert found.started_at is not None and found.finished_at is not None
        assert "Ada Able" in flat_text(found.file.pdf) and "Payroll officer" in flat_text(found.file.pdf)
        db.session.remove()
        db.engine.dispose()
    # The worker stopped its render children on the way out.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(gone(pid) for pid in children):
        time.sleep(0.1)
    assert all(gone(pid) for pid in children)
    if not weasyprint_loaded_before:
        assert "weasyprint" not in sys.modules  # requesting a report never loads the renderer
