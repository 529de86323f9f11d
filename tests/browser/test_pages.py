"""The pages in a real browser: sign-in, the admin pages and their forms, sign-out, errors, a phone-sized screen.

Each check() also runs axe, asserts a clean console and saves a screenshot to docs/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MOBILE, LivePage
from tests.conftest import Tenant

pytestmark = pytest.mark.browser


def test_sign_in_pages_and_a_wrong_password(browser_page: LivePage, tenant_a: Tenant) -> None:
    b, page = browser_page, browser_page.page
    b.goto("/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Rapport")
    b.check("login")

    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    b.check("forgot-password")

    page.get_by_role("link", name="Back to sign in").click()
    b.sign_in(tenant_a.recruiter["email"], "not the password")
    assert b.path == "/login"
    expect(page.get_by_role("alert")).to_contain_text("The email or password is not right.")
    expect(page.get_by_label("Email address")).to_have_value(tenant_a.recruiter["email"])
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(page.get_by_text(tenant_a.agency_name)).to_have_count(0)
    b.check("login-wrong-password", status=401)


def test_a_recruiter_signs_in_and_sees_the_agency(browser_page: LivePage, tenant_a: Tenant) -> None:
    b, page = browser_page, browser_page.page
    b.goto("/login")
    b.sign_in(tenant_a.recruiter["email"])
    assert b.path == "/"
    expect(page.get_by_role("heading", level=1)).to_have_text(tenant_a.agency_name)
    expect(page.get_by_text(f"Welcome, {tenant_a.recruiter['name']}.")).to_be_visible()
    expect(page.get_by_role("cell", name=tenant_a.client_name)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)  # admin pages are not offered
    b.check("home-recruiter")


def test_an_admin_uses_every_admin_page(browser_page: LivePage, tenant_a: Tenant) -> None:
    b, page = browser_page, browser_page.page
    nav = page.get_by_role("navigation", name="Main")
    heading = page.get_by_role("heading", level=1)
    b.goto("/login")
    b.sign_in(tenant_a.admin["email"])
    expect(heading).to_have_text(tenant_a.agency_name)
    b.check("home-admin")

    nav.get_by_role("link", name="Users").click()
    expect(heading).to_have_text("Users")
    expect(nav.get_by_role("link", name="Users")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name=tenant_a.recruiter["name"])).to_be_visible()
    b.check("admin-users")
    page.get_by_role("link", name="Add a user").click()
    expect(heading).to_have_text("Add a user")
    b.check("admin-user-new")
    nav.get_by_role("link", name="Users").click()
    page.get_by_role("link", name=tenant_a.recruiter["name"]).click()
    expect(heading).to_have_text(tenant_a.recruiter["name"])
    expect(page.get_by_label("May sign in")).to_be_checked()
    b.check("admin-user-edit")

    nav.get_by_role("link", name="Clients").click()
    expect(heading).to_have_text("Clients")
    b.check("admin-clients")
    page.get_by_role("link", name="Add a client").click()
    expect(heading).to_have_text("Add a client")
    b.check("admin-client-new")
    page.get_by_label("Company name").fill("Northwind Logistics")
    page.get_by_label("Contact email (optional)").fill("hiring@northwind.example")
    page.get_by_label("Notes (optional)").fill("Warehouse and office roles.")
    page.get_by_role("button", name="Add client").click()
    expect(heading).to_have_text("Clients")
    expect(page.get_by_role("status")).to_have_text("Client added.")
    row = page.get_by_role("row").filter(has_text="Northwind Logistics")
    expect(row).to_contain_text("hiring@northwind.example")
    b.check("admin-clients-after-adding")
    row.get_by_role("link", name="Northwind Logistics").click()
    expect(heading).to_have_text("Northwind Logistics")
    expect(page.get_by_label("Notes (optional)")).to_have_value("Warehouse and office roles.")
    b.check("admin-client-edit")

    nav.get_by_role("link", name="Emails").click()
    expect(heading).to_have_text("Emails")
    expect(page.get_by_role("table")).to_be_visible()
    b.check("admin-emails")

    nav.get_by_role("link", name="Audit log").click()
    expect(heading).to_have_text("Audit log")
    expect(page.get_by_role("row").filter(has_text="client.created").filter(has_text="Northwind")).to_have_count(1)
    expect(page.get_by_role("cell", name=re.compile(r"\bNone\b"))).to_have_count(0)
    b.check("admin-audit-log")

    nav.get_by_role("link", name="Settings").click()
    expect(heading).to_have_text("Agency settings")
    b.check("admin-settings")
    retention = page.get_by_label("Keep candidate data for (months)")
    retention.fill("0")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert")).to_have_text("Please correct the fields marked below.")
    expect(page.get_by_text("Choose between 1 and 120 months.")).to_be_visible()
    expect(retention).to_have_attribute("aria-invalid", "true")
    expect(retention).to_have_attribute("aria-describedby", re.compile(r"\bretention_months-error\b"))
    expect(retention).to_have_css("border-top-color", "rgb(164, 38, 44)")  # --bad: the field is marked in red
    b.check("admin-settings-invalid", status=422)
    retention.fill("24")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_have_text("Settings saved.")
    expect(retention).to_have_value("24")
    expect(page.get_by_role("alert")).to_have_count(0)
    b.check("admin-settings-saved")


def test_signing_out_ends_the_session_for_back_and_reload(browser_page: LivePage, tenant_a: Tenant) -> None:
    b, page = browser_page, browser_page.page
    agency = page.get_by_text(tenant_a.agency_name)
    b.goto("/login")
    b.sign_in(tenant_a.recruiter["email"])
    expect(agency.first).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    assert b.path == "/login"
    b.check("signed-out")

    # The browser keeps a back/forward cache (see conftest); a page restored from it fires no "load".
    page.go_back(wait_until="commit")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Rapport")
    expect(agency).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Rapport")
    expect(agency).to_have_count(0)
    b.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    expect(agency).to_have_count(0)
    b.assert_no_console_errors("after signing out")


def test_a_missing_page_answers_404(browser_page: LivePage, tenant_a: Tenant) -> None:
    b, page = browser_page, browser_page.page
    b.goto("/no-such-page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    b.check("not-found", status=404)


@pytest.mark.browser_context_args(viewport=MOBILE)
def test_a_phone_sized_screen(browser_page: LivePage, tenant_a: Tenant) -> None:
    b, page = browser_page, browser_page.page
    b.goto("/login")
    b.check("login-mobile")
    b.sign_in(tenant_a.admin["email"])
    expect(page.get_by_role("heading", level=1)).to_have_text(tenant_a.agency_name)
    # Nothing is wider than the screen (a table may scroll inside its own box).
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    b.check("home-mobile")
