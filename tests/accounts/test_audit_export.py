"""The audit-log export: the agency's events as JSON Lines, admins only, itself audited."""

from __future__ import annotations

import json

from sqlalchemy import select

from accounts.models import AuditEvent
from database import db
from tests.conftest import sign_in


def test_an_admin_downloads_the_agencys_audit_log_and_nothing_else(app, tenant_a, tenant_b):
    admin = app.test_client()
    sign_in(admin, app, tenant_a.admin["email"])
    response = admin.get("/admin/audit/export.jsonl")
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="rapport-audit-')
    assert response.headers["Cache-Control"] == "no-store, private"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    with app.app_context():
        own = set(
            db.session.scalars(select(AuditEvent.public_id).where(AuditEvent.agency_public_id == tenant_a.agency_id))
        )
        others = set(
            db.session.scalars(select(AuditEvent.public_id).where(AuditEvent.agency_public_id == tenant_b.agency_id))
        )
    assert {line["id"] for line in lines} == own
    assert others and not others & {line["id"] for line in lines}
    assert lines[-1]["action"] == "audit.exported"  # recorded before the export began
    body = response.get_data(as_text=True)
    for secret in (tenant_a.admin["email"], tenant_a.admin["name"], tenant_b.agency_id):
        assert secret not in body

    logins = admin.get("/admin/audit/export.jsonl?action=login").get_data(as_text=True).splitlines()
    assert logins and all(json.loads(line)["action"].startswith("login") for line in logins)
    assert admin.get("/admin/audit/export.jsonl?action=nonsense").status_code == 400
    assert 'href="/admin/audit/export.jsonl"' in admin.get("/admin/audit").get_data(as_text=True)

    # Read in batches: a batch smaller than the log gives the same lines (and the later export's event).
    with app.test_request_context():
        from accounts import queries
        from accounts.models import Agency

        agency = db.session.scalars(select(Agency).where(Agency.public_id == tenant_a.agency_id)).one()
        batched = [json.loads(x)["id"] for x in queries.audit_export_lines(agency, action_prefix=None, batch=2)]
        assert batched[: len(lines)] == [line["id"] for line in lines] and len(batched) == len(lines) + 1

    recruiter = app.test_client()
    sign_in(recruiter, app, tenant_a.recruiter["email"])
    assert recruiter.get("/admin/audit/export.jsonl").status_code == 403
