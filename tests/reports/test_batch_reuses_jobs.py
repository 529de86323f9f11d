"""A position batch started while a report's PDF is already queued or rendering takes that job into the batch, as
request_render returns it, rather than queue the report a second time (two renders of one PDF)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from database import db, unit_of_work
from positions.models import Position
from reports import jobs
from reports.models import JobStatus, Report, ReportBatch, ReportJob, ReportKind
from tests.reports.report_scene import NOW, admin_of, agency_of, build_world

pytestmark = pytest.mark.app_config(REPORT_RENDERER="inline")


@pytest.fixture
def held(monkeypatch) -> list[int]:
    """Jobs are enqueued into this list instead of running, so a requested one stays queued."""
    enqueued: list[int] = []
    monkeypatch.setattr(jobs, "_enqueue", enqueued.append)
    return enqueued


def test_a_batch_takes_in_a_report_already_queued_instead_of_queuing_it_again(app, tenant_a, held):
    world = build_world(app, tenant_a, names=("Ada Able", "Ben Bold"), released=("Ada Able", "Ben Bold"))
    ada = world.reports["Ada Able"]
    with app.app_context():
        with unit_of_work():
            report = db.session.get_one(Report, ada)
            queued = jobs.request_render(ReportKind.DOSSIER, report=report, by=None, now=NOW).id
        assert held == [queued]

        with unit_of_work():
            position = db.session.get_one(Position, world.position_id)
            batch_id = jobs.start_batch(position, by=admin_of(agency_of(tenant_a)), now=NOW).id

        dossiers = list(
            db.session.scalars(
                select(ReportJob).where(ReportJob.kind == ReportKind.DOSSIER, ReportJob.report_id == ada)
            )
        )
        assert [job.id for job in dossiers] == [queued]  # one job for Ada's PDF, so one render
        assert dossiers[0].batch_id == batch_id and dossiers[0].status is JobStatus.QUEUED
        assert held.count(queued) == 1  # not enqueued a second time
        batch = db.session.get_one(ReportBatch, batch_id)
        batch_jobs = db.session.scalars(select(ReportJob).where(ReportJob.batch_id == batch_id)).all()
        assert len(batch_jobs) == 3  # Ada's job taken in, Ben's new one, and the shortlist
        assert len(held) == 3
        progress = jobs.batch_progress(batch)
        assert (progress.total, progress.queued) == (3, 3)
