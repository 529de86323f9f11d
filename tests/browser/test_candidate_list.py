"""The recruiter's candidate list in a real browser, in each of its paging states: an exact count with "Page 1 of
3", a count past the cap ("More than ..."), pages followed by their links, and a page past the end. The cap and
the page length are made small so that a handful of candidates is a large agency. Each check() also runs axe and
saves a screenshot."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import LivePage
from tests.conftest import Tenant

pytestmark = pytest.mark.browser

NAMES = ("Ann Archer", "Bea Bird", "Cal Cole", "Dee Dunn", "Eli East")


def add_candidates(app: Flask, tenant: Tenant) -> None:
    from accounts.models import Agency
    from candidates import services
    from database import db, unit_of_work, utcnow

    with app.app_context(), unit_of_work():
        agency = db.session.scalars(select(Agency.id).where(Agency.public_id == tenant.agency_id)).one()
        for name in NAMES:
            email = name.lower().replace(" ", ".") + "@people.example"
            services.create_candidate(agency, name=name, email=email, by=None, now=utcnow())


def test_a_recruiter_pages_through_a_large_candidate_list(
    browser_page: LivePage, tenant_a: Tenant, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from candidates import queries

    add_candidates(app, tenant_a)  # six candidates with the tenant's own
    monkeypatch.setattr(queries, "PER_PAGE", 2)
    monkeypatch.setattr(queries, "COUNT_CAP", 10)
    b, page = browser_page, browser_page.page
    b.goto("/login")
    b.sign_in(tenant_a.recruiter["email"])

    b.goto("/candidates")
    expect(page.get_by_text("6 candidates.")).to_be_visible()
    pages = page.get_by_role("navigation", name="Pages of candidates")
    expect(pages).to_contain_text("Page 1 of 3")
    b.check("candidates-list")

    monkeypatch.setattr(queries, "COUNT_CAP", 4)  # now more candidates than the list counts
    b.goto("/candidates")
    expect(page.get_by_text("More than 4 candidates.")).to_be_visible()
    expect(pages).to_contain_text("Page 1")
    expect(pages).not_to_contain_text(" of ")
    pages.get_by_role("link", name="Next page").click()
    expect(pages).to_contain_text("Page 2")
    expect(page.get_by_role("link", name="Cal Cole")).to_be_visible()
    b.check("candidates-list-more-than-the-cap")

    b.goto("/candidates?page=9")
    expect(page.get_by_text("There are no candidates on page 9")).to_be_visible()
    expect(pages.get_by_role("link", name="Next page")).to_have_count(0)
    b.check("candidates-list-past-the-end")
