"""Invitations through the API: ordering an assessment emails the candidate, refusals write nothing, results
show once released (never a pilot's), revoking, filters and cursors."""

from __future__ import annotations

from sqlalchemy import func, select

from assessments.models import Assessment, AssessmentStatus, Invitation
from database import db, unit_of_work, utcnow
from mailer import EmailMessage
from tests.api.client import Api, make_key
from tests.reports.test_views import add_report, add_sitting


def rows(app):
    with app.app_context():
        return [db.session.scalar(select(func.count()).select_from(m)) for m in (Invitation, EmailMessage)]


def publish(app, assessment_id):
    with app.app_context(), unit_of_work():
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == assessment_id)).one()
        assessment.status, assessment.published_at = AssessmentStatus.PUBLISHED, utcnow()


def test_order_an_assessment_and_revoke_it(app, tenant_a, tenant_b, mailbox):
    api = Api(app, make_key(app, tenant_a))
    candidate = api.post("/candidates", {"name": "Bea Clerk", "email": "bea@example.org"}).json["id"]
    order = {"candidate_id": candidate, "assessment_id": tenant_a.assessment_id}
    before = rows(app)
    draft = api.post("/invitations", order)
    assert draft.status_code == 422 and draft.json["errors"][0]["pointer"] == "/assessment_id"
    foreign = api.post("/invitations", {"candidate_id": tenant_b.candidate_id, "assessment_id": tenant_b.assessment_id})
    assert foreign.status_code == 422
    assert [e["pointer"] for e in foreign.json["errors"]] == ["/candidate_id", "/assessment_id"]
    assert api.post("/invitations", {**order, "extra": 1}).status_code == 422
    assert api.post("/invitations", data="[", content_type="application/json").status_code == 400
    assert api.post("/invitations", data="x", content_type="text/plain").status_code == 415
    assert Api(app, make_key(app, tenant_a, "read")).post("/invitations", order).status_code == 403
    assert rows(app) == before and mailbox.messages == []

    publish(app, tenant_a.assessment_id)
    created = api.post("/invitations", order)
    assert created.status_code == 201, created.get_data(as_text=True)
    invitation = created.json
    assert created.headers["Location"].endswith(f"/api/v1/invitations/{invitation['id']}")
    assert (invitation["candidate_id"], invitation["assessment_id"]) == (candidate, tenant_a.assessment_id)
    assert invitation["position_id"] == tenant_a.position_id and invitation["result_id"] is None
    assert invitation["status"] in ("queued", "sent") and invitation["revoked_at"] is None
    [message] = mailbox.messages
    assert message["To"] == "bea@example.org"
    [link] = mailbox.links()
    token = link.rsplit("/", 1)[1]
    assert token not in created.get_data(as_text=True)
    shown = api.get(f"/invitations/{invitation['id']}")
    assert shown.json["status"] == "sent" and token not in shown.get_data(as_text=True)
    assert api.get(f"/candidates/{candidate}").json["invitations"] == [invitation["id"]]
    again = api.post("/invitations", order)
    assert again.status_code == 409 and again.json["existing_id"] == invitation["id"]
    assert rows(app) == [before[0] + 1, before[1] + 1]

    assert api.post(f"/invitations/{invitation['id']}/revoke", {"reason": "x"}).status_code == 422
    revoked = api.post(f"/invitations/{invitation['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked" and revoked.json["revoked_at"]
    assert api.post(f"/invitations/{invitation['id']}/revoke").json["revoked_at"] == revoked.json["revoked_at"]
    assert api.post(f"/invitations/{tenant_b.invitation_id}/revoke").status_code == 404
    assert api.get(f"/invitations/{tenant_b.invitation_id}").status_code == 404


def test_results_filters_and_cursors(app, tenant_a, tenant_b):
    released = add_sitting(app, tenant_a, "Rita Released")
    result = add_report(app, released)
    pilot = add_sitting(app, tenant_a, "Pat Pilot", pilot=True)
    add_report(app, pilot)
    api = Api(app, make_key(app, tenant_a))
    listed = api.get("/invitations").json
    by_id = {i["id"]: i for i in listed["data"]}
    assert set(by_id) == {tenant_a.invitation_id, released.invitation, pilot.invitation}
    assert by_id[released.invitation]["result_id"] == result and by_id[released.invitation]["status"] == "submitted"
    assert by_id[released.invitation]["submitted_at"] and by_id[pilot.invitation]["result_id"] is None
    submitted = api.post(f"/invitations/{released.invitation}/revoke")
    assert submitted.status_code == 409 and submitted.mimetype == "application/problem+json"

    only = api.get("/invitations", query_string={"assessment_id": released.assessment}).json["data"]
    assert [i["id"] for i in only] == [released.invitation]
    mine = api.get("/invitations", query_string={"candidate_id": tenant_a.candidate_id}).json["data"]
    assert [i["id"] for i in mine] == [tenant_a.invitation_id]
    assert api.get("/invitations", query_string={"candidate_id": tenant_b.candidate_id}).json["data"] == []
    since = by_id[pilot.invitation]["updated_at"]
    assert pilot.invitation in {
        i["id"] for i in api.get("/invitations", query_string={"updated_since": since}).json["data"]
    }
    first = api.get("/invitations", query_string={"limit": 1}).json
    second = api.get("/invitations", query_string={"limit": 1, "cursor": first["next_cursor"]}).json
    assert first["data"][0]["id"] != second["data"][0]["id"]
    candidates_cursor = api.get("/candidates", query_string={"limit": 1}).json["next_cursor"]
    assert candidates_cursor is not None
    assert api.get("/invitations", query_string={"cursor": candidates_cursor}).status_code == 400
    assert api.get("/invitations", query_string={"colour": "red"}).status_code == 400
