"""Browser tests: Debian's Chromium driven by Playwright against a live server on a fresh SQLite database.

Every page a test looks at goes through `LivePage.check()`: it asserts the document's HTTP status, that
the console shows no errors (a CSP violation is one), that axe finds no accessibility violations, and
saves a full-page screenshot to docs/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import ConsoleMessage, Page, Response
from werkzeug.serving import make_server

from tests.conftest import CI, PASSWORD, Mailbox, Tenant, build_tenant, two_factor_code

CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}
# What Chromium logs when a document answers with an error status: expected for a 401, 404 or 422 page,
# whose status check() asserts; the same message for a stylesheet or any other resource is a failure.
FAILED_RESOURCE = "Failed to load resource: the server responded with a status of"

AXE = Axe()


def _chromium_missing() -> str | None:
    if Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK):
        return None
    return f"Chromium not found at {CHROMIUM} (set CHROMIUM_PATH, or apt-get install chromium)"


@pytest.fixture(scope="session", autouse=True)
def _require_chromium() -> None:
    """Skip the browser tests when Chromium is missing; CI=true makes that a failure."""
    reason = _chromium_missing()
    if reason:
        if CI:
            pytest.fail(f"{reason}; CI=true requires the browser tests to run")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Playwright turns the back/forward cache off; real browsers use it, and the sign-out test needs it.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "ignore_default_args": ["--disable-back-forward-cache"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": DESKTOP, "locale": "en-GB", "timezone_id": "UTC"}


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """SQLite only: replaces the root conftest's fixture, which also runs each test on PostgreSQL."""
    target = tmp_path / "rapport.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served over HTTP on a free port, in a daemon thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class LivePage:
    """A page on the live server that records console errors and the status of each document it loads."""

    def __init__(self, page: Page, base_url: str, app: Flask | None = None) -> None:
        self.page = page
        self.base_url = base_url
        self.app = app  # to work out the two-factor codes of the users that sign_in() signs in
        self.errors: list[str] = []
        self.documents: dict[str, int] = {}
        self.last_status: int | None = None
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught exception: {exc}"))
        page.on("response", self._on_response)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        if message.text.startswith(FAILED_RESOURCE) and where in self.documents and self.documents[where] >= 400:
            return  # the document's own status, which check() asserts
        self.errors.append(f"{message.text} (at {where or 'unknown'})")

    def _on_response(self, response: Response) -> None:
        if response.request.is_navigation_request() and response.frame == self.page.main_frame:
            self.documents[response.url] = response.status
            self.last_status = response.status

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str) -> None:
        self.page.goto(self.url(path))

    @property
    def path(self) -> str:
        return self.page.url.removeprefix(self.base_url)

    def check(self, name: str, status: int = 200) -> None:
        """Assert the current page's status, no console errors and no axe violations; save a screenshot."""
        page = self.page
        page.wait_for_load_state("load")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
        assert self.last_status == status, f"{name}: {self.path} answered {self.last_status}, expected {status}"
        self.assert_no_console_errors(name)
        results = AXE.run(page)
        if results.violations_count:
            print(results.generate_report())
        assert results.violations_count == 0, f"{name}: {results.generate_snapshot()}"

    def assert_no_console_errors(self, name: str) -> None:
        errors, self.errors = self.errors, []
        assert errors == [], f"{name}: console errors on {self.path}: {errors}"

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        """Fill in and submit the sign-in form on the current page, and the two-factor code when asked for one."""
        page = self.page
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password", exact=True).fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        if self.path == "/login/two-factor" and self.app is not None:
            page.get_by_label("Code", exact=True).fill(two_factor_code(self.app, email))
            with page.expect_navigation():
                page.get_by_role("button", name="Continue").click()


@pytest.fixture
def browser_page(page: Page, live_server: str, app: Flask) -> Iterator[LivePage]:
    """A fresh page on the live server; fails the test if console errors were left unchecked."""
    visitor = LivePage(page, live_server, app)
    yield visitor
    visitor.assert_no_console_errors("end of test")


@pytest.fixture
def tenant_a(app: Flask, mailbox: Mailbox) -> Tenant:
    """Stable names (each browser test has a database of its own), so screenshots change only with the pages."""
    tenant = build_tenant(app, "Northbridge", suffix="")
    mailbox.clear()
    return tenant


# --- Keyboard and layout probes shared by the recruiter journeys ---------------------------------------


def focused(page: Page) -> dict[str, str]:
    """The focused element's tag, name, type and accessible text."""
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return {tag: e.tagName.toLowerCase(), name: e.name || '', type: e.type || '',"
        " text: (e.innerText || e.value || '').trim()}; }"
    )


def tab_to(page: Page, *, name: str = "", text: str = "", limit: int = 80) -> list[dict[str, str]]:
    """Press Tab until a field named `name` (or a button or link with `text`) has the focus; the walk."""
    walk = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        here = focused(page)
        walk.append(here)
        if (name and here["name"] == name) or (text and here["text"] == text):
            return walk
    raise AssertionError(f"Tab never reached {name or text}: {walk}")


def sideways(page: Page, width: int) -> str:
    """ "" when nothing on the page is wider than `width` pixels; otherwise what sticks out."""
    if page.evaluate("document.documentElement.scrollWidth") <= width:
        return ""
    return page.evaluate(
        """width => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > width).slice(0, 5)
            .map(e => `${e.tagName.toLowerCase()}.${e.className} (${Math.round(e.getBoundingClientRect().right)}px)`)
            .join(', ')""",
        width,
    )
