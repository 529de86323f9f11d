"""Two-factor sign-in: set-up, the code step of sign-in, single use, rate limits, recovery codes, the admin rule
and the operator's reset."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from accounts import throttle, two_factor
from accounts.access import policy_of
from accounts.models import ADMIN_ONLY, AuditEvent, RateLimitCounter, RecoveryCode, User
from database import db, unit_of_work, utcnow
from tests.conftest import PASSWORD, TOTP_SECRET, post, sign_in, two_factor_code

CODE_PAGE = "/login/two-factor"
WRONG = "That code is not right."


def user_row(app, email):
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def audit_actions(app):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def password_step(client, app, email, password=PASSWORD):
    response = post(client, app, "/login", {"email": email, "password": password})
    assert response.status_code == 302
    assert response.headers["Location"] == CODE_PAGE
    return response


def enter_code(client, app, code, **kw):
    return post(client, app, CODE_PAGE, {"code": code}, **kw)


def code_at(step):
    return pyotp.TOTP(TOTP_SECRET).generate_otp(step)


def current_step():
    return pyotp.TOTP(TOTP_SECRET).timecode(utcnow())


def signed_in(client):
    """Whether the client's session holds a signed-in user (the home page answers, not a redirect)."""
    return client.get("/").status_code == 200


def recovery_codes_for(app, email):
    """Make new recovery codes for the user through the service, as the account page does; returns them."""
    with app.app_context(), unit_of_work():
        user = db.session.scalar(select(User).where(User.email == email))
        return two_factor.regenerate_recovery_codes(user, PASSWORD, utcnow())


def codes_on_page(body):
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", body)


# --- Signing in with a code ---------------------------------------------------------------------------


def test_the_password_alone_signs_in_no_one_with_two_factor(app, client, tenant_a):
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    password_step(client, app, tenant_a.admin["email"])
    with client.session_transaction() as sess:
        assert "_user_id" not in sess and "planted" not in sess
    assert client.get("/").status_code == 302
    assert client.get("/admin/users").status_code == 302
    page = client.get(CODE_PAGE)
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.get_data(as_text=True)
    assert "login.succeeded" not in audit_actions(app)


def test_a_current_code_signs_in_and_rotates_the_session(app, client, tenant_a):
    password_step(client, app, tenant_a.admin["email"])
    with client.session_transaction() as sess:
        sess["planted"] = "between the steps"
    response = enter_code(client, app, code_at(current_step()))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert signed_in(client)
    with client.session_transaction() as sess:
        assert "two_factor_pending" not in sess and "planted" not in sess
    assert audit_actions(app)[-1] == "login.succeeded"
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event.details == {"second_factor": "totp"}


def test_next_is_kept_through_the_code_step(app, client, tenant_a):
    response = post(client, app, "/login?next=/admin/users", {"email": tenant_a.admin["email"], "password": PASSWORD})
    assert response.headers["Location"] == CODE_PAGE
    response = enter_code(client, app, two_factor_code(app, tenant_a.admin["email"]))
    assert response.headers["Location"] == "/admin/users"


def test_a_code_works_once(app, tenant_a, caplog):
    code = code_at(current_step())
    first = app.test_client()
    password_step(first, app, tenant_a.admin["email"])
    assert enter_code(first, app, code).status_code == 302

    second = app.test_client()
    password_step(second, app, tenant_a.admin["email"])
    reused = enter_code(second, app, code)
    assert reused.status_code == 401
    assert WRONG in reused.get_data(as_text=True)
    assert not signed_in(second)
    assert audit_actions(app)[-1] == "login.two_factor_failed"
    assert code not in caplog.text and TOTP_SECRET not in caplog.text


def test_an_older_step_after_a_newer_one_is_refused_and_the_next_one_is_accepted(ctx, tenant_a):
    user = db.session.scalar(select(User).where(User.email == tenant_a.admin["email"]))
    now = utcnow()
    step = pyotp.TOTP(TOTP_SECRET).timecode(now)
    with unit_of_work():
        assert two_factor.verify_sign_in(user, code_at(step), now) == "totp"
    for code, when in [
        (code_at(step), now + timedelta(seconds=10)),  # the same code, still inside its window
        (code_at(step - 1), now),  # an older code, inside the window but before the accepted one
        (code_at(step + 2), now),  # outside the window
    ]:
        with pytest.raises(two_factor.WrongCode), unit_of_work():
            two_factor.verify_sign_in(user, code, when)
    with unit_of_work():
        assert two_factor.verify_sign_in(user, code_at(step + 1), now) == "totp"  # a phone a little ahead
    assert user_row(ctx, tenant_a.admin["email"]).totp_last_step == step + 1


def test_a_wrong_code_is_refused_with_a_field_error_and_counted(app, client, tenant_a):
    password_step(client, app, tenant_a.admin["email"])
    response = enter_code(client, app, "000000" if code_at(current_step()) != "000000" else "111111")
    assert response.status_code == 401
    body = response.get_data(as_text=True)
    assert WRONG in body and 'aria-invalid="true"' in body
    assert not signed_in(client)
    with app.app_context():
        key = throttle.counter_key(throttle.TWO_FACTOR_PER_ACCOUNT, tenant_a.admin["public_id"])
        assert db.session.get(RateLimitCounter, key).count == 1
    assert audit_actions(app)[-1] == "login.two_factor_failed"
    empty = enter_code(client, app, "")
    assert empty.status_code == 422
    assert "Enter the code from your authenticator app." in empty.get_data(as_text=True)


def test_wrong_codes_are_limited_per_account(app, client, tenant_a):
    password_step(client, app, tenant_a.admin["email"])
    wrong = [f"{n:06d}" for n in range(1000) if f"{n:06d}" not in {code_at(current_step() + d) for d in (-1, 0, 1)}]
    for code in wrong[: throttle.TWO_FACTOR_PER_ACCOUNT.max_count]:
        assert enter_code(client, app, code).status_code == 401
    blocked = enter_code(client, app, two_factor_code(app, tenant_a.admin["email"]))
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many wrong codes" in blocked.get_data(as_text=True)
    assert not signed_in(client)
    assert audit_actions(app)[-1] == "login.two_factor_throttled"
    # From another address too: the limit is the account's. A new password step does not reset it.
    elsewhere = app.test_client()
    password_step(elsewhere, app, tenant_a.admin["email"])
    again = enter_code(
        elsewhere, app, two_factor_code(app, tenant_a.admin["email"]), environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert again.status_code == 429


def test_wrong_codes_are_limited_per_address(app, tenant_a, tenant_b, monkeypatch):
    monkeypatch.setattr(
        throttle, "TWO_FACTOR_PER_ADDRESS", throttle.Limit("two-factor-address", 6, timedelta(minutes=15))
    )
    near = {code_at(current_step() + d) for d in (-1, 0, 1)}
    wrong = [f"{n:06d}" for n in range(100) if f"{n:06d}" not in near]
    a, b = app.test_client(), app.test_client()
    password_step(a, app, tenant_a.admin["email"])
    password_step(b, app, tenant_b.admin["email"])
    for code in wrong[:4]:
        assert enter_code(a, app, code).status_code == 401
    for code in wrong[:2]:
        assert enter_code(b, app, code).status_code == 401
    assert enter_code(b, app, two_factor_code(app, tenant_b.admin["email"])).status_code == 429
    response = enter_code(
        b, app, two_factor_code(app, tenant_b.admin["email"]), environ_base={"REMOTE_ADDR": "10.9.8.7"}
    )
    assert response.status_code == 302


def test_the_code_step_expires_after_five_minutes(app, client, tenant_a):
    password_step(client, app, tenant_a.admin["email"])
    with client.session_transaction() as sess:
        marker = sess["two_factor_pending"]
        marker["at"] = (utcnow() - timedelta(minutes=5, seconds=5)).timestamp()
        sess["two_factor_pending"] = marker
    response = enter_code(client, app, two_factor_code(app, tenant_a.admin["email"]))
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not signed_in(client)
    assert user_row(app, tenant_a.admin["email"]).totp_last_step is None  # the code was never even checked
    with client.session_transaction() as sess:
        assert "two_factor_pending" not in sess
    assert "timed out" in client.get("/login").get_data(as_text=True)


def test_the_code_step_needs_the_password_step_first(app, client, tenant_a):
    response = enter_code(client, app, two_factor_code(app, tenant_a.admin["email"]))
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    # A marker forged for someone else's session version (a later sign-out) is refused too.
    password_step(client, app, tenant_a.admin["email"])
    with app.app_context(), unit_of_work():
        db.session.scalar(select(User).where(User.email == tenant_a.admin["email"])).session_version += 1
    assert enter_code(client, app, two_factor_code(app, tenant_a.admin["email"])).headers["Location"] == "/login"


# --- Recovery codes -------------------------------------------------------------------------------------


def test_a_recovery_code_signs_in_once(app, tenant_a):
    codes = recovery_codes_for(app, tenant_a.admin["email"])
    assert len(codes) == two_factor.RECOVERY_CODE_COUNT == len(set(codes))
    first = app.test_client()
    password_step(first, app, tenant_a.admin["email"])
    response = enter_code(first, app, codes[0].upper().replace("-", " "))  # typed in capitals, with spaces
    assert response.status_code == 302
    home = first.get("/")
    assert home.status_code == 200
    assert "You have 9 left" in home.get_data(as_text=True)
    assert "login.recovery_code_used" in audit_actions(app)

    second = app.test_client()
    password_step(second, app, tenant_a.admin["email"])
    assert enter_code(second, app, codes[0]).status_code == 401
    assert enter_code(second, app, codes[1]).status_code == 302
    with app.app_context():
        stored = list(db.session.scalars(select(RecoveryCode.code_sha256)))
    assert not any(code in stored or code.replace("-", "") in stored for code in codes)


def test_new_recovery_codes_replace_the_old_ones(app, client, tenant_a):
    old = recovery_codes_for(app, tenant_a.admin["email"])
    sign_in(client, app, tenant_a.admin["email"])
    wrong = post(client, app, "/account/two-factor/recovery-codes", {"regenerate-password": "not my password"})
    assert wrong.status_code == 422
    assert "Your password is not right." in wrong.get_data(as_text=True)
    response = post(client, app, "/account/two-factor/recovery-codes", {"regenerate-password": PASSWORD})
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    new = codes_on_page(response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert "two_factor.recovery_codes_regenerated" in audit_actions(app)

    other = app.test_client()
    password_step(other, app, tenant_a.admin["email"])
    assert enter_code(other, app, old[0]).status_code == 401
    assert enter_code(other, app, new[0]).status_code == 302


# --- Setting it up, turning it off -------------------------------------------------------------------------


def set_up(client, app):
    """Go through the set-up page with the secret it shows; returns the recovery codes page."""
    page = client.get("/account/two-factor/setup")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    grouped = re.search(r'<p class="secret-key"><code>([A-Z2-7 ]+)</code></p>', body).group(1)
    assert all(len(part) == 4 for part in grouped.split())
    assert 'src="data:image/svg+xml' in body
    secret = grouped.replace(" ", "")
    wrong = post(client, app, "/account/two-factor/setup", {"code": "12345"})
    assert wrong.status_code == 422
    assert WRONG in wrong.get_data(as_text=True)
    assert client.get("/account/two-factor/setup").get_data(as_text=True).count(grouped) == 1  # the same secret
    response = post(client, app, "/account/two-factor/setup", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "no-store" in response.headers["Cache-Control"]
    return secret, response


def test_anyone_can_turn_it_on_and_off(app, client, tenant_a):
    email = tenant_a.recruiter["email"]
    sign_in(client, app, email)
    assert "Two-factor sign-in is off." in client.get("/account/two-factor").get_data(as_text=True)
    secret, page = set_up(client, app)
    assert len(codes_on_page(page.get_data(as_text=True))) == 10
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user.has_two_factor and user.totp_secret == secret
        assert two_factor.provisioning_uri(user).startswith("otpauth://totp/Rapport:")
        assert "issuer=Rapport" in two_factor.provisioning_uri(user)
    assert "two_factor.enabled" in audit_actions(app)
    assert "Two-factor sign-in is on" in client.get("/account/two-factor").get_data(as_text=True)

    later = app.test_client()
    password_step(later, app, email)
    assert enter_code(later, app, two_factor_code(app, email)).status_code == 302

    assert post(client, app, "/account/two-factor/disable", {"disable-password": "wrong one"}).status_code == 422
    response = post(client, app, "/account/two-factor/disable", {"disable-password": PASSWORD})
    assert response.status_code == 302
    assert "two_factor.disabled" in audit_actions(app)
    assert not user_row(app, email).has_two_factor
    with app.app_context():
        assert db.session.scalars(select(RecoveryCode)).all() == []
    response = post(app.test_client(), app, "/login", {"email": email, "password": PASSWORD})
    assert response.headers["Location"] == "/"


def test_a_client_user_can_turn_it_on(app, client, tenant_a):
    sign_in(client, app, tenant_a.client_user["email"])
    assert client.get("/portal").status_code == 200  # optional: nothing asks for it
    set_up(client, app)
    response = post(app.test_client(), app, "/login", {"email": tenant_a.client_user["email"], "password": PASSWORD})
    assert response.headers["Location"] == CODE_PAGE


def admin_pages(app):
    return [
        rule.rule
        for rule in app.url_map.iter_rules()
        if not rule.arguments
        and "GET" in (rule.methods or ())
        and (policy := policy_of(app.view_functions[rule.endpoint])) is not None
        and policy.roles == ADMIN_ONLY
    ]


def test_an_admin_without_it_must_set_it_up_before_anything_else(app, client, tenant_a):
    email = tenant_a.admin["email"]
    with app.app_context(), unit_of_work():
        two_factor.reset(db.session.scalar(select(User).where(User.email == email)), utcnow())
    response = post(client, app, "/login", {"email": email, "password": PASSWORD})
    assert response.headers["Location"] == "/account/two-factor/setup"
    pages = admin_pages(app)
    assert len(pages) >= 5
    for url in [*pages, "/", "/assessments", "/account/password", "/account/two-factor"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"] == "/account/two-factor/setup", url
    refused = post(client, app, "/admin/users/new", {"name": "X", "email": "x@alpha.example", "role": "admin"})
    assert refused.status_code == 303
    assert user_row(app, "x@alpha.example") is None
    setup = client.get("/account/two-factor/setup").get_data(as_text=True)
    assert "Agency admins must use two-factor sign-in" in setup
    assert client.get("/login").status_code == 302  # public pages stay what they are
    assert client.get("/static/css/app.css").status_code == 200

    set_up(client, app)
    for url in pages:
        assert client.get(url).status_code == 200, url
    refused = post(client, app, "/account/two-factor/disable", {"disable-password": PASSWORD})
    assert refused.status_code == 422
    assert "Agency admins must keep two-factor sign-in on." in refused.get_data(as_text=True)
    assert user_row(app, email).has_two_factor
    assert post(client, app, "/logout").status_code == 302


def test_an_admin_without_it_can_sign_out(app, client, tenant_a):
    with app.app_context(), unit_of_work():
        two_factor.reset(db.session.scalar(select(User).where(User.email == tenant_a.admin["email"])), utcnow())
    sign_in(client, app, tenant_a.admin["email"])
    response = post(client, app, "/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/account/two-factor/setup").status_code == 302


# --- The operator's reset ---------------------------------------------------------------------------------


def test_the_reset_command_turns_it_off_and_ends_sessions(app, tenant_a):
    email = tenant_a.admin["email"]
    recovery_codes_for(app, email)
    session = app.test_client()
    sign_in(session, app, email)
    result = app.test_cli_runner().invoke(args=["reset-two-factor", email.upper()])
    assert result.exit_code == 0, result.output
    assert "Two-factor sign-in is off" in result.output
    assert "set it up again" in result.output
    user = user_row(app, email)
    assert (user.totp_secret, user.two_factor_enabled_at, user.totp_last_step) == (None, None, None)
    with app.app_context():
        assert db.session.scalars(select(RecoveryCode)).all() == []
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "two_factor.reset")).one()
        assert event.object_public_id == tenant_a.admin["public_id"]
    assert session.get("/").status_code == 302  # the old session has ended
    response = post(app.test_client(), app, "/login", {"email": email, "password": PASSWORD})
    assert response.headers["Location"] == "/account/two-factor/setup"

    missing = app.test_cli_runner().invoke(args=["reset-two-factor", "nobody@nowhere.example"])
    assert missing.exit_code != 0
    assert "no user has the email address" in missing.output
