"""The recruiter's report pages: review, notes, PDF, release (never for a pilot), share links, downloads, and
rendering a whole position as one batch with its progress and one ZIP.

The builders here (a second client of the agency, a submitted and scored candidate, a report row) are shared
with tests/reports/test_portal.py and tests/test_route_walk.py.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from accounts import services as accounts
from accounts.models import AuditEvent, Client, Role, User
from assessments.models import Assessment
from database import db, unit_of_work, utcnow
from positions.models import Position
from reports.models import NOTES_MAX, JobStatus, Report, ReportJob, ShareLink
from tests.assessments.test_fit_adapter import NOW, agency_of, competency
from tests.assessments.test_results import add_invitation
from tests.conftest import PASSWORD, Tenant, post, sign_in

INLINE = pytest.mark.app_config(REPORT_RENDERER="inline")
SHARE_URL = re.compile(r"http://rapport\.test/r/[A-Za-z0-9_.\-]+")


# --- Builders (shared) ------------------------------------------------------------------------------------


@dataclass
class Sitting:
    """One submitted, scored candidate of a client's position (public ids and the names a page shows)."""

    invitation: str
    position: str
    assessment: str
    client: str
    candidate_name: str
    position_title: str


def add_client(app: Flask, tenant: Tenant, label: str) -> tuple[str, dict[str, str]]:
    """Another client of the tenant's agency, with one client user who can sign in: (client id, user)."""
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant)
        client = accounts.create_client(agency, name=f"{label} Client", contact_email=None, notes="", by=None, now=NOW)
        user = accounts.create_user(
            agency,
            email=f"{label.lower().replace(' ', '.')}@client.example",
            name=f"{label} Reader",
            role=Role.CLIENT,
            client=client,
            now=NOW,
            by=None,
            password=PASSWORD,
            send_setup_email=False,
        )
        return client.public_id, {"email": user.email, "name": user.name, "public_id": user.public_id}


def add_client_user(app: Flask, client_id: str, name: str, *, active: bool = True) -> str:
    """One more user of a client; their email address."""
    with app.app_context(), unit_of_work():
        client = db.session.scalars(select(Client).where(Client.public_id == client_id)).one()
        user = accounts.create_user(
            client.agency,
            email=f"{name.lower().replace(' ', '.')}@client.example",
            name=name,
            role=Role.CLIENT,
            client=client,
            now=NOW,
            by=None,
            password=PASSWORD,
            send_setup_email=False,
        )
        user.is_active = active
        return user.email


def add_sitting(
    app: Flask,
    tenant: Tenant,
    name: str,
    *,
    client_id: str | None = None,
    position_title: str | None = None,
    pilot: bool = False,
) -> Sitting:
    """A candidate who submitted a scored test for a position of the client (the tenant's client by default)."""
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant)
        client = db.session.scalars(select(Client).where(Client.public_id == (client_id or tenant.client_id))).one()
        title = position_title or f"{client.name} payroll officer"
        position = db.session.scalars(
            select(Position).where(Position.client_id == client.id, Position.title == title)
        ).first()
        if position is None:
            position = Position(
                agency_id=agency.id, client_id=client.id, title=title, responsibilities="", created_at=NOW
            )
            db.session.add(position)
            db.session.flush()
        assessment_title = f"{title} SJT{' (pilot)' if pilot else ''}"
        assessment = db.session.scalars(
            select(Assessment).where(Assessment.position_id == position.id, Assessment.title == assessment_title)
        ).first()
        if assessment is None:
            assessment = Assessment(
                agency_id=agency.id,
                client_id=client.id,
                position=position,
                title=assessment_title,
                pilot=pilot,
                created_at=NOW,
            )
            assessment.reported = [competency(agency, "professionalism"), competency(agency, "collaboration")]
            db.session.add(assessment)
            db.session.flush()
        invitation = add_invitation(assessment, name, overall=0.7, pomp={"professionalism": 0.6, "collaboration": 0.8})
        return Sitting(
            invitation.public_id,
            position.public_id,
            assessment.public_id,
            client.public_id,
            name,
            position.title,
        )


def add_report(app: Flask, sitting: Sitting, *, released: bool = True, withdrawn: bool = False, notes: str = "") -> str:
    """A report row for the sitting, released (or not, or withdrawn) directly, without emails or renders."""
    from assessments.models import Invitation

    with app.app_context(), unit_of_work():
        invitation = db.session.scalars(select(Invitation).where(Invitation.public_id == sitting.invitation)).one()
        report = Report(
            agency_id=invitation.agency_id,
            client_id=invitation.client_id,
            position_id=invitation.assessment.position_id,
            invitation_id=invitation.id,
            notes=notes,
            released_at=NOW if released else None,
            withdrawn_at=NOW + timedelta(hours=1) if withdrawn else None,
            created_at=NOW,
            updated_at=NOW,
        )
        db.session.add(report)
        db.session.flush()
        return report.public_id


def report_row(app: Flask, sitting: Sitting) -> Report | None:
    from assessments.models import Invitation

    with app.app_context():
        return db.session.scalar(
            select(Report)
            .join(Invitation, Invitation.id == Report.invitation_id)
            .where(Invitation.public_id == sitting.invitation)
        )


def signed_in(app: Flask, email: str) -> Any:
    client = app.test_client()
    sign_in(client, app, email)
    return client


def text_of(response: Any) -> str:
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(body).split())


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def assert_download(response: Any, content_type: str, suffix: str) -> None:
    """A download as item 49 wants it: attachment, no-store, nosniff, the right type."""
    assert response.status_code == 200, response.status_code
    assert response.mimetype == content_type
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(rf'attachment; filename="[a-z0-9-]+\.{suffix}"', disposition), disposition
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture
def sitting(app, tenant_a) -> Sitting:
    return add_sitting(app, tenant_a, "Ada Able")


@pytest.fixture
def recruiter(app, tenant_a) -> Any:
    return signed_in(app, tenant_a.recruiter["email"])


# --- The review page and notes ------------------------------------------------------------------------------


def test_the_review_page_says_what_the_report_holds_and_offers_each_step(app, recruiter, sitting):
    response = recruiter.get(f"/reports/invitations/{sitting.invitation}")
    assert response.status_code == 200
    page = text_of(response)
    assert "Report: Ada Able Not started" in page
    assert f"{sitting.position_title} at Alpha Client" in page
    assert "What the report contains" in page and "The recruiter's notes" in page
    assert "Release to Alpha Client" in page and "Create PDF" in page
    body = response.get_data(as_text=True)
    assert f'maxlength="{NOTES_MAX}"' in body and '<label for="notes">' in body
    ids = re.findall(r'\sid="([^"]+)"', body)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)  # labels find their fields
    assert "Share links" not in page  # only once released
    assert "Feedback report for the candidate" not in page  # the agency does not offer them


def test_notes_are_saved_and_a_10000_character_note_is_refused_with_nothing_changed(app, recruiter, sitting):
    url = f"/reports/invitations/{sitting.invitation}/notes"
    saved = post(recruiter, app, url, {"notes": "  Calm under pressure.\r\nAsk about the cut-off.  "})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("#report-notes")
    assert report_row(app, sitting).notes == "Calm under pressure.\nAsk about the cut-off."

    too_long = post(recruiter, app, url, {"notes": "x" * 10_000})
    assert too_long.status_code == 422
    page = text_of(too_long)
    assert "The limit is 3,000" in page
    assert 'aria-invalid="true"' in too_long.get_data(as_text=True)
    assert report_row(app, sitting).notes == "Calm under pressure.\nAsk about the cut-off."


def test_a_note_for_a_candidate_who_has_not_submitted_is_refused(app, recruiter, tenant_a):
    response = post(recruiter, app, f"/reports/invitations/{tenant_a.invitation_id}/notes", {"notes": "Hello"})
    assert response.status_code == 422
    assert "has not finished the test" in text_of(response)
    with app.app_context():
        assert db.session.scalars(select(Report)).all() == []


# --- Release ----------------------------------------------------------------------------------------------


def test_a_pilot_has_no_release_button_and_a_forced_release_changes_nothing(app, recruiter, mailbox, tenant_a):
    pilot = add_sitting(app, tenant_a, "Pia Pilot", pilot=True)
    page = text_of(recruiter.get(f"/reports/invitations/{pilot.invitation}"))
    assert "Pilot assessment." in page and "never released" in page
    assert "Release to Alpha Client" not in page and "/release" not in recruiter.get(
        f"/reports/invitations/{pilot.invitation}"
    ).get_data(as_text=True)
    response = post(recruiter, app, f"/reports/invitations/{pilot.invitation}/release", follow_redirects=True)
    assert "pilot assessment" in text_of(response)
    report = report_row(app, pilot)
    assert report is None or report.released_at is None
    assert mailbox.messages == []


@INLINE
def test_release_emails_each_active_user_of_the_client_once(app, recruiter, mailbox, tenant_a, sitting):
    second = add_client_user(app, tenant_a.client_id, "Bo Second")
    add_client_user(app, tenant_a.client_id, "Cy Gone", active=False)
    add_client(app, tenant_a, "Other")  # its users are not told
    mailbox.clear()

    response = post(recruiter, app, f"/reports/invitations/{sitting.invitation}/release")
    assert response.status_code == 302
    assert report_row(app, sitting).released_at is not None
    assert sorted(m["To"] for m in mailbox.messages) == sorted([tenant_a.client_user["email"], second])
    message = mailbox.messages[0]
    assert message["Subject"] == f"A new candidate report from {tenant_a.agency_name} for {sitting.position_title}"
    assert "http://rapport.test/portal" in message.get_content()
    assert "Ada Able" not in message.get_content()  # the email names no candidate
    assert "report.released" in audit_actions(app)
    # The release also rendered the PDF: the review page offers it.
    page = text_of(recruiter.get(f"/reports/invitations/{sitting.invitation}"))
    assert "Released to Alpha Client" in page and "Download the candidate report (PDF)" in page
    assert "Withdraw the report" in page
    # Releasing twice is refused, and sends nothing more.
    again = post(recruiter, app, f"/reports/invitations/{sitting.invitation}/release", follow_redirects=True)
    assert "already released" in text_of(again)
    assert len(mailbox.messages) == 2


# --- PDF, share links, downloads -----------------------------------------------------------------------------


def create_link(app: Flask, recruiter: Any, sitting: Sitting, days: int | str = 7) -> str:
    response = post(recruiter, app, f"/reports/invitations/{sitting.invitation}/share-links", {"days": days})
    assert response.status_code == 302, response.status_code
    page = text_of(recruiter.get(response.headers["Location"]))
    found = SHARE_URL.findall(page)
    assert found, page
    return found[-1].removeprefix("http://rapport.test")


@INLINE
def test_pdf_download_share_links_create_revoke_and_expire(app, recruiter, tenant_a, sitting):
    add_report(app, sitting)
    rendered = post(recruiter, app, f"/reports/invitations/{sitting.invitation}/render", follow_redirects=True)
    assert "ready to download" in text_of(rendered)
    with app.app_context():
        job = db.session.scalars(select(ReportJob)).one()
        assert job.status is JobStatus.DONE
        job_id = job.public_id

    pdf = recruiter.get(f"/reports/jobs/{job_id}/download")
    assert_download(pdf, "application/pdf", "pdf")
    assert pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"].startswith('attachment; filename="candidate-report-ada-able-')
    assert "report.downloaded.staff" in audit_actions(app)

    for days in ("0", "31", "soon"):
        refused = post(recruiter, app, f"/reports/invitations/{sitting.invitation}/share-links", {"days": days})
        assert refused.status_code == 422
        assert "from 1 to 30" in text_of(refused)
    with app.app_context():
        assert db.session.scalars(select(ShareLink)).all() == []

    link = create_link(app, recruiter, sitting)
    anonymous = app.test_client()
    shared = anonymous.get(link)
    assert_download(shared, "application/pdf", "pdf")
    assert shared.data == pdf.data
    page = text_of(recruiter.get(f"/reports/invitations/{sitting.invitation}"))
    assert re.search(r"Active 1 \d\d \w{3} \d{4}", page), page  # one view, when

    with app.app_context():
        link_id = db.session.scalars(select(ShareLink.public_id)).one()
    assert post(recruiter, app, f"/reports/share-links/{link_id}/revoke").status_code == 302
    assert anonymous.get(link).status_code == 404
    assert "Revoked" in text_of(recruiter.get(f"/reports/invitations/{sitting.invitation}"))

    expiring = create_link(app, recruiter, sitting, days=1)
    assert anonymous.get(expiring).status_code == 200
    with app.app_context(), unit_of_work():
        newest = db.session.scalars(select(ShareLink).order_by(ShareLink.id.desc())).first()
        newest.expires_at = utcnow() - timedelta(seconds=1)
    assert anonymous.get(expiring).status_code == 404
    assert "Expired" in text_of(recruiter.get(f"/reports/invitations/{sitting.invitation}"))


def test_a_share_link_needs_a_released_report(app, recruiter, sitting):
    add_report(app, sitting, released=False)
    url = f"/reports/invitations/{sitting.invitation}/share-links"
    response = post(recruiter, app, url, {"days": "7"}, follow_redirects=True)
    assert "Release the report before you share it." in text_of(response)
    with app.app_context():
        assert db.session.scalars(select(ShareLink)).all() == []


def test_withdrawing_takes_the_report_back(app, recruiter, sitting):
    add_report(app, sitting)
    response = post(recruiter, app, f"/reports/invitations/{sitting.invitation}/withdraw", follow_redirects=True)
    assert "Report withdrawn" in text_of(response)
    assert report_row(app, sitting).withdrawn_at is not None
    assert "Withdrawn" in text_of(recruiter.get(f"/reports/invitations/{sitting.invitation}"))


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_posts_without_a_csrf_token_are_refused(app, recruiter, sitting):
    for action in ("notes", "render", "release", "withdraw", "share-links", "feedback"):
        response = recruiter.post(f"/reports/invitations/{sitting.invitation}/{action}", data={"notes": "x"})
        assert response.status_code == 400, action
    assert report_row(app, sitting) is None


def test_a_feedback_report_only_when_the_agency_offers_them(app, recruiter, tenant_a, sitting):
    refused = post(recruiter, app, f"/reports/invitations/{sitting.invitation}/feedback", follow_redirects=True)
    assert "does not offer candidate feedback reports" in text_of(refused)
    with app.app_context():
        assert db.session.scalars(select(ReportJob)).all() == []
    with app.app_context(), unit_of_work():
        agency_of(tenant_a).feedback_reports = True
    assert "Create feedback report" in text_of(recruiter.get(f"/reports/invitations/{sitting.invitation}"))


# --- A position and its batch ------------------------------------------------------------------------------


def statements_of(app: Flask, client: Any, url: str) -> list[str]:
    """The SQL statements one GET of the page runs."""
    from sqlalchemy import event

    statements: list[str] = []

    def counted(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split())[:120])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counted)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return statements


def test_the_position_overview_runs_as_many_queries_for_30_candidates_as_for_3(app, recruiter, tenant_a):
    def add(first: int, last: int) -> Sitting:
        for number in range(first, last):
            added = add_sitting(app, tenant_a, f"Candidate {number:02d}")
            if number % 3 == 0:
                report = add_report(app, added, released=number % 2 == 0)
                with app.app_context(), unit_of_work():
                    row = db.session.scalars(select(Report).where(Report.public_id == report)).one()
                    db.session.add(
                        ShareLink(
                            agency_id=row.agency_id,
                            client_id=row.client_id,
                            report_id=row.id,
                            token_version=1,
                            expires_at=NOW + timedelta(days=7),
                            views=0,
                            created_at=NOW,
                        )
                    )
        return added

    url = f"/reports/positions/{add(0, 3).position}"
    three = statements_of(app, recruiter, url)
    add(3, 30)
    thirty = statements_of(app, recruiter, url)
    repeated = sorted({q for q in thirty if thirty.count(q) > three.count(q)})
    assert len(thirty) == len(three), f"{len(three)} statements for 3 candidates, {len(thirty)} for 30: {repeated}"
    assert "Candidate 29" in text_of(recruiter.get(url))


@INLINE
def test_a_position_batch_shows_progress_and_ends_in_one_zip(app, recruiter, tenant_a, sitting):
    add_report(app, sitting)
    ben = add_sitting(app, tenant_a, "Ben Bright")
    add_report(app, ben, released=False)
    pilot = add_sitting(app, tenant_a, "Pia Pilot", pilot=True, position_title=sitting.position_title)

    overview = recruiter.get(f"/reports/positions/{sitting.position}")
    assert overview.status_code == 200
    page = text_of(overview)
    assert "Ada Able" in page and "Released" in page and "Ben Bright" in page and "Draft" in page
    assert "Pia Pilot" in page and "Pilot: never released" in page
    assert f"/reports/invitations/{pilot.invitation}" in overview.get_data(as_text=True)

    started = post(recruiter, app, f"/reports/positions/{sitting.position}/batches")
    assert started.status_code == 302
    batch_url = started.headers["Location"]
    assert re.fullmatch(r"/reports/batches/[\w-]+", batch_url)

    status = recruiter.get(f"{batch_url}/status")
    assert status.status_code == 200 and status.mimetype == "application/json"
    assert "no-store" in status.headers["Cache-Control"]
    # Ada's report and the shortlist; Ben's draft and the pilot are left out.
    assert status.json == {
        "total": 2,
        "done": 2,
        "failed": 0,
        "running": 0,
        "queued": 0,
        "finished": True,
        "failures": [],
        "text": "2 of 2 ready",
    }
    page_response = recruiter.get(batch_url)
    body = page_response.get_data(as_text=True)
    assert "2 of 2 ready" in text_of(page_response)
    assert '<progress max="2" value="2"' in body and "Download all (ZIP)" in body
    assert "js/report_progress.js" in body and 'http-equiv="refresh"' not in body and " style=" not in body

    archive = recruiter.get(f"{batch_url}/download")
    assert_download(archive, "application/zip", "zip")
    with zipfile.ZipFile(io.BytesIO(archive.data)) as opened:
        names = sorted(opened.namelist())
        assert all(opened.read(name).startswith(b"%PDF") for name in names)
    assert [name.split("-")[0] for name in names] == ["candidate", "shortlist"]
    assert "report.downloaded.staff" in audit_actions(app)


def test_an_unfinished_batch_shows_a_polling_page_and_no_download(app, recruiter, tenant_a, sitting, monkeypatch):
    from reports import jobs

    monkeypatch.setattr(jobs, "_enqueue", lambda job_id: None)  # nothing renders: the jobs stay queued
    add_report(app, sitting)
    batch_url = post(recruiter, app, f"/reports/positions/{sitting.position}/batches").headers["Location"]
    page = recruiter.get(batch_url)
    body = page.get_data(as_text=True)
    assert "0 of 2 ready" in text_of(page)
    assert f'data-status-url="{batch_url}/status"' in body and "Download all (ZIP)" not in body
    assert recruiter.get(f"{batch_url}/status").json["finished"] is False
    early = recruiter.get(f"{batch_url}/download")
    assert early.status_code == 302 and early.headers["Location"] == batch_url


def test_the_results_page_links_each_submitted_candidate_to_their_report(app, recruiter, sitting):
    response = recruiter.get(f"/assessments/{sitting.assessment}/results")
    assert f'href="/reports/invitations/{sitting.invitation}"' in response.get_data(as_text=True)


def test_client_users_cannot_reach_the_staff_pages(app, tenant_a, sitting):
    client_user = signed_in(app, tenant_a.client_user["email"])
    assert client_user.get(f"/reports/invitations/{sitting.invitation}").status_code == 403
    assert client_user.get(f"/reports/positions/{sitting.position}").status_code == 403
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == tenant_a.client_user["email"])).one()
        assert user.role is Role.CLIENT
