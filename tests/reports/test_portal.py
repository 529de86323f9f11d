"""The client portal and share links: a client user sees only their own company's released reports; another
client's ids answer 404; share links work for anyone holding them, are audited with random ids only, and
refuse every bad token alike."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from accounts.models import AuditEvent
from database import db, unit_of_work, utcnow
from reports.models import JobStatus, Report, ReportBatch, ReportJob, ReportKind, ShareLink
from tests.conftest import PASSWORD, Tenant, post
from tests.reports.test_views import (
    INLINE,
    add_client,
    add_report,
    add_sitting,
    assert_download,
    create_link,
    signed_in,
    text_of,
)


class Scene:
    """Agency A's own client (A1) and a second client (A2), each with a user and a released report; A1 also
    has a draft and a withdrawn report."""

    def __init__(self, app: Flask, tenant: Tenant) -> None:
        self.a1_user = tenant.client_user
        self.a2_client, self.a2_user = add_client(app, tenant, "Second")
        self.ada = add_sitting(app, tenant, "Ada Able")
        self.ada_report = add_report(app, self.ada)
        self.ben = add_sitting(app, tenant, "Ben Draft")
        self.ben_report = add_report(app, self.ben, released=False)
        self.wes = add_sitting(app, tenant, "Wes Withdrawn")
        self.wes_report = add_report(app, self.wes, withdrawn=True)
        self.zed = add_sitting(app, tenant, "Zed Other", client_id=self.a2_client)
        self.zed_report = add_report(app, self.zed)


@pytest.fixture
def scene(app, tenant_a) -> Scene:
    return Scene(app, tenant_a)


def audit_events(app: Flask, prefix: str) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(select(AuditEvent).where(AuditEvent.action.like(f"{prefix}%")).order_by(AuditEvent.id))
        )


def no_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requested renders stay queued (nothing is enqueued), so the waiting page shows."""
    from reports import jobs

    monkeypatch.setattr(jobs, "_enqueue", lambda job_id: None)


def test_a_client_user_signs_in_and_lands_on_the_portal(app, client, tenant_a, scene):
    response = post(client, app, "/login", {"email": tenant_a.client_user["email"], "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/portal"
    page = client.get("/portal")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    # The nav holds the reports and sign-out only.
    nav = body[body.index('<nav aria-label="Main">') : body.index("</nav>")]
    assert re.findall(r">([^<>]+)</a>", nav) == ["Reports"]
    assert "Sign out" in body and "/account/password" not in body
    assert client.get("/").headers["Location"] == "/portal"
    for staff_page in ("/assessments", "/positions", f"/reports/invitations/{scene.ada.invitation}"):
        assert client.get(staff_page).status_code == 403, staff_page


def test_the_portal_lists_only_the_clients_released_reports(app, tenant_a, scene):
    page = text_of(signed_in(app, tenant_a.client_user["email"]).get("/portal"))
    assert f"Reports for {tenant_a.client_name}" in page
    assert "Ada Able" in page and scene.ada.position_title in page and "Shortlist (PDF)" in page
    for hidden in ("Ben Draft", "Wes Withdrawn", "Zed Other", scene.zed.position_title, "Second Client"):
        assert hidden not in page, hidden

    other = text_of(signed_in(app, scene.a2_user["email"]).get("/portal"))
    assert "Zed Other" in other and "Ada Able" not in other and tenant_a.client_name not in other


def test_an_empty_portal_says_when_reports_appear(app, tenant_a):
    page = text_of(signed_in(app, tenant_a.client_user["email"]).get("/portal"))
    assert "No reports yet" in page and f"when {tenant_a.agency_name} releases them" in page


def test_another_clients_ids_answer_404_and_are_audited(app, tenant_a, scene):
    client = signed_in(app, tenant_a.client_user["email"])
    for url in (
        f"/portal/reports/{scene.zed_report}/download",
        f"/portal/reports/{scene.zed_report}/status",
        f"/portal/positions/{scene.zed.position}/shortlist",
        f"/portal/positions/{scene.zed.position}/shortlist/status",
        # The client's own unreleased and withdrawn reports do not exist for the client either.
        f"/portal/reports/{scene.ben_report}/download",
        f"/portal/reports/{scene.wes_report}/download",
        f"/portal/reports/{scene.wes_report}/status",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Zed Other" not in response.get_data(as_text=True)
    denied = audit_events(app, "access.denied.scope")
    assert {event.object_public_id for event in denied} >= {scene.zed_report, scene.zed.position, scene.ben_report}
    with app.app_context():
        assert db.session.scalars(select(ReportJob)).all() == []  # nothing was rendered for anyone


def test_staff_objects_of_the_other_client_are_closed_to_a_client_user(app, tenant_a, scene):
    """Batches, jobs and share-link revocation are staff pages: a client user is refused before any lookup."""
    recruiter = signed_in(app, tenant_a.recruiter["email"])
    with app.app_context(), unit_of_work():
        report = db.session.scalars(select(Report).where(Report.public_id == scene.zed_report)).one()
        batch = ReportBatch(
            agency_id=report.agency_id, client_id=report.client_id, position_id=report.position_id, created_at=utcnow()
        )
        job = ReportJob(
            agency_id=report.agency_id,
            client_id=report.client_id,
            kind=ReportKind.DOSSIER,
            report_id=report.id,
            position_id=report.position_id,
            batch=batch,
            status=JobStatus.QUEUED,
            queued_at=utcnow(),
        )
        link = ShareLink(
            agency_id=report.agency_id,
            client_id=report.client_id,
            report_id=report.id,
            expires_at=utcnow() + timedelta(days=7),
            created_at=utcnow(),
        )
        db.session.add_all([batch, job, link])
        db.session.flush()
        ids = batch.public_id, job.public_id, link.public_id
    assert recruiter.get(f"/reports/batches/{ids[0]}").status_code == 200  # the positive control
    client = signed_in(app, tenant_a.client_user["email"])
    for method, url in (
        ("GET", f"/reports/batches/{ids[0]}"),
        ("GET", f"/reports/batches/{ids[0]}/status"),
        ("GET", f"/reports/batches/{ids[0]}/download"),
        ("GET", f"/reports/jobs/{ids[1]}/download"),
        ("POST", f"/reports/share-links/{ids[2]}/revoke"),
        ("GET", f"/reports/positions/{scene.zed.position}"),
    ):
        response = client.open(url, method=method)
        assert response.status_code in (400, 403), url  # 400: a POST without its CSRF token
        assert "Zed Other" not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(ShareLink.revoked_at)).one() is None


@INLINE
def test_a_portal_download_is_prepared_then_served_and_audited(app, tenant_a, scene, monkeypatch):
    from reports import jobs

    no_rendering(monkeypatch)
    client = signed_in(app, tenant_a.client_user["email"])
    waiting = client.get(f"/portal/reports/{scene.ada_report}/download")
    assert waiting.status_code == 200 and waiting.mimetype == "text/html"
    body = waiting.get_data(as_text=True)
    assert "Your report is being prepared" in body
    assert f'data-status-url="/portal/reports/{scene.ada_report}/status"' in body
    assert "js/report_progress.js" in body and 'http-equiv="refresh"' not in body
    assert client.get(f"/portal/reports/{scene.ada_report}/status").json == {"ready": False, "failed": False}
    # Asking again does not queue a second render.
    client.get(f"/portal/reports/{scene.ada_report}/download")
    with app.app_context():
        [job_id] = db.session.scalars(select(ReportJob.id)).all()
        assert audit_events(app, "report.downloaded") == []
        jobs.run_job(job_id, utcnow())

    assert client.get(f"/portal/reports/{scene.ada_report}/status").json == {"ready": True, "failed": False}
    pdf = client.get(f"/portal/reports/{scene.ada_report}/download")
    assert_download(pdf, "application/pdf", "pdf")
    assert pdf.data.startswith(b"%PDF")
    [event] = audit_events(app, "report.downloaded")
    assert event.action == "report.downloaded.portal"
    assert (event.actor_public_id, event.object_public_id) == (tenant_a.client_user["public_id"], scene.ada_report)


@INLINE
def test_the_shortlist_of_the_clients_own_position(app, tenant_a, scene):
    client = signed_in(app, tenant_a.client_user["email"])
    pdf = client.get(f"/portal/positions/{scene.ada.position}/shortlist")
    assert_download(pdf, "application/pdf", "pdf")
    assert pdf.headers["Content-Disposition"].startswith('attachment; filename="shortlist-')
    [event] = audit_events(app, "report.shortlist_downloaded")
    assert event.object_public_id == scene.ada.position
    assert event.actor_public_id == tenant_a.client_user["public_id"]


def test_a_failed_render_is_reported_to_the_waiting_page(app, tenant_a, scene, monkeypatch):
    no_rendering(monkeypatch)
    client = signed_in(app, tenant_a.client_user["email"])
    client.get(f"/portal/reports/{scene.ada_report}/download")
    with app.app_context(), unit_of_work():
        job = db.session.scalars(select(ReportJob)).one()
        job.status, job.error = JobStatus.FAILED, "The render took too long."
    assert client.get(f"/portal/reports/{scene.ada_report}/status").json == {"ready": False, "failed": True}


# --- Share links ----------------------------------------------------------------------------------------------


def tampered(token: str, **changes: Any) -> str:
    """The token with its payload changed and the old signature kept."""
    payload, rest = token.split(".", 1)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    encoded = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{encoded}.{rest}"


@INLINE
def test_a_share_link_works_for_anyone_and_each_view_is_audited_with_random_ids(app, tenant_a, scene):
    recruiter = signed_in(app, tenant_a.recruiter["email"])
    link = create_link(app, recruiter, scene.ada)
    anonymous = app.test_client()
    first = anonymous.get(link)
    assert_download(first, "application/pdf", "pdf")
    # A client user of another client, signed in, gets exactly what the token names, and nothing else.
    other = signed_in(app, scene.a2_user["email"])
    assert other.get(link).data == first.data
    assert other.get(f"/portal/reports/{scene.ada_report}/download").status_code == 404
    assert anonymous.head(link).status_code == 200  # a mail scanner's HEAD: no view

    views = audit_events(app, "report.downloaded.share_link")
    assert len(views) == 2
    assert {event.object_public_id for event in views} == {scene.ada_report}
    assert [event.actor_public_id for event in views] == [None, scene.a2_user["public_id"]]
    token = link.removeprefix("/r/")
    with app.app_context():
        assert db.session.scalars(select(ShareLink.views)).one() == 2
        values = [
            str(getattr(event, column.name))
            for event in db.session.scalars(select(AuditEvent))
            for column in AuditEvent.__table__.columns
        ]
    for value in values:
        assert token not in value and "Ada" not in value and "@" not in value


@INLINE
def test_bad_share_tokens_all_get_the_same_404_and_are_audited(app, tenant_a, scene):
    recruiter = signed_in(app, tenant_a.recruiter["email"])
    good = create_link(app, recruiter, scene.ada).removeprefix("/r/")
    other = create_link(app, recruiter, scene.zed).removeprefix("/r/")
    with app.app_context():
        zed_link = db.session.scalars(select(ShareLink).order_by(ShareLink.id.desc())).first().public_id
    anonymous = app.test_client()
    bodies = set()
    for token in (
        "not-a-real-token",
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),  # a broken signature
        tampered(good, l=zed_link),  # another report's link id swapped in
        tampered(good, v=2),
        other.split(".")[0] + "." + good.split(".", 1)[1],  # one token's payload, another's signature
    ):
        response = anonymous.get(f"/r/{token}")
        assert response.status_code == 404, token
        bodies.add(response.get_data(as_text=True))
        assert anonymous.get(f"/r/{token}/status").status_code == 404
    assert len(bodies) == 1
    assert "This link does not work" in bodies.pop()
    refused = audit_events(app, "report.share_link_refused")
    assert len(refused) == 10 and all(event.outcome == "refused" for event in refused)
    assert all(event.object_public_id is None for event in refused)


@INLINE
def test_revoked_expired_and_withdrawn_links_answer_404(app, tenant_a, scene):
    recruiter = signed_in(app, tenant_a.recruiter["email"])
    revoked, expired, withdrawn = (create_link(app, recruiter, scene.ada) for _ in range(3))
    anonymous = app.test_client()
    assert all(anonymous.get(link).status_code == 200 for link in (revoked, expired, withdrawn))
    with app.app_context():
        first, second, _ = db.session.scalars(select(ShareLink).order_by(ShareLink.id)).all()
        first_id = first.public_id
        second_id = second.id
    post(recruiter, app, f"/reports/share-links/{first_id}/revoke")
    with app.app_context(), unit_of_work():
        db.session.get(ShareLink, second_id).expires_at = utcnow() - timedelta(seconds=1)
    assert anonymous.get(revoked).status_code == 404
    assert anonymous.get(expired).status_code == 404
    assert anonymous.get(withdrawn).status_code == 200
    post(recruiter, app, f"/reports/invitations/{scene.ada.invitation}/withdraw")
    assert anonymous.get(withdrawn).status_code == 404
    assert (
        signed_in(app, tenant_a.client_user["email"]).get(f"/portal/reports/{scene.ada_report}/download").status_code
        == 404
    )


def test_share_link_guessing_is_limited_per_address_and_tokens_stay_out_of_the_log(app: Flask) -> None:
    """After 20 bad tokens from one address in 15 minutes, /r/ answers 429 with Retry-After; the request log
    shows /r/[redacted], never the token."""
    from http_security import TOKEN_PATH

    client = app.test_client()
    assert TOKEN_PATH.sub(r"\1[redacted]", "GET /r/abc.def.ghi HTTP/1.1") == "GET /r/[redacted] HTTP/1.1"
    for _ in range(20):
        assert client.get("/r/not-a-token").status_code == 404
    refused = client.get("/r/not-a-token")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert client.get("/r/not-a-token/status").status_code == 429
