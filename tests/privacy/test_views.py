"""The privacy actions on the candidate page: export for staff, legal hold and erasure for admins only."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from accounts.models import AuditEvent
from database import db
from tests.conftest import post, sign_in
from tests.privacy.builders import candidate_by, seed_person


def signed_in(app, person: dict[str, str]):
    client = app.test_client()
    sign_in(client, app, person["email"])
    return client


def exists(app, public_id: str) -> bool:
    with app.app_context():
        return candidate_by(public_id) is not None


def test_an_admin_erases_a_candidate_after_confirming(app, tenant_a):
    person = seed_person(app, tenant_a, "Marisol")
    admin = signed_in(app, tenant_a.admin)
    page = admin.get(f"/candidates/{person.candidate}").get_data(as_text=True)
    assert "Erase this candidate" in page and "Set a legal hold" in page and "12 months" in page

    response = post(admin, app, f"/candidates/{person.candidate}/erase", {})
    assert response.status_code == 302 and response.headers["Location"].endswith("#privacy")
    assert exists(app, person.candidate)
    assert "Tick the box" in admin.get(response.headers["Location"]).get_data(as_text=True)

    response = post(admin, app, f"/candidates/{person.candidate}/erase", {"confirm": "yes"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/candidates")
    assert not exists(app, person.candidate)
    listing = admin.get("/candidates").get_data(as_text=True)
    assert "have been erased" in listing and person.name not in listing
    assert admin.get(f"/candidates/{person.candidate}").status_code == 404


def test_recruiters_cannot_erase_or_hold_and_other_agencies_get_404(app, tenant_a, tenant_b):
    person = seed_person(app, tenant_a, "Anselma")
    recruiter = signed_in(app, tenant_a.recruiter)
    page = recruiter.get(f"/candidates/{person.candidate}").get_data(as_text=True)
    assert "Download everything held" in page and "Erase this candidate" not in page
    assert post(recruiter, app, f"/candidates/{person.candidate}/erase", {"confirm": "yes"}).status_code == 403
    assert (
        post(recruiter, app, f"/candidates/{person.candidate}/legal-hold", {"hold": "set", "reason": "x"}).status_code
        == 403
    )

    other_admin = signed_in(app, tenant_b.admin)
    assert post(other_admin, app, f"/candidates/{person.candidate}/erase", {"confirm": "yes"}).status_code == 404
    assert (
        post(other_admin, app, f"/candidates/{person.candidate}/legal-hold", {"hold": "set", "reason": "x"}).status_code
        == 404
    )
    assert other_admin.get(f"/candidates/{person.candidate}/export.json").status_code == 404
    assert exists(app, person.candidate)


def test_a_legal_hold_set_on_the_page_blocks_erasure(app, tenant_a):
    person = seed_person(app, tenant_a, "Theodora")
    admin = signed_in(app, tenant_a.admin)
    url = f"/candidates/{person.candidate}"
    response = post(admin, app, f"{url}/legal-hold", {"hold": "set", "reason": ""})
    assert "Give the reason" in admin.get(response.headers["Location"]).get_data(as_text=True)
    post(admin, app, f"{url}/legal-hold", {"hold": "set", "reason": "Claim at the employment tribunal"})
    page = admin.get(url).get_data(as_text=True)
    assert (
        "On legal hold:" in page and "Claim at the employment tribunal" in page and "Erase this candidate" not in page
    )

    response = post(admin, app, f"{url}/erase", {"confirm": "yes"})
    assert "on legal hold" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert exists(app, person.candidate)

    post(admin, app, f"{url}/legal-hold", {"hold": "clear"})
    assert "Erase this candidate" in admin.get(url).get_data(as_text=True)
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("candidate.%"))))
    assert actions == ["candidate.legal_hold_set", "candidate.legal_hold_cleared"]


def test_staff_download_the_export_as_an_uncached_attachment(app, tenant_a):
    person = seed_person(app, tenant_a, "Cordelia")
    recruiter = signed_in(app, tenant_a.recruiter)
    response = recruiter.get(f"/candidates/{person.candidate}/export.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="candidate-export-\d{4}-\d{2}-\d{2}\.json"', disposition)
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    data = json.loads(response.get_data(as_text=True))
    assert data["candidate"]["name"] == person.name and data["invitations"][0]["id"] == person.invitation
    assert tenant_a.candidate_id not in response.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "candidate.exported")).one()
    assert event.actor_public_id == tenant_a.recruiter["public_id"] and event.object_public_id == person.candidate
