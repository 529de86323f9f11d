"""Two-factor sign-in in a real browser: set-up with the QR code and typed secret, the recovery codes, the code
step of sign-in, and an admin sent to set-up. Each check() runs axe and saves a screenshot."""

from __future__ import annotations

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from accounts import two_factor
from accounts.models import User
from database import db, unit_of_work, utcnow
from tests.browser.conftest import MOBILE, LivePage
from tests.conftest import PASSWORD, Tenant, two_factor_code

pytestmark = pytest.mark.browser


def test_a_recruiter_sets_up_two_factor_sign_in(browser_page: LivePage, tenant_a: Tenant) -> None:
    b, page = browser_page, browser_page.page
    heading = page.get_by_role("heading", level=1)
    b.goto("/login")
    b.sign_in(tenant_a.recruiter["email"])  # a password only: it is off
    page.get_by_role("link", name="Two-factor sign-in").click()
    expect(heading).to_have_text("Two-factor sign-in")
    expect(page.get_by_text("Two-factor sign-in is off.")).to_be_visible()
    b.check("two-factor-off")

    page.get_by_role("link", name="Set up two-factor sign-in").click()
    expect(heading).to_have_text("Set up two-factor sign-in")
    expect(page.get_by_role("img", name="QR code that adds Rapport to an authenticator app")).to_be_visible()
    expect(page.get_by_text("Agency admins must use two-factor sign-in")).to_have_count(0)
    grouped = page.locator(".secret-key code").inner_text()
    assert [len(part) for part in grouped.split()] == [4] * 8
    b.check("two-factor-setup")

    page.get_by_label("6-digit code from your app").fill("000000")
    with page.expect_navigation():
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_text("That code is not right.")).to_be_visible()
    b.check("two-factor-setup-wrong-code", status=422)

    page.get_by_label("6-digit code from your app").fill(pyotp.TOTP(grouped.replace(" ", "")).now())
    with page.expect_navigation():
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(heading).to_have_text("Save your recovery codes")
    expect(page.locator(".recovery-codes li")).to_have_count(two_factor.RECOVERY_CODE_COUNT)
    b.check("two-factor-recovery-codes")
    page.set_viewport_size(MOBILE)
    b.check("two-factor-recovery-codes-mobile")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("link", name="I have saved my codes").click()
    expect(page.get_by_text("Two-factor sign-in is on")).to_be_visible()
    expect(page.get_by_text("You have 10 unused recovery codes.")).to_be_visible()
    b.check("two-factor-on")


def test_an_admin_enters_a_code_to_sign_in(browser_page: LivePage, tenant_a: Tenant, app: Flask) -> None:
    b, page = browser_page, browser_page.page
    b.goto("/login")
    page.get_by_label("Email address").fill(tenant_a.admin["email"])
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert b.path == "/login/two-factor"
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    expect(page.get_by_label("Code", exact=True)).to_have_attribute("autocomplete", "one-time-code")
    b.check("login-two-factor")

    page.get_by_label("Code", exact=True).fill("12345678")
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("That code is not right.")).to_be_visible()
    expect(page.get_by_label("Code", exact=True)).to_have_attribute("aria-invalid", "true")
    b.check("login-two-factor-wrong-code", status=401)

    page.get_by_label("Code", exact=True).fill(two_factor_code(app, tenant_a.admin["email"]))
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(tenant_a.agency_name)
    page.get_by_role("link", name="Two-factor sign-in").click()
    expect(page.get_by_text("Agency admins must keep two-factor sign-in on.")).to_be_visible()
    expect(page.get_by_role("button", name="Turn off two-factor sign-in")).to_have_count(0)
    b.check("two-factor-on-admin")


def test_an_admin_without_it_is_sent_to_set_up(browser_page: LivePage, tenant_a: Tenant, app: Flask) -> None:
    b, page = browser_page, browser_page.page
    with app.app_context(), unit_of_work():
        two_factor.reset(db.session.scalar(select(User).where(User.email == tenant_a.admin["email"])), utcnow())
    b.goto("/login")
    b.sign_in(tenant_a.admin["email"])
    assert b.path == "/account/two-factor/setup"
    expect(page.get_by_text("Agency admins must use two-factor sign-in")).to_be_visible()
    b.check("two-factor-setup-required")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)  # nowhere else to go
    b.goto("/admin/users")
    assert b.path == "/account/two-factor/setup"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Rapport")
