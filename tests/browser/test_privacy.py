"""The candidate page's Privacy panel as an admin, in a real browser: download the export, set and clear a
legal hold, then erase the candidate on request. Each check() also runs axe and saves a screenshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.browser.conftest import LivePage
from tests.conftest import Tenant

pytestmark = pytest.mark.browser


def test_an_admin_exports_holds_and_erases_a_candidate(browser_page: LivePage, tenant_a: Tenant) -> None:
    b, page = browser_page, browser_page.page
    b.goto("/login")
    b.sign_in(tenant_a.admin["email"])
    b.goto(f"/candidates/{tenant_a.candidate_id}")
    name = page.get_by_role("heading", level=1).inner_text()
    panel = page.get_by_role("region", name="Privacy")
    b.check("candidate-privacy-admin")

    with page.expect_download() as download:
        panel.get_by_role("link", name="Download everything held about this candidate (JSON)").click()
    exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert name in json.dumps(exported)

    panel.get_by_label("Reason for a legal hold").fill("Tribunal claim 2026/114")
    panel.get_by_role("button", name="Set a legal hold").click()
    expect(page.get_by_role("status")).to_contain_text("Legal hold set")
    expect(panel).to_contain_text("On legal hold: Tribunal claim 2026/114")
    expect(panel.get_by_role("button", name="Erase")).to_have_count(0)
    b.check("candidate-privacy-hold")

    panel.get_by_role("button", name="Clear the legal hold").click()
    expect(page.get_by_role("status")).to_contain_text("Legal hold cleared")
    panel.get_by_label(f"Erase {name}", exact=False).check()
    panel.get_by_role("button", name="Erase").click()
    expect(page.get_by_role("status")).to_contain_text("have been erased")
    b.check("candidate-erased")
    b.goto(f"/candidates/{tenant_a.candidate_id}")
    assert b.last_status == 404


def test_a_recruiter_reads_a_consent_and_records_its_withdrawal(
    browser_page: LivePage, tenant_a: Tenant, app: Flask
) -> None:
    from sqlalchemy import select

    from assessments import delivery
    from assessments.models import Invitation
    from database import db, unit_of_work, utcnow

    with app.app_context(), unit_of_work():
        invitation = db.session.scalar(select(Invitation).where(Invitation.public_id == tenant_a.invitation_id))
        delivery.record_consent(invitation, 0, utcnow())  # as the candidate's Continue button does
    b, page = browser_page, browser_page.page
    b.goto("/login")
    b.sign_in(tenant_a.recruiter["email"])
    b.goto(f"/candidates/{tenant_a.candidate_id}")
    panel = page.get_by_role("region", name="Privacy")
    expect(panel).to_contain_text("Agreed to take")
    panel.get_by_text("What they agreed to, word for word").click()
    expect(panel).to_contain_text("I have read this and I agree to take the test.")
    b.check("candidate-consent")

    panel.get_by_label("How they withdrew it (optional)").fill("by phone on 2 March")
    panel.get_by_role("button", name="Record that they withdrew consent").click()
    expect(page.get_by_role("status")).to_contain_text("Withdrawal recorded")
    expect(panel).to_contain_text("Withdrawn")
    expect(panel).to_contain_text("by phone on 2 March")
    b.check("candidate-consent-withdrawn")
