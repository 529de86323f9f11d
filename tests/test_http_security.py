"""The web security baseline on every response: headers, cookies, error pages, body limits, logs."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import PASSWORD, post, sign_in

REQUIRED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def assert_secure_headers(response, *, cached_ok=False):
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    for name, value in REQUIRED.items():
        assert response.headers[name] == value
    if not cached_ok:
        assert "no-store" in response.headers["Cache-Control"]


def get_routes(app):
    for rule in app.url_map.iter_rules():
        if "GET" in (rule.methods or ()) and not rule.arguments:
            yield rule.rule


def test_headers_on_every_page_signed_in_or_not(app, tenant_a):
    anonymous = app.test_client()
    admin = app.test_client()
    sign_in(admin, app, tenant_a.admin["email"])
    for client in (anonymous, admin):
        for url in get_routes(app):
            assert_secure_headers(client.get(url))


@pytest.mark.parametrize("url", ["/no-such-page", "/admin/users/unknown-id", "/static/css/app.css", "/healthz"])
def test_headers_on_errors_static_and_json(app, client, url):
    assert_secure_headers(client.get(url), cached_ok=url.startswith("/static"))


def test_headers_on_an_unexpected_error(app, client):
    @app.get("/explode")
    def explode():
        raise RuntimeError("secret detail")

    explode.access_policy = __import__("accounts.access", fromlist=["AccessPolicy"]).AccessPolicy(roles=None)
    response = client.get("/explode")
    assert response.status_code == 500
    assert_secure_headers(response)
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "secret detail" not in body and "Traceback" not in body


def test_hsts_only_in_production(app, client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_session_cookie_flags(app, client, tenant_a):
    response = post(client, app, "/login", {"email": tenant_a.admin["email"], "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_oversized_body_is_refused_with_413(app, client):
    response = client.post("/login", data={"email": "x@y.example", "password": "p" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_wrong_method_is_a_405_page(app, client):
    response = client.delete("/login")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    "url", ["/admin/audit?action=nonsense", "/admin/emails?status=nonsense", "/admin/audit?after=gone"]
)
def test_bad_query_parameters_are_a_400(app, client, tenant_a, url):
    sign_in(client, app, tenant_a.admin["email"])
    response = client.get(url)
    assert response.status_code == 400


def test_hostile_text_is_escaped(app, client, tenant_a):
    sign_in(client, app, tenant_a.admin["email"])
    payload = '<script>alert(1)</script>"><img src=x onerror=alert(2)>{{7*7}}'
    response = post(client, app, "/admin/clients/new", {"name": payload[:120], "contact_email": "", "notes": payload})
    assert response.status_code == 302
    body = client.get("/admin/clients").get_data(as_text=True)
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "{{7*7}}" in body  # shown as typed, never evaluated (a search for "49" also met random ids)


def test_no_tokens_passwords_or_emails_in_logs(app, client, mailbox, tenant_a, caplog):
    caplog.set_level(logging.DEBUG)
    post(client, app, "/login", {"email": tenant_a.admin["email"], "password": "a wrong password"})
    sign_in(client, app, tenant_a.admin["email"])
    post(app.test_client(), app, "/password/forgot", {"email": tenant_a.recruiter["email"]})
    token = mailbox.links()[0].rsplit("/", 1)[1]
    app.test_client().get(f"/password/reset/{token}")
    # The test SMTP server (aiosmtpd, logger "mail.log") logs what it receives; that is not our log.
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    for secret in (
        PASSWORD,
        "a wrong password",
        token,
        tenant_a.admin["email"],
        tenant_a.recruiter["email"],
        tenant_a.admin["name"],
    ):
        assert secret not in logged


def test_werkzeug_request_log_masks_link_tokens():
    from http_security import ScrubTokens

    record = logging.LogRecord(
        "werkzeug", logging.INFO, "", 0, '"%s" %s', ("GET /password/reset/abc.def.ghi HTTP/1.1", 302), None
    )
    ScrubTokens().filter(record)
    assert "abc.def.ghi" not in record.getMessage()
    assert "/password/reset/[redacted]" in record.getMessage()
    link = logging.LogRecord("werkzeug", logging.INFO, "", 0, '"%s" %s', ("GET /t/eyJpIjo.abc.def HTTP/1.1", 200), None)
    ScrubTokens().filter(link)
    assert "eyJpIjo" not in link.getMessage()
