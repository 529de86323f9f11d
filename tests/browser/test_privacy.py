"""The candidate page's Privacy panel as an admin, in a real browser: download the export, set and clear a
legal hold, then erase the candidate on request. Each check() also runs axe and saves a screenshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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
