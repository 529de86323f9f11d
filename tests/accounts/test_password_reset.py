"""Password reset and account set-up by emailed single-use links."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from unittest import mock

import pytest
from itsdangerous import URLSafeTimedSerializer

from accounts import throttle, tokens
from tests.conftest import BASE_URL, PASSWORD, post, sign_in

NEW = "a new and better phrase"


def ask_for_reset(app, client, email):
    response = post(client, app, "/password/forgot", {"email": email})
    assert response.status_code == 302
    return response


def reset_link(mailbox):
    links = [link for link in mailbox.links() if "/password/reset/" in link]
    assert len(links) == 1, links
    return links[0]


def test_reset_by_emailed_link(app, client, mailbox, tenant_a):
    ask_for_reset(app, client, tenant_a.recruiter["email"])
    [message] = mailbox.messages
    assert message["To"] == tenant_a.recruiter["email"]
    link = reset_link(mailbox)
    assert link.startswith(f"{BASE_URL}/password/reset/")
    path = link.removeprefix(BASE_URL)

    landing = client.get(path)
    assert landing.status_code == 302
    assert landing.headers["Location"] == "/password/reset"  # the token leaves the address bar
    form = client.get("/password/reset")
    assert form.status_code == 200
    assert "Choose a new password" in form.get_data(as_text=True)
    done = post(client, app, "/password/reset", {"password": NEW, "confirm": NEW})
    assert done.status_code == 302
    sign_in(app.test_client(), app, tenant_a.recruiter["email"], NEW)
    assert (
        post(app.test_client(), app, "/login", {"email": tenant_a.recruiter["email"], "password": PASSWORD}).status_code
        == 401
    )


def test_a_reset_link_works_once(app, client, mailbox, tenant_a):
    ask_for_reset(app, client, tenant_a.recruiter["email"])
    path = reset_link(mailbox).removeprefix(BASE_URL)
    client.get(path)
    post(client, app, "/password/reset", {"password": NEW, "confirm": NEW})
    again = app.test_client()
    assert again.get(path).status_code == 404
    assert "This link does not work" in again.get(path).get_data(as_text=True)


def test_a_reset_ends_every_session(app, client, mailbox, tenant_a):
    signed_in = app.test_client()
    sign_in(signed_in, app, tenant_a.recruiter["email"])
    ask_for_reset(app, client, tenant_a.recruiter["email"])
    client.get(reset_link(mailbox).removeprefix(BASE_URL))
    post(client, app, "/password/reset", {"password": NEW, "confirm": NEW})
    assert signed_in.get("/").status_code == 302


def test_an_expired_link_is_refused(app, client, mailbox, tenant_a):
    ask_for_reset(app, client, tenant_a.recruiter["email"])
    path = reset_link(mailbox).removeprefix(BASE_URL)
    late = tokens.PASSWORD_RESET.max_age_seconds + 1
    with mock.patch("itsdangerous.timed.time.time", return_value=__import__("time").time() + late):
        assert client.get(path).status_code == 404


def test_a_weak_new_password_is_refused_with_a_reason(app, client, mailbox, tenant_a):
    ask_for_reset(app, client, tenant_a.recruiter["email"])
    client.get(reset_link(mailbox).removeprefix(BASE_URL))
    response = post(client, app, "/password/reset", {"password": "password1234", "confirm": "password1234"})
    assert response.status_code == 422
    assert "too easy to guess" in response.get_data(as_text=True)
    mismatch = post(client, app, "/password/reset", {"password": NEW, "confirm": NEW + "!"})
    assert mismatch.status_code == 422
    assert "The two passwords differ." in mismatch.get_data(as_text=True)


def test_unknown_accounts_get_the_same_answer_and_no_email(app, client, mailbox, tenant_a):
    known = ask_for_reset(app, app.test_client(), tenant_a.admin["email"])
    mailbox.clear()
    response = ask_for_reset(app, app.test_client(), "nobody@nowhere.example")
    assert response.headers["Location"] == known.headers["Location"]
    assert mailbox.messages == []


def test_a_client_user_can_reset_their_password(app, client, mailbox, tenant_a):
    ask_for_reset(app, client, tenant_a.client_user["email"])
    [message] = mailbox.messages
    assert message["To"] == tenant_a.client_user["email"]
    client.get(reset_link(mailbox).removeprefix(BASE_URL))
    assert post(client, app, "/password/reset", {"password": NEW, "confirm": NEW}).status_code == 302
    sign_in(client, app, tenant_a.client_user["email"], NEW)


def test_reset_requests_are_limited_per_account_silently(app, mailbox, tenant_a):
    for _ in range(throttle.RESET_PER_ACCOUNT.max_count + 2):
        ask_for_reset(app, app.test_client(), tenant_a.admin["email"])
    assert len(mailbox.messages) == throttle.RESET_PER_ACCOUNT.max_count


def test_reset_requests_are_limited_per_address(app, mailbox):
    client = app.test_client()
    for i in range(throttle.RESET_PER_ADDRESS.max_count):
        ask_for_reset(app, client, f"someone{i}@nowhere.example")
    response = post(client, app, "/password/forgot", {"email": "one-more@nowhere.example"})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize("purpose", [tokens.ACCOUNT_SETUP, None])
def test_tokens_for_another_purpose_or_key_are_refused(app, client, tenant_a, purpose):
    payload = {"u": tenant_a.recruiter["public_id"], "v": 1}
    with app.app_context():
        if purpose is None:
            token = URLSafeTimedSerializer("some other key", salt=tokens.PASSWORD_RESET.salt).dumps(payload)
        else:
            token = tokens.mint(purpose, payload)
    assert client.get(f"/password/reset/{token}").status_code == 404


def test_a_session_cookie_is_not_a_reset_token(app, client, tenant_a):
    sign_in(client, app, tenant_a.recruiter["email"])
    cookie = client.get_cookie("rapport").value
    assert app.test_client().get(f"/password/reset/{cookie}").status_code == 404


def test_tampered_tokens_are_refused(app, client, tenant_a):
    with app.app_context():
        token = tokens.mint(tokens.PASSWORD_RESET, {"u": tenant_a.recruiter["public_id"], "v": 1})
    assert client.get(f"/password/reset/{token}").status_code == 302
    for i in range(0, len(token), 7):
        flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
        assert app.test_client().get(f"/password/reset/{flipped}").status_code == 404


def test_token_payload_holds_opaque_ids_only(app, mailbox, client, tenant_a):
    ask_for_reset(app, client, tenant_a.recruiter["email"])
    token = reset_link(mailbox).rsplit("/", 1)[1]
    segment = token.split(".")[0]
    payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    assert set(payload) == {"u", "v"}
    assert "@" not in json.dumps(payload)


def test_the_choose_password_page_needs_a_link(app, client):
    assert client.get("/password/reset").status_code == 404
    assert post(client, app, "/password/reset", {"password": NEW, "confirm": NEW}).status_code == 404


def test_account_setup_link_from_an_admin_invitation(app, client, mailbox, tenant_a):
    sign_in(client, app, tenant_a.admin["email"])
    response = post(
        client,
        app,
        "/admin/users/new",
        {"name": "Nia Mensah", "email": "nia@alpha.example", "role": "recruiter", "client": ""},
    )
    assert response.status_code == 302
    [link] = [link for link in mailbox.links() if "/password/setup/" in link]
    newcomer = app.test_client()
    assert newcomer.get(link.removeprefix(BASE_URL)).status_code == 302
    assert "Set up your account" in newcomer.get("/password/setup").get_data(as_text=True)
    assert post(newcomer, app, "/password/setup", {"password": NEW, "confirm": NEW}).status_code == 302
    sign_in(app.test_client(), app, "nia@alpha.example", NEW)
    # The setup link is no reset link.
    assert app.test_client().get("/password/reset/" + link.rsplit("/", 1)[1]).status_code == 404


def test_reset_link_lifetime_is_short(app):
    assert timedelta(seconds=tokens.PASSWORD_RESET.max_age_seconds) <= timedelta(minutes=30)
