"""Sign-in, sessions, sign-out, rate limits and the password policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts import services, throttle
from accounts.models import AuditEvent, User
from accounts.passwords import password_problem
from database import db, unit_of_work, utcnow
from tests.conftest import PASSWORD, TOTP_SECRET, csrf_token, post, sign_in


def user_row(app, email):
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def audit_actions(app, agency_public_id=None):
    with app.app_context():
        stmt = select(AuditEvent.action).order_by(AuditEvent.id)
        if agency_public_id:
            stmt = stmt.where(AuditEvent.agency_public_id == agency_public_id)
        return list(db.session.scalars(stmt))


def test_passwords_are_hashed_with_argon2id(app, tenant_a):
    user = user_row(app, tenant_a.admin["email"])
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_sign_in_rotates_the_session_and_lands_home(app, client, tenant_a):
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    response = sign_in(client, app, tenant_a.recruiter["email"])
    assert response.headers["Location"] == "/"
    with client.session_transaction() as sess:
        assert "planted" not in sess
    home = client.get("/")
    assert home.status_code == 200
    assert tenant_a.agency_name in home.get_data(as_text=True)
    assert "login.succeeded" in audit_actions(app, tenant_a.agency_id)


@pytest.mark.parametrize(
    ("email", "password"),
    [("nobody@nowhere.example", PASSWORD), ("{admin}", "wrong password entirely")],
)
def test_wrong_credentials_get_one_message_and_change_nothing_but_the_trail(app, client, tenant_a, email, password):
    email = email.format(admin=tenant_a.admin["email"])
    before = user_row(app, tenant_a.admin["email"])
    response = post(client, app, "/login", {"email": email, "password": password})
    assert response.status_code == 401
    assert "The email or password is not right." in response.get_data(as_text=True)
    after = user_row(app, tenant_a.admin["email"])
    assert (after.last_login_at, after.session_version) == (before.last_login_at, before.session_version)
    assert audit_actions(app)[-1] == "login.failed"


def test_email_is_matched_without_regard_to_case_or_spaces(app, client, tenant_a):
    sign_in(client, app, "  " + tenant_a.admin["email"].upper() + " ")


def test_a_deactivated_user_cannot_sign_in(app, client, tenant_a):
    with app.app_context(), unit_of_work():
        db.session.scalar(select(User).where(User.email == tenant_a.recruiter["email"])).is_active = False
    response = post(client, app, "/login", {"email": tenant_a.recruiter["email"], "password": PASSWORD})
    assert response.status_code == 401


def test_a_client_user_signs_in_to_the_portal_and_no_staff_page(app, client, tenant_a):
    response = post(client, app, "/login", {"email": tenant_a.client_user["email"], "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/portal"
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"] == "/portal"
    assert client.get("/assessments").status_code == 403


def test_a_forged_session_for_a_client_user_is_treated_as_signed_out(app, client, tenant_a):
    user = user_row(app, tenant_a.client_user["email"])
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
    assert client.get("/").status_code == 302


def test_malformed_sign_in_form_is_a_422_with_field_errors(app, client):
    response = post(client, app, "/login", {"email": "not-an-email", "password": ""})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Enter a valid email address." in body
    assert "Enter your password." in body


def test_sign_out_kills_a_copied_session_cookie(app, client, tenant_a):
    sign_in(client, app, tenant_a.admin["email"])
    stolen = client.get_cookie("rapport").value
    assert post(client, app, "/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("rapport", stolen)
    assert thief.get("/").status_code == 302


def test_deactivation_and_demotion_end_sessions_at_once(app, client, tenant_a):
    recruiter_client = app.test_client()
    sign_in(recruiter_client, app, tenant_a.recruiter["email"])
    assert recruiter_client.get("/").status_code == 200
    sign_in(client, app, tenant_a.admin["email"])
    response = post(
        client,
        app,
        f"/admin/users/{tenant_a.recruiter['public_id']}",
        {"name": tenant_a.recruiter["name"], "role": "recruiter", "client": "", "is_active": ""},
    )
    assert response.status_code == 302
    assert recruiter_client.get("/").status_code == 302

    other_admin = app.test_client()
    with app.app_context(), unit_of_work():
        agency = db.session.scalar(select(User).where(User.email == tenant_a.admin["email"])).agency
        second = services.create_user(
            agency,
            email="second-admin@alpha.example",
            name="Second Admin",
            role=services.Role.ADMIN,
            client=None,
            now=utcnow(),
            by=None,
            password=PASSWORD,
            send_setup_email=False,
        )
        second.totp_secret, second.two_factor_enabled_at = TOTP_SECRET, utcnow()
    sign_in(other_admin, app, "second-admin@alpha.example")
    assert other_admin.get("/admin/users").status_code == 200
    second = user_row(app, "second-admin@alpha.example")
    response = post(
        client,
        app,
        f"/admin/users/{second.public_id}",
        {"name": second.name, "role": "recruiter", "client": "", "is_active": "y"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert other_admin.get("/admin/users").status_code == 302  # demoted: signed out, must sign in again


def test_changing_the_password_ends_other_sessions(app, client, tenant_a):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, app, tenant_a.recruiter["email"])
    sign_in(phone, app, tenant_a.recruiter["email"])
    new = "a much better passphrase"
    response = post(laptop, app, "/account/password", {"current": PASSWORD, "password": new, "confirm": new})
    assert response.status_code == 302
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302
    sign_in(app.test_client(), app, tenant_a.recruiter["email"], new)


def test_changing_the_password_needs_the_current_one(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    new = "a much better passphrase"
    response = post(client, app, "/account/password", {"current": "not it at all", "password": new, "confirm": new})
    assert response.status_code == 422
    assert "current password is not right" in response.get_data(as_text=True)


def test_sessions_end_after_their_absolute_lifetime(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    with client.session_transaction() as sess:
        sess["auth_at"] = (utcnow() - timedelta(hours=12, minutes=1)).timestamp()
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_next_never_leaves_the_site(app, client, tenant_a, target):
    response = post(
        client,
        app,
        f"/login?next={target}",
        {"email": tenant_a.recruiter["email"], "password": PASSWORD},
    )
    assert response.headers["Location"] == "/"


def test_next_returns_to_a_page_of_ours(app, client, tenant_a):
    response = post(
        client, app, "/login?next=/account/password", {"email": tenant_a.recruiter["email"], "password": PASSWORD}
    )
    assert response.headers["Location"] == "/account/password"


def test_an_outdated_hash_is_upgraded_at_sign_in(app, client, tenant_a):
    before = user_row(app, tenant_a.recruiter["email"]).password_hash
    app.config["ARGON2_TIME_COST"] = 2
    sign_in(client, app, tenant_a.recruiter["email"])
    after = user_row(app, tenant_a.recruiter["email"]).password_hash
    assert after != before
    assert "t=2" in after


def test_login_is_limited_per_account_without_revealing_whether_it_exists(app, tenant_a):
    for email in (tenant_a.admin["email"], "ghost@nowhere.example"):
        client = app.test_client()
        for _ in range(throttle.LOGIN_PER_ACCOUNT.max_count):
            assert post(client, app, "/login", {"email": email, "password": "wrong guess here"}).status_code == 401
        blocked = post(client, app, "/login", {"email": email, "password": PASSWORD})
        assert blocked.status_code == 429
        assert int(blocked.headers["Retry-After"]) > 0
        assert "Too many attempts" in blocked.get_data(as_text=True)
    # Another account from the same address is not blocked by these.
    sign_in(app.test_client(), app, tenant_a.recruiter["email"])


def test_login_is_limited_per_address(app, tenant_a):
    client = app.test_client()
    limit = throttle.LOGIN_PER_ADDRESS.max_count
    for i in range(limit):
        post(client, app, "/login", {"email": f"spray{i}@nowhere.example", "password": "wrong guess here"})
    blocked = post(client, app, "/login", {"email": tenant_a.recruiter["email"], "password": PASSWORD})
    assert blocked.status_code == 429
    elsewhere = app.test_client()
    response = post(
        elsewhere,
        app,
        "/login",
        {"email": tenant_a.recruiter["email"], "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert response.status_code == 302


def test_limit_windows_expire(ctx):
    now = utcnow()
    limit = throttle.LOGIN_PER_ACCOUNT
    for _ in range(limit.max_count):
        throttle.count_hit(limit, "someone@x.example", now)
    assert throttle.retry_after(limit, "someone@x.example", now + timedelta(minutes=1)) == 14 * 60
    assert throttle.retry_after(limit, "someone@x.example", now + limit.window) is None
    throttle.count_hit(limit, "someone@x.example", now + limit.window)
    assert throttle.retry_after(limit, "someone@x.example", now + limit.window) is None


def test_counters_store_no_email_or_address(ctx):
    from accounts.models import RateLimitCounter

    throttle.count_hit(throttle.LOGIN_PER_ACCOUNT, "private@x.example", utcnow())
    keys = list(db.session.scalars(select(RateLimitCounter.key)))
    assert keys
    assert all("@" not in key and len(key) == 64 for key in keys)


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short", False),
        ("password1234", False),
        ("aaaaaaaaaaaaaaaa", False),
        ("x" * 129, False),
        ("correct horse battery", True),
        ("  spaces kept as typed  ", True),
        ("ünïcödé pässwörd ok", True),
        ("y7#" * 21 + "z", True),  # 64 characters
    ],
)
def test_password_policy(password, ok):
    assert (password_problem(password) is None) is ok


def test_password_may_not_contain_the_email_name(ctx):
    assert password_problem("jordan.lee is great", email="jordan.lee@x.example") is not None


def test_passwords_are_checked_exactly_as_typed(app, client, tenant_a):
    response = post(client, app, "/login", {"email": tenant_a.admin["email"], "password": f" {PASSWORD} "})
    assert response.status_code == 401


def test_csrf_token_is_required_for_sign_in(app, client, tenant_a):
    response = client.post("/login", data={"email": tenant_a.admin["email"], "password": PASSWORD})
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert audit_actions(app)[-1] == "access.denied.csrf"


def test_a_token_from_another_session_is_refused(app, client, tenant_a):
    other = app.test_client()
    foreign = csrf_token(other, app)
    csrf_token(client, app)
    response = client.post(
        "/login", data={"email": tenant_a.admin["email"], "password": PASSWORD, "csrf_token": foreign}
    )
    assert response.status_code == 400


def test_sign_out_needs_post_with_csrf(app, client, tenant_a):
    sign_in(client, app, tenant_a.admin["email"])
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200
