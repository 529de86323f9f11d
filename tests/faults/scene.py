"""What the fault drills share: a published assessment with invited candidates on a database of their own, and
a candidate who takes the test over real HTTP (cookies, CSRF tokens, no redirects followed)."""

from __future__ import annotations

import http.cookiejar
import json
import re
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import _base_config, build_tenant, make_scenario

# The tenant's own scenario is item 1; then one item of each other format. Answers that are complete for each.
ANSWERS: dict[str, dict[str, Any]] = {
    "rate": {"ratings": {"A": 6, "B": 1, "C": 3, "D": 2}},
    "most_least": {"most": "A", "least": "B"},
    "rank": {"ranks": {"A": 1, "B": 2, "C": 3, "D": 4}},
}
FORMATS = ("rate", "most_least", "rank", "rate")  # by item number - 1


def make_app(database_url: str, smtp_port: int = 1, **config: Any) -> Flask:
    """The application in this test process on `database_url` (tasks in-process, mail to `smtp_port`)."""
    from app import create_app

    return create_app({**_base_config(database_url, smtp_port), **config})


def close_app(app: Flask) -> None:
    from database import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def invite_candidates(app: Flask, count: int, *, time_limit_minutes: int | None = 30) -> list[str]:
    """A tenant with a published four-item assessment and `count` invited candidates; their link paths."""
    from accounts.models import Agency, User
    from assessments import invitations
    from assessments import services as builder
    from assessments.models import Assessment
    from database import db, unit_of_work, utcnow
    from scenarios.models import Competency

    tenant = build_tenant(app, "Fault")
    with app.app_context(), unit_of_work():
        now = utcnow()
        agency = db.session.scalars(select(Agency).where(Agency.public_id == tenant.agency_id)).one()
        admin = db.session.scalars(select(User).where(User.public_id == tenant.admin["public_id"])).one()
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == tenant.assessment_id)).one()
        for n, fmt in enumerate(FORMATS[1:]):
            key = (5.6, 4.5, 3.7, 2.1) if fmt == "rank" else (5.6, 1.4, 2.5, 3.4)
            scenario = make_scenario(agency, f"F-{n}", weights={"professionalism": 1.0}, response_format=fmt, key=key)
            builder.add_item(assessment, scenario.latest, by=admin, now=now)
        assessment.reported = [
            db.session.scalars(
                select(Competency).where(Competency.agency_id == agency.id, Competency.code == "professionalism")
            ).one()
        ]
        assessment.time_limit_minutes = time_limit_minutes
        builder.publish(assessment, by=admin, now=now)
        links = []
        for i in range(count):
            invitation = invitations.invite(
                assessment, name=f"Candidate {i}", email=f"candidate{i}@fault.example", by=admin, now=now
            )
            links.append(invitations.link_for(invitation).split("://", 1)[1].split("/", 1)[1])
    return ["/" + link for link in links]


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class Candidate:
    """A browser without JavaScript's help: keeps its cookie, reads CSRF tokens from pages, autosaves as the
    page's script does. `base` may change (a server started again on another port keeps the cookie)."""

    def __init__(self, base: str, link: str, timeout: float = 20) -> None:
        self.base, self.link, self.timeout = base, link, timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirects)
        self.csrf = ""
        self.revisions: dict[int, int] = {}

    def request(self, method: str, path: str, *, form: dict[str, str] | None = None, payload: Any = None) -> Reply:
        headers = {"Accept": "text/html"}
        data = None
        if form is not None:
            data = urllib.parse.urlencode({**form, "csrf_token": self.csrf}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif payload is not None:
            data = json.dumps(payload).encode()
            headers.update({"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": self.csrf})
        started = time.monotonic()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)  # noqa: S310 (http://127.0.0.1 only)
        try:
            with self.opener.open(req, timeout=self.timeout) as response:
                reply = Reply(response.status, dict(response.headers), response.read(), 0.0)
        except urllib.error.HTTPError as exc:
            reply = Reply(exc.code, dict(exc.headers), exc.read(), 0.0)
        reply.seconds = time.monotonic() - started
        token = re.search(r'name="csrf_token" value="([^"]+)"', reply.text)
        if token:
            self.csrf = token.group(1)
        return reply

    def begin(self) -> None:
        """Open the link, consent, start the test."""
        assert self.request("GET", self.link).status == 200
        accepted = self.request("POST", self.link, form={"consent": "yes", "extra_time": "0"})
        assert accepted.status == 302, accepted.text[-500:]
        assert self.request("GET", "/test").status == 200
        started = self.request("POST", "/test/start", form={})
        assert started.status == 302, started.text[-500:]

    def autosave(self, item: int, answer: dict[str, Any] | None = None) -> Reply:
        """Send the item's answer with the revision last acknowledged; remember the new one on a 2xx."""
        answer = answer or ANSWERS[FORMATS[item - 1]]
        reply = self.request(
            "POST", "/test/answers", payload={"item": item, "answer": answer, "revision": self.revisions.get(item, 0)}
        )
        if 200 <= reply.status < 300:
            body = reply.json()
            self.revisions[item] = body["revision"]
            self.csrf = body["csrf_token"]
        return reply

    def item_page(self, item: int) -> Reply:
        return self.request("GET", f"/test/item/{item}")

    def submit(self) -> Reply:
        self.request("GET", "/test/review")
        return self.request("POST", "/test/submit", form={})


def shown_revision(page: Reply) -> int:
    """The revision an item page says the saved answer has (0 when nothing is saved)."""
    found = re.search(r'name="revision" value="(\d+)"', page.text)
    assert found, page.text[-1000:]
    return int(found.group(1))


def sqlite_rows(database: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows read by a connection of the test's own (never the app's pool)."""
    with sqlite3.connect(database, timeout=30) as connection:
        return list(connection.execute(sql, params))


def integrity_ok(database: Path) -> bool:
    return sqlite_rows(database, "PRAGMA integrity_check") == [("ok",)]
