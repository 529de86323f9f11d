"""The Integrations pages in a real browser: an admin creates an API key (shown once), revokes it, adds a webhook
endpoint on this machine and sends it a signed test event.

Each check() also runs axe, asserts a clean console and saves a screenshot to docs/screenshots/.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from playwright.sync_api import expect

import webhooks
from tests.browser.conftest import LivePage
from tests.conftest import Tenant

pytestmark = pytest.mark.browser


class Receiver(BaseHTTPRequestHandler):
    """An applicant-tracking system's endpoint: keeps what it was sent and answers 204."""

    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/rapport/events"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.app_config(WEBHOOK_ALLOW_LOOPBACK=True)
def test_an_admin_sets_up_an_api_key_and_a_webhook(browser_page: LivePage, tenant_a: Tenant, receiver: str) -> None:
    b, page = browser_page, browser_page.page
    heading = page.get_by_role("heading", level=1)
    nav = page.get_by_role("navigation", name="Main")
    b.goto("/login")
    b.sign_in(tenant_a.admin["email"])

    nav.get_by_role("link", name="Integrations").click()
    expect(heading).to_have_text("API keys")
    expect(nav.get_by_role("link", name="Integrations")).to_have_attribute("aria-current", "page")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("Give the key a name, such as the system that will use it.").last).to_be_visible()
    b.check("integrations-api-keys-invalid", status=422)

    page.get_by_label("Name").fill("Greenhouse")
    page.get_by_label("Read and write").check()
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("status")).to_contain_text("Copy this key now. Rapport keeps only a fingerprint of it")
    key = page.get_by_label("API key", exact=True).input_value()
    assert re.fullmatch(r"rpk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}", key)
    row = page.get_by_role("row").filter(has_text="Greenhouse")
    expect(row).to_contain_text("Read and write")
    expect(row).to_contain_text(key[:16] + "_…")
    b.check("integrations-api-keys")

    b.goto("/admin/integrations/api-keys")  # opened again: the key is gone for good
    expect(page.get_by_label("API key", exact=True)).to_have_count(0)
    assert key not in page.content()
    row.get_by_role("button", name="Revoke the key “Greenhouse”").click()
    expect(page.get_by_role("status")).to_have_text(
        "The key “Greenhouse” is revoked. Requests made with it are now refused."
    )
    expect(row).to_contain_text("Revoked")
    expect(row.get_by_role("button")).to_have_count(0)
    b.check("integrations-api-keys-revoked")

    page.get_by_role("navigation", name="Integrations").get_by_role("link", name="Webhooks").click()
    expect(heading).to_have_text("Webhooks")
    page.get_by_label("Address (URL)").fill(receiver)
    page.get_by_label("Description (optional)").fill("Greenhouse on the test machine")
    page.get_by_label("A candidate submitted a test").check()
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.get_by_role("textbox", name="Signing secret").input_value()
    assert secret.startswith("whsec_")
    b.check("integrations-webhooks")

    page.get_by_role("link", name="Open the endpoint's page").click()
    expect(heading).to_have_text("Webhook endpoint")
    expect(page.get_by_role("textbox", name="Signing secret")).to_have_count(0)
    page.get_by_role("button", name="Send a test event").click()
    expect(page.get_by_role("status")).to_have_text("Test event sent. Its delivery appears below.")
    delivery = page.get_by_role("row").filter(has_text="Test event")
    expect(delivery).to_contain_text("Delivered")
    expect(delivery).to_contain_text("HTTP 204")
    [(headers, body)] = Receiver.received
    assert webhooks.verify(secret, headers, body, now=int(time.time()))
    b.check("integrations-webhook")

    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_contain_text("Endpoint disabled.")
    expect(page.get_by_role("button", name="Send a test event")).to_have_count(0)
    page.get_by_role("button", name="Rotate secret").click()
    rotated = page.get_by_role("textbox", name="Signing secret").input_value()
    assert rotated.startswith("whsec_") and rotated != secret
    b.check("integrations-webhook-rotated")
