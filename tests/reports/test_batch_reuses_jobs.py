"""A position batch started while a report's PDF is already queued or rendering takes that job into the batch, as
request_render returns it, rather than queue the report a second time (two renders of one PDF)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from database import db, unit_of_work
from positions.models import Position
from reports import jobs
from reports.models import JobStatus, Report, ReportBatch, ReportJob, ReportKind
from tests.conftest import post, sign_in
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
            batch_id = jobs.start_batch(position, by=admin_of(agency_of(tenant_a)), now=NOW)[0].id

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


def test_starting_a_batch_again_while_one_renders_returns_that_batch_with_its_jobs(app, tenant_a, held):
    """A second click (or a second recruiter) follows the batch under way instead of emptying it into a new one."""
    world = build_world(app, tenant_a, names=("Ada Able", "Ben Bold"), released=("Ada Able", "Ben Bold"))
    with app.app_context():
        admin = admin_of(agency_of(tenant_a))
        with unit_of_work():
            first, started = jobs.start_batch(db.session.get_one(Position, world.position_id), by=admin, now=NOW)
            first_id = first.id
        assert started
        with unit_of_work():
            again, started_again = jobs.start_batch(db.session.get_one(Position, world.position_id), by=admin, now=NOW)
            again_id = again.id
        assert (again_id, started_again) == (first_id, False)
        assert db.session.scalar(select(func.count()).select_from(ReportBatch)) == 1
        assert jobs.batch_progress(db.session.get_one(ReportBatch, first_id)).total == 3  # its jobs stay with it
        assert len(held) == 3  # nothing queued twice

        with unit_of_work():  # once every render is over, a new batch is a new render of the position
            for job in db.session.scalars(select(ReportJob).where(ReportJob.batch_id == first_id)):
                job.status = JobStatus.FAILED
        with unit_of_work():
            later, started_later = jobs.start_batch(db.session.get_one(Position, world.position_id), by=admin, now=NOW)
            later_id = later.id
        assert started_later and later_id != first_id
        assert jobs.batch_progress(db.session.get_one(ReportBatch, later_id)).total == 3


def test_the_batch_page_says_when_the_reports_were_already_being_created(app, tenant_a, held):
    world = build_world(app, tenant_a, names=("Ada Able",), released=("Ada Able",))
    client = app.test_client()
    sign_in(client, app, tenant_a.admin["email"])
    with app.app_context():
        path = f"/reports/positions/{db.session.get_one(Position, world.position_id).public_id}/batches"
    first = post(client, app, path)
    assert first.status_code == 302
    assert "Creating the reports." in client.get(first.headers["Location"]).get_data(as_text=True)
    second = post(client, app, path)
    assert second.headers["Location"] == first.headers["Location"]  # the same batch
    assert "These reports are already being created." in client.get(second.headers["Location"]).get_data(as_text=True)
