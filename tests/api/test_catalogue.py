"""Positions and assessments through the API: keys, scopes, pagination, cursors and problems."""

from __future__ import annotations

from sqlalchemy import select

from accounts.models import AuditEvent
from database import db
from tests.api.client import Api, make_key
from tests.conftest import sign_in


def test_positions_and_assessments_of_the_keys_agency_only(app, tenant_a, tenant_b):
    api = Api(app, make_key(app, tenant_a, "read"))
    listed = api.get("/positions")
    assert listed.status_code == 200, listed.get_data(as_text=True)
    ids = [p["id"] for p in listed.json["data"]]
    assert ids == [tenant_a.position_id]
    assert listed.json["next_cursor"] is None
    one = api.get(f"/positions/{tenant_a.position_id}")
    assert one.status_code == 200 and one.json["client"]["id"] == tenant_a.client_id
    assessments = api.get("/assessments").json["data"]
    assert [a["id"] for a in assessments] == [tenant_a.assessment_id]
    other = api.get(f"/positions/{tenant_b.position_id}")
    assert other.status_code == 404
    assert other.mimetype == "application/problem+json"
    assert other.json["status"] == 404 and tenant_b.position_id not in other.get_data(as_text=True)


def test_no_key_a_bad_key_and_a_cookie_get_401(app, tenant_a):
    for key in (None, "rpk_000000000000_" + "x" * 43, "not a key"):
        response = Api(app, key).get("/positions")
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"] == "Bearer"
    with app.app_context():
        refused = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api.auth.refused")).all()
    assert len(refused) == 3


def test_every_use_is_audited_with_random_ids(app, tenant_a):
    api = Api(app, make_key(app, tenant_a, "read"))
    api.get(f"/positions/{tenant_a.position_id}")
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api.request")).one()
    assert event.object_public_id == tenant_a.position_id
    assert event.details == {"method": "GET", "route": "/api/v1/positions/<public_id>", "status": 200}
    # The admin finds the key's uses under the audit log's "API and keys" filter.
    admin = app.test_client()
    sign_in(admin, app, tenant_a.admin["email"])
    page = admin.get("/admin/audit?action=api").get_data(as_text=True)
    assert "api.request" in page and "api_key.created" in page and "login.succeeded" not in page


def test_tampered_cursor_and_bad_parameters_are_400(app, tenant_a):
    api = Api(app, make_key(app, tenant_a, "read"))
    for query in ("?cursor=abc", "?limit=0", "?limit=x", "?updated_since=yesterday", "?colour=red"):
        response = api.get(f"/positions{query}")
        assert response.status_code == 400, query
        assert response.json["detail"]


def test_unknown_api_url_is_a_problem(app, tenant_a):
    response = Api(app, make_key(app, tenant_a, "read")).get("/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
