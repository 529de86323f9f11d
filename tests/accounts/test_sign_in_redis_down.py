"""Sign-in while the rate limits' Redis does not answer: a plain 503, never a 500 and never an unthrottled try.

REDIS_URL points at a port on 127.0.0.1 that nothing listens on, so every Redis call is refused for real.
"""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from accounts.models import User
from database import db
from tests.conftest import PASSWORD, post


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # free once the socket closes: nothing listens there


pytestmark = pytest.mark.app_config(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")


def last_login(app, email):
    with app.app_context():
        return db.session.scalar(select(User.last_login_at).where(User.email == email))


@pytest.mark.parametrize("password", [PASSWORD, "not the password at all"])
def test_sign_in_fails_closed_with_a_503(app, client, tenant_a, password):
    email = tenant_a.recruiter["email"]
    before = last_login(app, email)

    response = post(client, app, "/login", {"email": email, "password": password})

    assert response.status_code == 503
    assert "Sign-in is briefly unavailable" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    assert last_login(app, email) == before
    assert client.get("/").status_code == 302  # not signed in


def test_the_sign_in_page_itself_still_shows(client):
    assert client.get("/login").status_code == 200
