"""Released results and their PDFs through the API: only released, not withdrawn, never a pilot's."""

from __future__ import annotations

from sqlalchemy import select

from accounts.models import AuditEvent
from api import spec
from database import db
from tests.api.client import Api, make_key
from tests.reports.pdftools import pdf_text
from tests.reports.test_views import add_report, add_sitting


def test_only_released_non_pilot_results_are_served(app, tenant_a, tenant_b):
    released = add_sitting(app, tenant_a, "Rhea Released")
    released_id = add_report(app, released)
    draft_id = add_report(app, add_sitting(app, tenant_a, "Dora Draft"), released=False)
    withdrawn_id = add_report(app, add_sitting(app, tenant_a, "Walt Withdrawn"), withdrawn=True)
    pilot_id = add_report(app, add_sitting(app, tenant_a, "Pia Pilot", pilot=True))
    other_id = add_report(app, add_sitting(app, tenant_b, "Otto Other"))
    api = Api(app, make_key(app, tenant_a, "read"))

    listed = api.get("/results")
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json["data"]] == [released_id]
    result = api.get(f"/results/{released_id}")
    assert result.status_code == 200
    body = result.json
    assert spec.problems("Result", body) == []
    assert body["invitation_id"] == released.invitation and body["assessment_id"] == released.assessment
    assert body["competencies"] and all("code" in c for c in body["competencies"])
    assert body["versions"]["score"] and body["report_url"].endswith(f"/results/{released_id}/report.pdf")
    assert "Rhea" not in result.get_data(as_text=True)  # ids, not names: the ATS has the candidate
    for hidden in (draft_id, withdrawn_id, pilot_id, other_id):
        for path in (f"/results/{hidden}", f"/results/{hidden}/report.pdf"):
            response = api.get(path)
            assert response.status_code == 404, path
            assert response.mimetype == "application/problem+json"


def test_the_report_pdf_is_rendered_served_and_audited(app, tenant_a):
    sitting = add_sitting(app, tenant_a, "Petra Pdf")
    report_id = add_report(app, sitting)
    api = Api(app, make_key(app, tenant_a, "read"))
    response = api.get(f"/results/{report_id}/report.pdf")  # rendered inline in tests (REPORT_RENDERER)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store, private"
    assert "Petra Pdf" in pdf_text(response.data)
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert "report.downloaded.api" in actions


def test_updated_since_finds_results_released_later(app, tenant_a):
    first = add_report(app, add_sitting(app, tenant_a, "Early Bird"))
    api = Api(app, make_key(app, tenant_a, "read"))
    stamp = api.get(f"/results/{first}").json["updated_at"]
    page = api.get("/results", query_string={"updated_since": stamp})
    assert [r["id"] for r in page.json["data"]] == [first]
    later = api.get("/results", query_string={"updated_since": "2999-01-01T00:00:00Z"})
    assert later.json["data"] == []
