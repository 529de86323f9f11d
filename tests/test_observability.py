"""Logs: JSON lines with a request id echoed to the client, one access line per request naming the route
pattern, exceptions with their request id, and no token, email or name anywhere."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from flask import request
from sqlalchemy import select

import observability
from accounts.access import AccessPolicy
from assessments import invitations
from assessments.models import Invitation
from config import ConfigurationError, load_config
from database import db
from tests.conftest import PASSWORD, TEST_SECRET, post, sign_in


class Captured:
    """What the app logged, formatted as JSON and as text, from real handlers on the root logger."""

    def __init__(self) -> None:
        self.json = io.StringIO()
        self.text = io.StringIO()

    def entries(self) -> list[dict]:
        return [json.loads(line) for line in self.json.getvalue().splitlines()]

    def access(self) -> list[dict]:
        return [e for e in self.entries() if e["logger"] == "rapport.request"]


@pytest.fixture
def logs() -> Iterator[Captured]:
    captured = Captured()
    root = logging.getLogger()
    handlers = []
    for stream, log_format in ((captured.json, "json"), (captured.text, "text")):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(observability.formatter_for(log_format))
        # The test SMTP server (aiosmtpd, logger "mail.log") logs what it receives; that is not our log.
        handler.addFilter(lambda record: not record.name.startswith("mail.log"))
        root.addHandler(handler)
        handlers.append(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    yield captured
    root.setLevel(level)
    for handler in handlers:
        root.removeHandler(handler)


def test_every_line_is_json_and_carries_the_request_id_sent_back(app, client, logs):
    fresh = client.get("/login")
    reused = client.get("/login", headers={"X-Request-Id": "lb-1a2b3c4d.e_f"})
    # Newlines cannot even be sent (werkzeug refuses them, as servers do); tabs, quotes and length can.
    hostile_ids = ["has spaces in it", "tab\tinjected-id", '"}{"level":"x', "a" * 200, "short"]
    hostile = [client.get("/login", headers={"X-Request-Id": value}) for value in hostile_ids]

    assert reused.headers["X-Request-Id"] == "lb-1a2b3c4d.e_f"
    ids = [fresh.headers["X-Request-Id"]] + [r.headers["X-Request-Id"] for r in hostile]
    assert len(set(ids)) == len(ids)
    assert all(observability.VALID_REQUEST_ID.fullmatch(rid) and rid not in hostile_ids for rid in ids)
    access = logs.access()
    assert [e["request_id"] for e in access] == [ids[0], "lb-1a2b3c4d.e_f", *ids[1:]]
    first = access[0]
    assert first["route"] == "/login" and first["method"] == "GET" and first["status"] == 200
    assert first["level"] == "INFO" and first["ts"].endswith("+00:00")
    assert first["duration_ms"] >= 0 and first["size"] == len(fresh.get_data())
    assert f"[{ids[0]}]: GET /login 200" in logs.text.getvalue()
    assert "has spaces" not in logs.text.getvalue() and "aaaaaaaa" not in logs.json.getvalue()


def test_walking_token_links_logs_routes_never_tokens_emails_or_names(app, mailbox, tenant_a, logs):
    with app.app_context():
        invitation = db.session.scalar(select(Invitation).where(Invitation.public_id == tenant_a.invitation_id))
        link = invitations.link_for(invitation).removeprefix(app.config["BASE_URL"])
    candidate = app.test_client()
    assert candidate.get(link).status_code == 200
    assert candidate.get(link + "?utm=x").status_code == 200
    assert post(candidate, app, link, {"consent": "yes", "extra_time": "0"}).status_code == 302
    assert candidate.get("/test").status_code == 200

    staff = app.test_client()
    post(staff, app, "/login", {"email": tenant_a.admin["email"], "password": "a wrong password"})
    sign_in(staff, app, tenant_a.admin["email"])
    assert staff.get(f"/candidates/{tenant_a.candidate_id}").status_code == 200
    reader = app.test_client()
    post(reader, app, "/password/forgot", {"email": tenant_a.recruiter["email"]})
    reset = next(url for url in mailbox.links() if "/password/reset/" in url).removeprefix(app.config["BASE_URL"])
    assert reader.get(reset).status_code == 302
    new_password = "a brand new passphrase 42"
    assert post(reader, app, "/password/reset", {"password": new_password, "confirm": new_password}).status_code in (
        302,
        422,
    )

    routes = {(e["method"], e["route"], e["status"]) for e in logs.access()}
    assert {("GET", "/t/<token>", 200), ("POST", "/t/<token>", 302), ("GET", "/password/reset/<token>", 302)} <= routes
    assert ("GET", "/candidates/<public_id>", 200) in routes
    logged = logs.json.getvalue() + logs.text.getvalue()
    secrets = [
        link.rsplit("/", 1)[1],
        reset.rsplit("/", 1)[1],
        "utm=x",
        PASSWORD,
        "a wrong password",
        new_password,
        *(person[key] for person in (tenant_a.admin, tenant_a.recruiter) for key in ("name", "email")),
        tenant_a.agency_name,
        tenant_a.client_name,
    ]
    with app.app_context():
        candidate_row = db.session.scalar(select(Invitation).where(Invitation.public_id == tenant_a.invitation_id))
        secrets += [candidate_row.candidate.name, candidate_row.candidate.email]
    # Random public ids may appear (the audit lines name the actor by id): they identify nobody on their own.
    leaked = [s for s in secrets if s and s in logged]
    assert leaked == []


def test_an_unexpected_error_is_logged_with_its_request_id_and_without_its_message(app, client, logs):
    def explode(thing: str):
        raise RuntimeError(f"leaked detail {thing}")

    def fine():
        return "fine"

    def break_finalizing(response):
        if request.path == "/fine":  # a failing after_request hook: no error handler is left to answer
            raise RuntimeError("late")
        return response

    explode.access_policy = fine.access_policy = AccessPolicy(roles=None)  # type: ignore[attr-defined]
    app.add_url_rule("/explode/<thing>", view_func=explode)
    app.add_url_rule("/fine", view_func=fine)
    app.after_request(break_finalizing)

    response = client.get("/explode/ana@example.org")

    assert response.status_code == 500
    rid = response.headers["X-Request-Id"]
    error = next(e for e in logs.entries() if e["level"] == "ERROR")
    assert error["request_id"] == rid
    assert error["exc_type"] == "builtins.RuntimeError"
    assert any(frame.endswith("in explode") for frame in error["exc_frames"])
    access = logs.access()[-1]
    assert (access["route"], access["status"], access["request_id"]) == ("/explode/<thing>", 500, rid)
    assert "ana@example.org" not in logs.json.getvalue()
    assert "Traceback" in logs.text.getvalue()  # text mode (development) keeps the whole traceback

    with pytest.raises(RuntimeError, match="late"):  # testing propagates it; a server would answer 500
        client.get("/fine")
    access = logs.access()[-1]
    assert (access["route"], access["status"]) == ("/fine", 500)  # logged all the same, by the teardown


def test_log_format_defaults_to_json_in_production_and_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("RAPPORT_ENV", "production")
    settings = {"SECRET_KEY": TEST_SECRET, "BASE_URL": "https://rapport.example"}
    assert load_config(settings)["LOG_FORMAT"] == "json"
    assert load_config(settings)["OUTBOX_BACKLOG_ALERT_SECONDS"] == 900
    with pytest.raises(ConfigurationError):
        load_config({**settings, "LOG_FORMAT": "xml"})
    monkeypatch.setenv("RAPPORT_ENV", "development")
    assert load_config({"SECRET_KEY": TEST_SECRET})["LOG_FORMAT"] == "text"
