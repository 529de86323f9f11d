"""Candidates through the API: create with a JSON Resume, update, duplicates, refusals that write nothing,
pagination and filters."""

from __future__ import annotations

from sqlalchemy import select

from accounts.models import AuditEvent, User
from api.keys import revoke_key
from api.models import ApiKey
from candidates.models import Candidate
from database import db, unit_of_work, utcnow
from tests.api.client import Api, make_key
from tests.candidates.conftest import counts, resume


def test_create_read_and_update_a_candidate_with_a_resume(app, tenant_a):
    api = Api(app, make_key(app, tenant_a))
    body = {"name": " Amara Okafor ", "email": "Amara.Okafor@Example.org", "resume": resume()}
    created = api.post("/candidates", body)
    assert created.status_code == 201, created.get_data(as_text=True)
    candidate = created.json
    assert created.headers["Location"].endswith(f"/api/v1/candidates/{candidate['id']}")
    assert (candidate["name"], candidate["email"]) == ("Amara Okafor", "amara.okafor@example.org")
    assert candidate["headline"] == "Accounts payable clerk, six years in shared services"
    profile = candidate["profile"]
    assert all(profile[section] for section in ("skills", "education", "experience", "languages"))
    assert {row["source"] for section in profile.values() for row in section} == {"json_resume"}
    work = {row["role"]: row for row in profile["experience"]}
    assert work["Accounts payable clerk"]["end_date"] is None and work["Accounts payable clerk"]["fte"] == 0.8
    assert work["Finance administrator"]["end_date"] == "2019-02-28"
    assert all(row["skill"] is None for row in profile["skills"]) and candidate["invitations"] == []
    again = api.get(f"/candidates/{candidate['id']}").json
    assert again == candidate

    # A new resume replaces the imported rows; a headline given beside it wins over basics.label.
    changed = api.patch(
        f"/candidates/{candidate['id']}",
        {
            "headline": "Payroll",
            "resume": resume(work=[], skills=[{"name": "Bank reconciliation", "level": "Advanced"}]),
        },
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.json["headline"] == "Payroll" and changed.json["profile"]["experience"] == []
    assert [s["name"] for s in changed.json["profile"]["skills"]] == ["Bank reconciliation"]
    assert changed.json["updated_at"] >= candidate["updated_at"]
    renamed = api.patch(f"/candidates/{candidate['id']}", {"name": "Amara O."})
    assert renamed.json["name"] == "Amara O." and renamed.json["headline"] == "Payroll"

    # The audit trail names the key, never the person.
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("candidate.%"))).all()
        key_id = db.session.scalars(select(ApiKey.public_id)).one()
    assert {e.action for e in events} == {"candidate.created", "candidate.imported", "candidate.profile_updated"}
    assert {e.actor_public_id for e in events} == {key_id}
    assert not any("Amara" in str(e.details) for e in events)


def test_refusals_write_nothing(app, tenant_a, tenant_b):
    api = Api(app, make_key(app, tenant_a))
    before = counts(app)
    existing = api.get(f"/candidates/{tenant_a.candidate_id}").json
    duplicate = api.post("/candidates", {"name": "Again", "email": existing["email"].upper()})
    assert duplicate.status_code == 409 and duplicate.json["existing_id"] == tenant_a.candidate_id
    assert duplicate.mimetype == "application/problem+json"
    unknown = api.post("/candidates", {"name": "X", "email": "x@example.org", "colour": "red"})
    assert unknown.status_code == 422
    assert unknown.json["errors"] == [{"pointer": "/colour", "detail": "Unknown field: the API does not accept it."}]
    bad_resume = api.post(
        "/candidates",
        {"name": "X", "email": "x@example.org", "resume": resume(work=[{"position": "Clerk", "startDate": "2999"}])},
    )
    assert bad_resume.status_code == 422, bad_resume.get_data(as_text=True)
    assert [e["pointer"] for e in bad_resume.json["errors"]] == ["/resume/work/0/startDate"]
    rules = api.post("/candidates", {"name": "Tab\there", "email": "not-an-address@", "headline": "x"})
    assert rules.status_code == 422 and {e["pointer"] for e in rules.json["errors"]} >= {"/email"}
    control = api.post("/candidates", {"name": "Tab\there", "email": "ok@example.org"})
    assert control.status_code == 422 and control.json["errors"][0]["pointer"] == "/name"
    assert api.post("/candidates", data="{not json").status_code == 400
    assert api.post("/candidates", data="name=X", content_type="application/x-www-form-urlencoded").status_code == 415
    assert api.patch(f"/candidates/{tenant_a.candidate_id}", {}).status_code == 422
    taken = api.patch(f"/candidates/{tenant_a.candidate_id}", {"email": "x@example.org"})
    assert taken.status_code == 200
    clash = api.post("/candidates", {"name": "Y", "email": "y@example.org"})
    assert api.patch(f"/candidates/{clash.json['id']}", {"email": "X@example.org"}).json["existing_id"] == (
        tenant_a.candidate_id
    )
    other = api.patch(f"/candidates/{tenant_b.candidate_id}", {"name": "Mine now"})
    assert other.status_code == 404 and api.get(f"/candidates/{tenant_b.candidate_id}").status_code == 404
    read_only = Api(app, make_key(app, tenant_a, "read"))
    assert read_only.post("/candidates", {"name": "Z", "email": "z@example.org"}).status_code == 403
    assert read_only.patch(f"/candidates/{tenant_a.candidate_id}", {"name": "Z"}).status_code == 403
    after = counts(app)
    assert after == {**before, "candidate": before["candidate"] + 1}  # only "Y"
    with app.app_context(), unit_of_work():
        key = db.session.scalars(select(ApiKey).where(ApiKey.scope == "write")).one()
        admin = db.session.scalars(select(User).where(User.public_id == tenant_a.admin["public_id"])).one()
        revoke_key(key, by=admin, now=utcnow())
    assert api.get("/candidates").status_code == 401


def test_pages_filters_and_cursors(app, tenant_a, tenant_b):
    api = Api(app, make_key(app, tenant_a, "write"))
    posted = [api.post("/candidates", {"name": f"P{i}", "email": f"p{i}@example.org"}).json for i in range(2)]
    made = [c["id"] for c in posted]
    seen, cursor, pages = [], None, 0
    while True:
        response = api.get("/candidates", query_string={"limit": 1, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200 and len(response.json["data"]) <= 1
        seen += [c["id"] for c in response.json["data"]]
        cursor, pages = response.json["next_cursor"], pages + 1
        if cursor is None:
            break
    assert seen[0] == tenant_a.candidate_id and seen[1:] == made and pages == 3
    assert tenant_b.candidate_id not in seen
    recent = api.get("/candidates", query_string={"updated_since": posted[0]["updated_at"]}).json["data"]
    assert [c["id"] for c in recent] == made
    future = "2999-01-01T00:00:00Z"
    assert api.get("/candidates", query_string={"updated_since": future}).json["data"] == []
    by_email = api.get("/candidates", query_string={"email": "P1@example.org"}).json["data"]
    assert [c["id"] for c in by_email] == made[1:]
    first = api.get("/candidates", query_string={"limit": 1}).json["next_cursor"]
    other = Api(app, make_key(app, tenant_b, "read"))
    assert other.get("/candidates", query_string={"cursor": first}).status_code == 400
    assert other.get(f"/candidates/{made[0]}").status_code == 404


def test_a_refusal_inside_the_unit_of_work_is_still_audited(app, tenant_a, monkeypatch):
    """Regression: after a rolled-back write, the audit line must not wait on the request's own SQLite lock."""
    from api import candidates as candidate_views

    client = Api(app, make_key(app, tenant_a))
    with app.app_context():
        taken = db.session.scalars(select(Candidate.email).where(Candidate.public_id == tenant_a.candidate_id)).one()
    monkeypatch.setattr(candidate_views, "checked_fields", lambda *a, **k: None)  # let the service itself refuse
    response = client.post("/candidates", {"name": "Second Person", "email": taken})
    assert response.status_code in (409, 422), response.get_data(as_text=True)
    with app.app_context():
        statuses = [
            event.details["status"]
            for event in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api.request"))
        ]
    assert statuses == [response.status_code]
