"""Report jobs, rendered in-process (REPORT_RENDERER="inline") by the immediate task queue: one job per request,
the PDF cached by context hash, failures retried a bounded number of times with a reason the recruiter sees,
the sweep that finds lost tasks, deleted subjects, and position batches with their progress and ZIP."""

from __future__ import annotations

import contextlib
import html
import io
import re
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import delete, select

import tasks
from assessments.models import Invitation
from candidates.models import Candidate
from database import db, independent_unit_of_work, unit_of_work
from positions.models import Position
from reports import jobs
from reports import services as report_services
from reports.context import dossier_context
from reports.models import JobStatus, Report, ReportBatch, ReportFile, ReportJob, ReportKind
from reports.pool import RenderTimeout
from tests.conftest import sign_in
from tests.reports.pdftools import pdf_pages_png
from tests.reports.report_scene import NOW, admin_of, agency_of, build_world, count, flat_text

pytestmark = pytest.mark.app_config(REPORT_RENDERER="inline")

TIMEOUT_REASON = "The report took longer than 60 seconds to render."


@pytest.fixture
def held(monkeypatch) -> list[int]:
    """Jobs are enqueued into this list instead of running: the test runs them (or not) itself."""
    enqueued: list[int] = []
    monkeypatch.setattr(jobs, "_enqueue", enqueued.append)
    return enqueued


def report(world, name: str = "Ada Able") -> Report:
    return db.session.get_one(Report, world.reports[name])


def request(kind: ReportKind, world, name: str | None = "Ada Able", *, now=NOW) -> int:
    """Request a render in a unit of work of its own; the job's id (the render runs after the commit)."""
    with unit_of_work():
        subject = report(world, name) if name is not None else None
        position = db.session.get_one(Position, world.position_id)
        job = jobs.request_render(kind, report=subject, position=position, by=None, now=now)
        return job.id


def job_of(job_id: int) -> ReportJob:
    db.session.expire_all()
    return db.session.get_one(ReportJob, job_id)


# --- One request, one render -------------------------------------------------------------------------


def test_a_requested_dossier_is_rendered_once_and_reads_back(app, tenant_a):
    world = build_world(app, tenant_a, names=("Ada Able",))
    with app.app_context():
        with unit_of_work():
            job = jobs.request_render(ReportKind.DOSSIER, report=report(world), by=None, now=NOW)
            assert job.status is JobStatus.QUEUED and job.file_id is None
            assert count(ReportJob) == 1 and count(ReportFile) == 0
            job_id = job.id
        # The immediate queue ran the task after the commit.
        job = job_of(job_id)
        assert (job.status, job.attempts, job.error, job.lease_expires_at) == (JobStatus.DONE, 1, None, None)
        file = db.session.get_one(ReportFile, job.file_id)
        assert file.pdf.startswith(b"%PDF-") and file.size == len(file.pdf) and file.pages >= 2
        assert file.kind is ReportKind.DOSSIER and file.content_hash == job.context_hash

        context = dossier_context(report(world))
        overall = context.overall
        assert overall is not None and overall.interval is not None and overall.t is not None
        text = flat_text(file.pdf)
        assert "Ada Able" in text and "Payroll officer" in text
        assert f"{overall.text}." in text  # "Sten 9 (90% interval: stens 8-10)."
        low, high = overall.interval
        assert f"T {overall.t:.0f}, 90% interval T {low:.0f}–{high:.0f}" in text
        assert context.norm_group is not None and context.norm_group in text

        # Nothing changed: the same job, nothing rendered.
        assert request(ReportKind.DOSSIER, world) == job_id
        assert (count(ReportJob), count(ReportFile)) == (1, 1)
        # Running a finished job again does nothing.
        assert jobs.run_job(job_id, NOW) is None
        assert job_of(job_id).attempts == 1 and count(ReportFile) == 1

        # New notes: a new job and a new file that carries them.
        with unit_of_work():
            admin = admin_of(agency_of(tenant_a))
            report_services.save_notes(
                report(world), "Calm on the phone; check the payroll reference.", by=admin, now=NOW
            )
        second = request(ReportKind.DOSSIER, world)
        assert second != job_id
        assert (count(ReportJob), count(ReportFile)) == (2, 2)
        renewed = job_of(second)
        assert renewed.status is JobStatus.DONE and renewed.file_id != file.id
        assert "Calm on the phone; check the payroll reference." in flat_text(renewed.file.pdf)  # type: ignore[union-attr]
        assert jobs.current_file(ReportKind.DOSSIER, report=report(world), now=NOW).id == renewed.file_id  # type: ignore[union-attr]


def test_two_requests_at_once_for_one_report_make_one_job(app, tenant_a, held, monkeypatch):
    """Two web processes asked for the same PDF at the same moment (a double click, two tabs): one job, so one
    render. Each request looks for a job before adding one; here both look before either commits."""
    world = build_world(app, tenant_a, names=("Ada Able",))
    both_looked = threading.Barrier(2, timeout=2)
    look = jobs._unfinished_or_current

    def look_then_wait(*args: Any) -> ReportJob | None:
        found = look(*args)
        with contextlib.suppress(threading.BrokenBarrierError):  # the other request waits for this one's commit
            both_looked.wait()
        return found

    monkeypatch.setattr(jobs, "_unfinished_or_current", look_then_wait)

    def ask() -> int:
        with app.app_context():
            return request(ReportKind.DOSSIER, world)

    with ThreadPoolExecutor(max_workers=2) as pool:
        asked = [future.result() for future in [pool.submit(ask) for _ in range(2)]]
    assert asked[0] == asked[1]
    assert held == [asked[0]]
    with app.app_context():
        assert count(ReportJob) == 1


def test_each_report_kind_renders_pages_that_are_not_blank(app, tenant_a, tmp_path: Path):
    world = build_world(app, tenant_a, names=("Ada Able", "Ben Bold"), released=("Ada Able", "Ben Bold"))
    with app.app_context():
        ids = {
            "dossier": request(ReportKind.DOSSIER, world),
            "feedback": request(ReportKind.FEEDBACK, world),
            "shortlist": request(ReportKind.SHORTLIST, world, None),
        }
        for kind, job_id in ids.items():
            job = job_of(job_id)
            assert job.status is JobStatus.DONE, (kind, job.error)
            pages = pdf_pages_png(job.file.pdf, tmp_path / kind)  # type: ignore[union-attr]
            assert pages and len(pages) == job.file.pages  # type: ignore[union-attr]
            for page in pages:
                with Image.open(page) as image:
                    low, high = image.convert("L").getextrema()
                    assert low < high, f"{kind}: {page.name} is a single colour"
        feedback = flat_text(job_of(ids["feedback"]).file.pdf)  # type: ignore[union-attr]
        assert "Thank you, Ada" in feedback and not re.search(r"\bSten\b|percentile", feedback)
        shortlist = flat_text(job_of(ids["shortlist"]).file.pdf)  # type: ignore[union-attr]
        assert shortlist.index("Ada Able") < shortlist.index("Ben Bold")


# --- Failures --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        pytest.param(RenderTimeout(TIMEOUT_REASON), TIMEOUT_REASON, id="timeout"),
        pytest.param(RuntimeError("cairo: /srv/secret/path exploded"), jobs.FAILED_UNKNOWN, id="unexpected"),
    ],
)
def test_a_failing_render_is_queued_again_then_failed_with_a_reason_the_recruiter_sees(
    app, tenant_a, held, monkeypatch, error, reason
):
    def broken(html: str, stylesheet: str) -> tuple[bytes, int, int]:
        raise error

    monkeypatch.setattr(jobs, "_render", broken)
    world = build_world(app, tenant_a, names=("Ada Able",))
    with app.app_context():
        job_id = request(ReportKind.DOSSIER, world)
        assert held == [job_id]
        for attempt in range(1, jobs.MAX_ATTEMPTS):
            assert jobs.run_job(job_id, NOW + timedelta(minutes=attempt)) is JobStatus.QUEUED
            job = job_of(job_id)
            assert (job.status, job.attempts, job.error, job.lease_expires_at) == (
                JobStatus.QUEUED,
                attempt,
                reason,
                None,
            )
            assert held == [job_id] * (attempt + 1)  # queued again at once
        assert jobs.run_job(job_id, NOW + timedelta(minutes=9)) is JobStatus.FAILED
        job = job_of(job_id)
        assert (job.status, job.attempts, job.error) == (JobStatus.FAILED, jobs.MAX_ATTEMPTS, reason)
        assert job.finished_at is not None and "secret" not in (job.error or "")
        assert len(held) == jobs.MAX_ATTEMPTS  # not queued again
        assert jobs.run_job(job_id, NOW + timedelta(minutes=10)) is None  # out of attempts: never taken again
        assert count(ReportFile) == 0

    recruiter = app.test_client()
    sign_in(recruiter, app, tenant_a.recruiter["email"])
    page = html.unescape(recruiter.get(f"/reports/invitations/{world.invitations['Ada Able']}").get_data(as_text=True))
    assert "The PDF could not be created." in page and reason in page


def test_the_sweep_finds_lost_tasks_and_fails_jobs_out_of_attempts(app, tenant_a, held):
    world = build_world(app, tenant_a, names=("Ada Able", "Ben Bold"), released=("Ada Able",))
    with app.app_context():
        stale = request(ReportKind.DOSSIER, world, now=NOW - jobs.STALE_QUEUED - timedelta(seconds=1))
        recent = request(ReportKind.DOSSIER, world, "Ben Bold", now=NOW - timedelta(seconds=30))
        lost = request(ReportKind.FEEDBACK, world, now=NOW - timedelta(minutes=10))
        leased = request(ReportKind.FEEDBACK, world, "Ben Bold", now=NOW - timedelta(minutes=10))
        spent = request(ReportKind.SHORTLIST, world, None, now=NOW - timedelta(minutes=10))
        with unit_of_work():
            for job_id, attempts, lease in (
                (lost, 1, NOW - timedelta(seconds=1)),
                (leased, 1, NOW + timedelta(minutes=1)),
                (spent, jobs.MAX_ATTEMPTS, NOW - timedelta(seconds=1)),
            ):
                job = db.session.get_one(ReportJob, job_id)
                job.status, job.attempts, job.lease_expires_at = JobStatus.RUNNING, attempts, lease

        due = jobs.sweep(NOW)

        assert sorted(due) == sorted([stale, lost])
        given_up = job_of(spent)
        assert given_up.status is JobStatus.FAILED and given_up.finished_at == NOW
        assert given_up.error == "The render stopped 3 times and was given up. Try again, or ask your administrator."
        assert job_of(recent).status is JobStatus.QUEUED and job_of(leased).status is JobStatus.RUNNING
        # What the sweep found is taken again and finished (the running one past its lease too).
        for job_id in due:
            assert jobs.run_job(job_id, NOW) is JobStatus.DONE
        assert job_of(lost).attempts == 2
        assert jobs.sweep(NOW) == []


def test_the_periodic_task_enqueues_what_the_sweep_returns(app, monkeypatch):
    enqueued: list[int] = []
    monkeypatch.setattr("reports.jobs.sweep", lambda now: [7, 9])
    monkeypatch.setattr(tasks, "render_report_task", enqueued.append)
    with app.app_context():
        assert tasks.sweep_report_jobs_task.call_local() == 2
    assert enqueued == [7, 9]


# --- Deleted subjects -------------------------------------------------------------------------------------


def test_a_job_whose_report_was_deleted_does_nothing(app, tenant_a, held):
    world = build_world(app, tenant_a, names=("Ada Able",))
    with app.app_context():
        job_id = request(ReportKind.DOSSIER, world)
        with unit_of_work():
            db.session.execute(delete(Report).where(Report.id == world.reports["Ada Able"]))
        assert jobs.run_job(job_id, NOW) is None
        assert count(ReportFile) == 0 and count(ReportJob) == 0


def test_a_candidate_erased_during_the_render_leaves_no_file(app, tenant_a, held, monkeypatch):
    world = build_world(app, tenant_a, names=("Ada Able",))
    render = jobs._render

    def erase_then_render(html: str, stylesheet: str) -> tuple[bytes, int, int]:
        with independent_unit_of_work() as session:
            candidate_id = session.scalar(
                select(Invitation.candidate_id).where(Invitation.public_id == world.invitations["Ada Able"])
            )
            session.execute(delete(Candidate).where(Candidate.id == candidate_id))
        return render(html, stylesheet)

    monkeypatch.setattr(jobs, "_render", erase_then_render)
    with app.app_context():
        job_id = request(ReportKind.DOSSIER, world)
        assert jobs.run_job(job_id, NOW) is None
        assert count(ReportFile) == 0 and count(ReportJob) == 0 and count(Report) == 0


# --- Batches ----------------------------------------------------------------------------------------------


def test_a_batch_renders_every_released_report_and_the_shortlist_into_one_zip(app, tenant_a, monkeypatch):
    names = ("Ada Able", "Ana ../../etc/passwd Lima", "Zoë Ünal", "Bea Bird", "Dan Dale")
    world = build_world(app, tenant_a, names=names, released=names[:4])
    render = jobs._render

    def fails_for_zoe(html: str, stylesheet: str) -> tuple[bytes, int, int]:
        if "<h1>Zoë Ünal</h1>" in html:
            raise RuntimeError("this one breaks")
        return render(html, stylesheet)

    monkeypatch.setattr(jobs, "_render", fails_for_zoe)
    with app.app_context():
        with unit_of_work():
            report_services.withdraw(report(world, "Bea Bird"), by=admin_of(agency_of(tenant_a)), now=NOW)
        with unit_of_work():
            position = db.session.get_one(Position, world.position_id)
            batch, _ = jobs.start_batch(position, by=admin_of(agency_of(tenant_a)), now=NOW)
            batch_id = batch.id
        batch = db.session.get_one(ReportBatch, batch_id)
        batch_jobs = list(db.session.scalars(select(ReportJob).where(ReportJob.batch_id == batch_id)))
        released = {world.reports[name] for name in ("Ada Able", "Ana ../../etc/passwd Lima", "Zoë Ünal")}
        assert sorted(j.report_id for j in batch_jobs if j.kind is ReportKind.DOSSIER) == sorted(released)
        assert [j.report_id for j in batch_jobs if j.kind is ReportKind.SHORTLIST] == [None]
        assert len(batch_jobs) == 4

        progress = jobs.batch_progress(batch)
        assert (progress.total, progress.done, progress.failed, progress.running, progress.queued) == (4, 3, 1, 0, 0)
        assert progress.finished and progress.failures == [("Zoë Ünal", jobs.FAILED_UNKNOWN)]

        archive = zipfile.ZipFile(io.BytesIO(jobs.batch_zip(batch)))
        entries = archive.namelist()
        assert len(entries) == len(set(entries)) == 3
        for entry in entries:
            assert re.fullmatch(r"(candidate-report|shortlist)-[a-z0-9]+(-[a-z0-9]+)*-[0-9a-f]{6}\.pdf", entry), entry
            assert archive.read(entry).startswith(b"%PDF-")
        assert sorted(e.rsplit("-", 1)[0] for e in entries) == [
            "candidate-report-ada-able",
            "candidate-report-ana-etc-passwd-lima",
            "shortlist-shortlist",
        ]
        done = {job.file.sha256 for job in batch_jobs if job.status is JobStatus.DONE}  # type: ignore[union-attr]
        assert {e.rsplit("-", 1)[1][:6] for e in entries} == {sha[:6] for sha in done}
