"""Report jobs: one row per render, rendered by the task consumer's pool, cached by context hash.

The state of every render lives in ``report_job`` (queued, running, done, failed, with attempts and a
lease), so a task lost with a killed consumer is found again by the per-minute sweep (TOOLING.md: Huey's
dequeue is destructive). Jobs are idempotent: asking for a report whose context has not changed returns
the job (or the PDF) already there, and a job that finds its PDF cached finishes without rendering.

A failed render is retried up to MAX_ATTEMPTS times in all, then marked failed with a reason the
recruiter sees. Rendering happens only in the consumer (``run_job``); the web process never imports
WeasyPrint. ``REPORT_RENDERER = "inline"`` (tests only) renders in the calling process instead of the pool.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from database import after_commit, db, independent_unit_of_work, unit_of_work
from positions.models import Position
from reports import context as report_context
from reports.models import JobStatus, Report, ReportBatch, ReportFile, ReportJob, ReportKind

log = logging.getLogger(__name__)

MAX_ATTEMPTS: Final = 3
LEASE: Final = timedelta(minutes=3)
STALE_QUEUED: Final = timedelta(minutes=2)
FAILED_UNKNOWN: Final = "The report could not be rendered because of an unexpected error."
GIVEN_UP: Final = "The render stopped {n} times and was given up. Try again, or ask your administrator."


@dataclass(frozen=True)
class BatchProgress:
    total: int
    done: int
    failed: int
    running: int
    queued: int
    failures: list[tuple[str, str]]

    @property
    def finished(self) -> bool:
        return self.done + self.failed == self.total


def build_context(
    kind: ReportKind, report: Report | None, position: Position | None, now: datetime
) -> report_context.ReportContext:
    """The context a job renders (raises ValueError for a kind without its subject)."""
    if kind is ReportKind.DOSSIER and report is not None:
        return report_context.dossier_context(report)
    if kind is ReportKind.FEEDBACK and report is not None:
        return report_context.feedback_context(report)
    if kind is ReportKind.SHORTLIST and position is not None:
        return report_context.shortlist_context(position, now.date())
    raise ValueError(f"a {kind.value} report needs its subject")


def _subject(kind: ReportKind, report: Report | None, position: Position | None) -> tuple[int, int, int | None]:
    """(agency id, client id, report id) of a job's subject."""
    if kind is ReportKind.SHORTLIST:
        if position is None:
            raise ValueError("a shortlist needs its position")
        return position.agency_id, position.client_id, None
    if report is None:
        raise ValueError(f"a {kind.value} report needs its report")
    return report.agency_id, report.client_id, report.id


def _unfinished_or_current(
    kind: ReportKind, report_id: int | None, position_id: int, content_hash: str
) -> ReportJob | None:
    query = select(ReportJob).where(ReportJob.kind == kind, ReportJob.position_id == position_id)
    query = query.where(ReportJob.report_id == report_id if report_id is not None else ReportJob.report_id.is_(None))
    for job in db.session.scalars(query.order_by(ReportJob.id.desc()).limit(5)):
        if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
            return job
        if job.status is JobStatus.DONE and job.context_hash == content_hash and job.file_id is not None:
            return job
    return None


def request_render(
    kind: ReportKind,
    *,
    report: Report | None = None,
    position: Position | None = None,
    by: User | None,
    now: datetime,
    batch: ReportBatch | None = None,
) -> ReportJob:
    """A job for this report in the open unit of work: an unfinished or up-to-date one as it is, a done job at
    once when the PDF of this exact context is cached, else a queued job enqueued after commit. With ``batch``,
    an unfinished job joins the batch (leaving any earlier one), and a finished one is copied into it."""
    if position is None and report is not None:
        position = db.session.get_one(Position, report.position_id)
    assert position is not None
    agency_id, client_id, report_id = _subject(kind, report, position)
    _hold_subject(report, position)
    content_hash = report_context.context_hash(build_context(kind, report, position, now))
    existing = _unfinished_or_current(kind, report_id, position.id, content_hash)
    if existing is not None and batch is None:
        return existing
    if existing is not None and existing.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        existing.batch = batch  # the batch follows the render already under way rather than render it twice
        db.session.flush()
        return existing
    cached = db.session.scalar(select(ReportFile.id).where(ReportFile.content_hash == content_hash))
    job = ReportJob(
        agency_id=agency_id,
        client_id=client_id,
        kind=kind,
        report_id=report_id,
        position_id=position.id,
        batch=batch,
        status=JobStatus.DONE if cached else JobStatus.QUEUED,
        attempts=0,
        context_hash=content_hash,
        file_id=cached,
        requested_by_id=by.id if by is not None else None,
        queued_at=now,
        finished_at=now if cached else None,
    )
    db.session.add(job)
    db.session.flush()
    if not cached:
        job_id = job.id
        after_commit(lambda: _enqueue(job_id))
    return job


def _hold_subject(report: Report | None, position: Position) -> None:
    """Lock the report's (or the shortlist's position's) row until commit, and read it afresh, so that two requests
    at once, from two web processes, do not both find no job and add one each (two renders). SQLite's writes are
    serial already."""
    model: type[Report] | type[Position] = Report if report is not None else Position
    row_id = report.id if report is not None else position.id
    locked = select(model).where(model.id == row_id).with_for_update()
    db.session.scalars(locked.execution_options(populate_existing=True)).one()


def _enqueue(job_id: int) -> None:
    from tasks import render_report_task

    render_report_task(job_id)


def ready_file(job: ReportJob) -> ReportFile | None:
    """The job's PDF when it is done."""
    if job.status is not JobStatus.DONE or job.file_id is None:
        return None
    return db.session.get(ReportFile, job.file_id)


def current_file(
    kind: ReportKind, *, report: Report | None = None, position: Position | None = None, now: datetime
) -> ReportFile | None:
    """A cached PDF of the report as its data stands now, if one was rendered."""
    if position is None and report is not None:
        position = db.session.get_one(Position, report.position_id)
    content_hash = report_context.context_hash(build_context(kind, report, position, now))
    return db.session.scalar(select(ReportFile).where(ReportFile.content_hash == content_hash))


# --- The consumer's side --------------------------------------------------------------------------


def _claim(job_id: int, now: datetime) -> bool:
    """Take a queued job (or a running one past its lease) for this worker, counting the attempt."""
    with independent_unit_of_work() as session:
        taken = session.execute(
            update(ReportJob)
            .where(
                ReportJob.id == job_id,
                ReportJob.attempts < MAX_ATTEMPTS,
                (ReportJob.status == JobStatus.QUEUED)
                | ((ReportJob.status == JobStatus.RUNNING) & (ReportJob.lease_expires_at < now)),
            )
            .values(
                status=JobStatus.RUNNING,
                attempts=ReportJob.attempts + 1,
                started_at=now,
                lease_expires_at=now + LEASE,
            )
        )
        return bool(taken.rowcount)  # type: ignore[attr-defined]


def _render(html: str, stylesheet: str) -> tuple[bytes, int, int]:
    if current_app.config.get("REPORT_RENDERER") == "inline":
        from reports.pool import render_in_process

        rendered = render_in_process(html, stylesheet)
    else:
        from reports.pool import get_pool

        rendered = get_pool().render(html, stylesheet)
    return rendered.pdf, rendered.pages, rendered.render_ms


def _store(job: ReportJob, content_hash: str, pdf: bytes, pages: int, render_ms: int, now: datetime) -> int:
    """Store the PDF under its hash (another worker may have stored the same one first) and return its id."""
    try:
        with db.session.begin_nested():
            file = ReportFile(
                agency_id=job.agency_id,
                content_hash=content_hash,
                kind=job.kind,
                pdf=pdf,
                sha256=hashlib.sha256(pdf).hexdigest(),
                pages=pages,
                size=len(pdf),
                render_ms=render_ms,
                created_at=now,
            )
            db.session.add(file)
            db.session.flush()
            return file.id
    except IntegrityError:
        return db.session.scalar(select(ReportFile.id).where(ReportFile.content_hash == content_hash)) or 0


def run_job(job_id: int, now: datetime) -> JobStatus | None:
    """Render one job if it can be taken; None when it is gone, finished, or held by another worker.

    The context is read first and the read transaction ended, so no database lock is held while WeasyPrint
    works (on SQLite a held write lock would stall every autosave); the result is written afterwards.
    """
    if not _claim(job_id, now):
        return None
    from reports.render import html_for, stylesheet_for

    try:
        job = db.session.get(ReportJob, job_id)
        if job is None:
            return None
        report = db.session.get(Report, job.report_id) if job.report_id is not None else None
        position = db.session.get_one(Position, job.position_id)
        context = build_context(job.kind, report, position, now)
        content_hash = report_context.context_hash(context)
        file_id = db.session.scalar(select(ReportFile.id).where(ReportFile.content_hash == content_hash))
        rendered: tuple[bytes, int, int] | None = None
        if file_id is None:
            html, stylesheet = html_for(context), stylesheet_for(context)
            db.session.rollback()  # end the read snapshot before the slow part
            rendered = _render(html, stylesheet)
            log.info("report job %s rendered %d pages in %d ms", job_id, rendered[1], rendered[2])
        with unit_of_work():
            job = db.session.get(ReportJob, job_id)
            if job is None:
                return None
            if rendered is not None:
                file_id = _store(job, content_hash, *rendered, now)
            job.context_hash = content_hash
            job.file_id = file_id
            job.status = JobStatus.DONE
            job.error = None
            job.finished_at = now
            job.lease_expires_at = None
            return JobStatus.DONE
    except Exception as exc:  # every failure is recorded on the job, never lost
        from reports.pool import RenderError

        db.session.rollback()
        error = exc.reason if isinstance(exc, RenderError) else FAILED_UNKNOWN
        log.warning("report job %s failed: %s", job_id, type(exc).__name__, exc_info=not isinstance(exc, RenderError))
    return _record_failure(job_id, error, now)


def _record_failure(job_id: int, reason: str, now: datetime) -> JobStatus | None:
    """Queue the job again while attempts remain (the sweep or the next task retries it), else fail it."""
    with independent_unit_of_work() as session:
        job = session.get(ReportJob, job_id)
        if job is None:
            return None
        job.error = reason[:300]
        job.lease_expires_at = None
        if job.attempts >= MAX_ATTEMPTS:
            job.status = JobStatus.FAILED
            job.finished_at = now
        else:
            job.status = JobStatus.QUEUED
        status = job.status
    if status is JobStatus.QUEUED:
        _enqueue(job_id)
    return status


def sweep(now: datetime) -> list[int]:
    """Jobs whose task was lost: queued for a while, or running past their lease. Those out of attempts fail."""
    with independent_unit_of_work() as session:
        stuck = list(
            session.scalars(
                select(ReportJob).where(
                    ((ReportJob.status == JobStatus.QUEUED) & (ReportJob.queued_at < now - STALE_QUEUED))
                    | ((ReportJob.status == JobStatus.RUNNING) & (ReportJob.lease_expires_at < now))
                )
            )
        )
        due = []
        for job in stuck:
            if job.attempts >= MAX_ATTEMPTS:
                job.status = JobStatus.FAILED
                job.error = job.error or GIVEN_UP.replace("{n}", str(job.attempts))
                job.finished_at = now
                job.lease_expires_at = None
            else:
                due.append(job.id)
    return due


def retry(job: ReportJob, *, by: User, now: datetime) -> ReportJob:
    """A fresh job for a failed one's subject (the recruiter's "Try again")."""
    report = db.session.get(Report, job.report_id) if job.report_id is not None else None
    position = db.session.get_one(Position, job.position_id)
    return request_render(job.kind, report=report, position=position, by=by, now=now)


# --- Batches --------------------------------------------------------------------------------------


def start_batch(position: Position, *, by: User, now: datetime) -> tuple[ReportBatch, bool]:
    """Render every released report of the position and its shortlist, as one batch with one download.

    Returns the batch and whether it is new. While one of the position's batches is still rendering, that batch
    is returned as it is: a second click, or two recruiters at once, would otherwise start a second batch that
    takes the renders under way away from the first, leaving it empty. The position's row is held until commit,
    so two requests from two web processes cannot both find none under way.
    """
    _hold_subject(None, position)
    under_way = db.session.scalar(
        select(ReportBatch)
        .join(ReportJob, ReportJob.batch_id == ReportBatch.id)
        .where(
            ReportBatch.position_id == position.id,
            ReportJob.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
        )
        .order_by(ReportBatch.id.desc())
        .limit(1)
    )
    if under_way is not None:
        return under_way, False
    batch = ReportBatch(
        agency_id=position.agency_id,
        client_id=position.client_id,
        position_id=position.id,
        created_by_id=by.id,
        created_at=now,
    )
    db.session.add(batch)
    db.session.flush()
    for report in report_context.released_reports(position):
        request_render(ReportKind.DOSSIER, report=report, position=position, by=by, now=now, batch=batch)
    request_render(ReportKind.SHORTLIST, position=position, by=by, now=now, batch=batch)
    return batch, True


def batch_progress(batch: ReportBatch) -> BatchProgress:
    jobs = list(db.session.scalars(select(ReportJob).where(ReportJob.batch_id == batch.id).order_by(ReportJob.id)))
    counts = {status: sum(1 for job in jobs if job.status is status) for status in JobStatus}
    return BatchProgress(
        total=len(jobs),
        done=counts[JobStatus.DONE],
        failed=counts[JobStatus.FAILED],
        running=counts[JobStatus.RUNNING],
        queued=counts[JobStatus.QUEUED],
        failures=[(_job_subject_name(job), job.error or "") for job in jobs if job.status is JobStatus.FAILED],
    )


def _job_subject_name(job: ReportJob) -> str:
    if job.report_id is None:
        return "Shortlist"
    from assessments.models import Invitation

    report = db.session.get_one(Report, job.report_id)
    return db.session.get_one(Invitation, report.invitation_id).candidate.name


def batch_zip(batch: ReportBatch) -> bytes:
    """One ZIP of every finished PDF in the batch, each under a safe, unique name."""
    buffer = io.BytesIO()
    used: set[str] = set()
    jobs = db.session.scalars(select(ReportJob).where(ReportJob.batch_id == batch.id).order_by(ReportJob.id))
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for job in jobs:
            file = ready_file(job)
            if file is None:
                continue
            name = filename_for(job.kind, file, _job_subject_name(job))
            stem, number = name[:-4], 2
            while name in used:
                name, number = f"{stem}-{number}.pdf", number + 1
            used.add(name)
            archive.writestr(name, file.pdf)
    return buffer.getvalue()


def filename_for(kind: ReportKind, file: ReportFile, subject_name: str) -> str:
    """A safe ASCII download name: "candidate-report-nia-campbell-3f9a1c.pdf"."""
    ascii_name = unicodedata.normalize("NFKD", subject_name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60] or "report"
    prefix = {"dossier": "candidate-report", "feedback": "feedback", "shortlist": "shortlist"}[kind.value]
    return f"{prefix}-{slug}-{file.sha256[:6]}.pdf"
