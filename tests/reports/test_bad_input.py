"""Bad input and missing data around reports: over-long notes are refused with nothing changed, a report with
no profile and no norm group still renders and says what is missing, a pilot is never released or shared,
and a release emails exactly the active users of that client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from accounts import services as accounts
from accounts.models import AuditEvent, Client, Role, User
from assessments import services as builder
from assessments.models import Assessment
from database import db, unit_of_work
from mailer import EmailMessage
from reports import jobs
from reports import services as report_services
from reports.models import NOTES_MAX, JobStatus, Report, ReportJob, ReportKind
from reports.services import LinkInvalid, ReportError
from tests.reports.report_scene import NOW, admin_of, agency_of, build_world, count, flat_text

pytestmark = pytest.mark.app_config(REPORT_RENDERER="inline")


@pytest.fixture
def held(monkeypatch) -> list[int]:
    """Report jobs are enqueued into this list instead of rendering."""
    enqueued: list[int] = []
    monkeypatch.setattr(jobs, "_enqueue", enqueued.append)
    return enqueued


def notes_saved() -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "report.notes_saved")
    )  # type: ignore[return-value]


def test_a_10000_character_note_is_refused_with_a_clear_message_and_nothing_changes(app, tenant_a):
    world = build_world(app, tenant_a, names=("Ben Bold",), norms=False)
    with app.app_context():
        report = db.session.get_one(Report, world.reports["Ben Bold"])
        before = (report.notes, report.updated_at, notes_saved())
        admin = admin_of(agency_of(tenant_a))
        with pytest.raises(ReportError) as refused, unit_of_work():
            report_services.save_notes(report, "x" * 10_000, by=admin, now=NOW + timedelta(hours=1))
        assert str(refused.value) == "The notes are 10,000 characters long. The limit is 3,000: please shorten them."
    with app.app_context():
        report = db.session.get_one(Report, world.reports["Ben Bold"])
        assert (report.notes, report.updated_at, notes_saved()) == before

        # The limit itself is accepted; one more character is not.
        admin = admin_of(agency_of(tenant_a))
        with unit_of_work():
            report_services.save_notes(report, "y" * NOTES_MAX, by=admin, now=NOW)
        with pytest.raises(ReportError, match="3,001 characters"), unit_of_work():
            report_services.save_notes(report, "z" * (NOTES_MAX + 1), by=admin, now=NOW)
        db.session.expire_all()
        assert db.session.get_one(Report, world.reports["Ben Bold"]).notes == "y" * NOTES_MAX


def test_control_characters_in_a_note_are_refused_or_removed_never_a_database_error(app, tenant_a):
    """security.md D: hostile text includes control characters. A NUL cannot be stored in PostgreSQL text at all,
    and a bell or an escape sequence has no place in a printed report: save_notes either refuses such a note with
    a ReportError (and changes nothing) or stores it without them. Line breaks and tabs stay."""
    world = build_world(app, tenant_a, names=("Ben Bold",), norms=False)
    note = "Calm\x00 on the\x07 phone.\x1b[31m\nChecked\tthe reference.\x0b"
    with app.app_context():
        admin = admin_of(agency_of(tenant_a))
        before = db.session.get_one(Report, world.reports["Ben Bold"]).notes
        refused: ReportError | None = None
        try:
            with unit_of_work():
                report = db.session.get_one(Report, world.reports["Ben Bold"])
                report_services.save_notes(report, note, by=admin, now=NOW)
        except ReportError as error:
            refused = error
        db.session.expire_all()
        stored = db.session.get_one(Report, world.reports["Ben Bold"]).notes
        if refused is not None:
            assert str(refused) and stored == before
        else:
            assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", stored), repr(stored)
            assert "phone." in stored and "\nChecked\tthe reference." in stored


def test_no_profile_and_no_norm_group_still_render_a_full_dossier_that_says_what_is_missing(app, tenant_a):
    world = build_world(app, tenant_a, names=("Ben Bold",), norms=False)
    with app.app_context():
        with unit_of_work():
            report = db.session.get_one(Report, world.reports["Ben Bold"])
            job_id = jobs.request_render(ReportKind.DOSSIER, report=report, by=None, now=NOW).id
        db.session.expire_all()
        job = db.session.get_one(ReportJob, job_id)
        assert job.status is JobStatus.DONE and job.error is None and job.file is not None
        assert job.file.pages >= 2
        text = flat_text(job.file.pdf)
        assert "Ben Bold" in text and "Payroll officer" in text
        assert "no norm group yet" in text
        assert "no skills, education or experience on record" in text
        assert "Provisional score" in text and "Methodology" in text
        assert not re.search(r"\bSten \d", text)


def test_a_pilot_is_never_released_and_its_share_links_stop_working(app, tenant_a, held):
    world = build_world(app, tenant_a, names=("Ada Able", "Ben Bold"), released=("Ada Able",), norms=False)
    with app.app_context():
        admin = admin_of(agency_of(tenant_a))
        with unit_of_work():
            released = db.session.get_one(Report, world.reports["Ada Able"])
            link, url = report_services.create_share_link(released, days=7, by=admin, now=NOW)
            token = url.rsplit("/r/", 1)[1]
        assert report_services.share_link_from_token(token, NOW).id == link.id  # the control: it works

        with unit_of_work():
            builder.set_pilot(db.session.get_one(Assessment, world.assessment_id), True, by=admin, now=NOW)

        with pytest.raises(ReportError, match="pilot assessment"), unit_of_work():
            report_services.release(db.session.get_one(Report, world.reports["Ben Bold"]), by=admin, now=NOW)
        with pytest.raises(LinkInvalid):
            report_services.share_link_from_token(token, NOW + timedelta(minutes=1))

        db.session.expire_all()
        assert db.session.get_one(Report, world.reports["Ben Bold"]).released_at is None
        assert not db.session.scalars(select(EmailMessage).where(EmailMessage.template == "report_released")).all()
        assert held == [] and count(ReportJob) == 0


def test_a_release_emails_each_active_user_of_that_client_and_nobody_else(app, tenant_a, tenant_b, mailbox, held):
    world = build_world(app, tenant_a, names=("Ben Bold",), norms=False)
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant_a)
        client = db.session.get_one(Client, world.client_id)

        def user(email: str, client: Client | None, role: Role = Role.CLIENT) -> User:
            return accounts.create_user(
                agency, email=email, name=email.split("@")[0], role=role, client=client, now=NOW, by=None,
                send_setup_email=False,
            )  # fmt: skip

        user("second@client-a.example", client)
        user("gone@client-a.example", client).is_active = False
        other = accounts.create_client(agency, name="Other Client", contact_email=None, notes="", by=None, now=NOW)
        user("reader@other-client.example", other)
    with app.app_context():
        assert tenant_a.client_user["email"] != "second@client-a.example"
        mailbox.clear()
        with unit_of_work():
            report = db.session.get_one(Report, world.reports["Ben Bold"])
            report_services.release(report, by=admin_of(agency_of(tenant_a)), now=NOW)

        rows = db.session.scalars(select(EmailMessage).where(EmailMessage.template == "report_released")).all()
        expected = sorted([tenant_a.client_user["email"], "second@client-a.example"])
        assert sorted(row.to_address for row in rows) == expected
        for row in rows:
            assert "Payroll officer" in row.subject and "Ben Bold" not in row.subject + row.body_text
        assert sorted(message["To"] for message in mailbox.messages) == expected  # delivered, once each
        assert tenant_b.client_user["email"] not in [row.to_address for row in rows]

        job = db.session.scalars(select(ReportJob)).one()
        assert held == [job.id] and job.kind is ReportKind.DOSSIER and job.status is JobStatus.QUEUED
        assert db.session.get_one(Report, world.reports["Ben Bold"]).released_at == NOW
